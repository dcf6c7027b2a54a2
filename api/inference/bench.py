"""Latency and throughput of a running inference service for a 1024x768 JPEG, a 2 KB text or a
10 s WAV: `python -m api.inference.bench --url http://127.0.0.1:8001 --kind image -n 50`.
Its figures on this machine are in benchmarks/README.md ("Measurements behind the code").
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from api.inference.client import InferenceClient
from config import get_config

SPEECH_DIR = Path("/usr/share/pocketsphinx/test/data")  # pocketsphinx-testdata (`make data`)
SENTENCES = (
    "The council approved the new budget after a long debate about road repairs.",
    "Residents on the east side had asked for better lighting near the school.",
    "A spokesperson said the work would start in spring, weather permitting.",
    "Critics argued that the plan ignored the rising cost of public transport.",
    "The mayor promised to publish the full figures before the end of the month.",
)


def make_jpeg(path: Path, width: int = 1024, height: int = 768, seed: int = 0) -> Path:
    """A photo-like JPEG: gradients, blurred shapes and sensor noise."""
    import cv2

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack([80 + 100 * xx / width, 60 + 120 * yy / height,
                      140 - 60 * (xx + yy) / (width + height)], axis=-1).astype(np.uint8)
    for _ in range(12):
        centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.circle(image, centre, int(rng.integers(10, height // 4)), colour, -1)
    image = cv2.GaussianBlur(image, (5, 5), 1.5)
    image = np.clip(image + rng.normal(0, 4, image.shape), 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def make_wav(path: Path, seconds: float = 10.0, rate: int = 16_000) -> Path:
    """`seconds` of real speech (pocketsphinx test recordings, looped) when installed, else a
    tone sweep with harmonics and noise. The audio detector refuses a tone as not speech
    (`models.applicability`): timed, it measures the refusal, and `run` says so in `verdicts`."""
    import soundfile as sf

    n = int(seconds * rate)
    recordings = sorted(SPEECH_DIR.glob("**/*.wav"))
    if recordings:
        import librosa

        parts, total = [], 0
        while total < n:
            for rec in recordings:
                parts.append(librosa.load(str(rec), sr=rate)[0])
                total += len(parts[-1])
        samples = np.concatenate(parts)[:n]
    else:
        t = np.arange(n) / rate
        tone = 0.3 * np.sin(2 * np.pi * (220 + 20 * t) * t) + 0.1 * np.sin(2 * np.pi * 660 * t)
        samples = tone + np.random.default_rng(0).normal(0, 0.02, len(t))
    sf.write(str(path), samples.astype(np.float32), rate, subtype="PCM_16")
    return path


def make_text(chars: int = 2048) -> str:
    """About `chars` characters of plain English prose."""
    out, i = [], 0
    while sum(len(s) + 1 for s in out) < chars:
        out.append(SENTENCES[i % len(SENTENCES)])
        i += 1
    return " ".join(out)[:chars]


def run(url: str, token: str, kind: str, n: int, concurrency: int) -> dict:
    """Send `n` requests (`concurrency` at a time) with the service's `token`; client latencies
    and server stage times."""
    client = InferenceClient(url, token, timeout_s=120)
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "image":
            path = make_jpeg(Path(tmp) / "photo.jpg")
        elif kind == "audio":
            path = make_wav(Path(tmp) / "speech.wav")
        text = make_text()

        def one(_: int) -> tuple[float, dict]:
            start = time.perf_counter()
            body = client.score_text(text) if kind == "text" else client.score_file(path)
            return (time.perf_counter() - start) * 1000, body

        one(0)  # warm-up
        start = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            results = list(pool.map(one, range(n)))
        wall = time.perf_counter() - start
    latencies = sorted(ms for ms, _ in results)
    stages = {k: round(statistics.median(b["timings_ms"][k] for _, b in results), 1)
              for k in results[0][1]["timings_ms"]}
    return {
        "kind": kind, "n": n, "concurrency": concurrency,
        "p50_ms": round(statistics.median(latencies), 1),
        "p90_ms": round(latencies[int(0.9 * (n - 1))], 1),
        "throughput_rps": round(n / wall, 2),
        "server_p50_ms": stages,
        "model": results[0][1]["model"],
        "verdicts": dict(Counter(b["verdict"] for _, b in results)),  # not_applicable: refused
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8001")
    parser.add_argument("--kind", choices=["image", "audio", "text"], default="image")
    parser.add_argument("-n", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args(argv)
    token = get_config().inference_token  # INFERENCE_TOKEN, or the one kept under var/
    print(json.dumps(run(args.url, token, args.kind, args.n, args.concurrency)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
