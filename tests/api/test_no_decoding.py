"""The API process (it holds JWT_SECRET and ARGO_TOKEN) decodes no upload: no media decoder is
imported by its modules, and its probes of uploads read headers only (issue 11).

`api/inference/` is the inference service, a process of its own without those secrets whose job
is to decode; of it the API process imports only the client, and nothing else (checked below)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API = ROOT / "api"
INFERENCE = API / "inference"
API_PROCESS_IMPORTS_OF_INFERENCE = {"api.inference.client"}
"""What the API process may import from the inference service's package: its client (no decoder
in it)."""
INGEST = ROOT / "workflows" / "ingest.py"
"""The upload path the API runs in its own process (shared with the CLI)."""
DECODERS = {
    "cv2", "av", "soundfile", "librosa", "audioread", "pydub", "imageio", "PIL", "skimage",
    "moviepy", "ffmpeg", "torchaudio", "torchvision", "wave", "aifc", "sunau", "scipy.io",
    "models.media.decode", "models.media.load", "models.explain",  # decoders, renderers
    "models.features",  # featurisers of decoded media
}
DECODING_NAMES = {"render_heatmap", "write_heatmap", "write_evidence", "read_frame",
                  "peak_frame_png", "decode", "decode_image", "decode_audio", "decode_video",
                  "decode_image_bytes", "check_media", "decode_media"}
"""Names of in-repo functions that decode media (models.explain, storage.evidence,
models.features, models.media.decode, models.media.load, models.media.probe)."""
FULL_PROBES_ALLOWED: set[tuple[str, str]] = set()
"""`probe_media` calls in api/ without `header_only=True` (none: the API decodes nothing)."""


def _api_process_paths() -> list[Path]:
    inference = [INFERENCE / f"{name.rsplit('.', 1)[1]}.py"
                 for name in sorted(API_PROCESS_IMPORTS_OF_INFERENCE)]
    return [*(p for p in sorted(API.rglob("*.py")) if INFERENCE not in p.parents),
            *inference, INGEST]


def _modules() -> list[tuple[Path, ast.Module]]:
    paths = _api_process_paths()
    return [(path, ast.parse(path.read_text(), str(path))) for path in paths]


def _forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in DECODERS)


def test_no_module_under_api_imports_a_media_decoder() -> None:
    found = []
    for path, tree in _modules():
        for node in ast.walk(tree):  # nested imports (inside functions) too
            if isinstance(node, ast.Import):
                found += [(path.name, a.name) for a in node.names if _forbidden(a.name)]
            elif isinstance(node, ast.ImportFrom) and node.module:
                if _forbidden(node.module):
                    found.append((path.name, node.module))
                found += [(path.name, f"{node.module}.{a.name}") for a in node.names
                          if a.name in DECODING_NAMES]
    assert found == [], f"the API imports media decoders: {found}"


def test_the_apis_probes_read_headers_only() -> None:
    calls = []
    for path, tree in _modules():
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            for node in ast.walk(func):
                if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "probe_media"
                        and not any(k.arg == "header_only" and getattr(k.value, "value", None)
                                    is True for k in node.keywords)):
                    calls.append((path.name, func.name))
    assert set(calls) <= FULL_PROBES_ALLOWED, f"full probes (decoding) in the API: {calls}"
    assert ("ingest.py", "stage") not in calls  # every upload is staged from its headers


def test_the_scan_would_catch_the_old_evidence_module() -> None:
    """The decoding the API once did (api/evidence.py, api/results.py) is what the scan finds."""
    old = ast.parse("import cv2\nimport numpy as np\n"
                    "def waveform():\n    from models.features import decode_audio\n"
                    "from models.explain import render_heatmap\n")
    hits = [n for n in ast.walk(old) if isinstance(n, ast.Import | ast.ImportFrom)
            and (any(_forbidden(a.name) or a.name in DECODING_NAMES for a in n.names)
                 or _forbidden(getattr(n, "module", None) or ""))]
    assert len(hits) == 3


def test_the_api_process_imports_only_the_inference_client() -> None:
    found = set()
    for path, tree in _modules():
        if INFERENCE in path.parents:
            continue
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     else [])
            found |= {(path.name, n) for n in names
                      if n.startswith("api.inference")
                      and n not in API_PROCESS_IMPORTS_OF_INFERENCE}
    assert found == set(), f"the API process imports the inference service: {found}"
