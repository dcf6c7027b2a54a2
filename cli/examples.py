"""An example for every `detector` command's --help (a test fails when a command has none)."""

from __future__ import annotations

import argparse

EXAMPLES = {
    "serve": "detector serve --port 8000",
    "serve-api": "PORT=8000 MONGO_URI=mongodb://mongo:27017 detector serve-api --host 0.0.0.0",
    "users create": "echo 's3cret-password' | detector users create alice --admin",
    "users disable": "detector users disable alice",
    "users enable": "detector users enable alice",
    "detect": "detector detect photo.jpg speech.wav --json",
    "scan": "detector scan ~/Downloads --recursive --format csv --output scan.csv",
    "train": "detector train --quick --modality text",
    "evaluate": "detector evaluate --quick --modality image",
    "models promote": "detector models promote detector-image 3 --rescan",
    "rescan": "detector rescan --modality image --since 2026-11-01 --json",
    "media delete": "detector media delete 3f2a9c0d --user alice",
    "models list": "detector models list",
    "inference-server": "detector inference-server --port 8001",
    "metrics-sidecar": "METRICS_URL=http://127.0.0.1:8001/metrics detector metrics-sidecar",
}


def leaves(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    """Every runnable command under `parser` by its words ("models promote")."""
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                out.update(leaves(child, f"{prefix} {name}".strip()))
    return out or {prefix: parser}


def add_examples(parser: argparse.ArgumentParser) -> None:
    """Put each command's example at the end of its --help (an epilog already there stays)."""
    for words, command in leaves(parser).items():
        if words in EXAMPLES and not command.epilog:
            command.epilog = f"example: {EXAMPLES[words]}"
