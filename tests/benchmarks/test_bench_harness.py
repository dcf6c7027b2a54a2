"""Smoke tests of the benchmark harness: each code path runs on tiny inputs (no timing asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from waitress import create_server

from api import create_app
from benchmarks import history, media, memory, orchestration, report, stack, sync, video
from benchmarks.report import Report, figure, percentile
from config import Config
from storage import jobs, results
from storage.db import get_db
from storage.users import create_user
from tests.engine_double import RunOnlyEngine


@pytest.fixture(autouse=True)
def bench_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Results and generated media under the test's folder, not var/bench."""
    monkeypatch.setattr(report, "BENCH_DIR", tmp_path / "bench")
    monkeypatch.setattr(media, "MEDIA_DIR", tmp_path / "bench" / "media")
    return tmp_path / "bench"


def test_figures_percentiles_and_the_json_file(bench_dirs: Path) -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    rep = Report("demo", "python -m benchmarks.run --only demo")
    fast = rep.add(figure("p50", [10.0, 30.0, 20.0], "<=", 25, "ms"))
    slow = rep.add(figure("ratio", [1.1, 1.2, 1.3], ">=", 1.6, "x", digits=2))
    assert fast.measured == 20.0 and fast.passed and not slow.passed
    doc = rep.finish()
    on_disk = json.loads((bench_dirs / "demo.json").read_text())
    assert on_disk == doc
    assert [f["pass"] for f in doc["figures"]] == ["pass", "miss"]
    assert doc["figures"][0]["target"] == "<= 25 ms" and doc["figures"][0]["runs"] == [
        10.0, 30.0, 20.0]
    assert len(doc["load_average"]["before"]) == 3


def test_history_fills_a_heavy_user_and_times_its_queries() -> None:
    rep = Report("history", "python -m benchmarks.run --quick --only history", quick=True)
    history.history(True, rep)
    assert [f.name for f in rep.figures] == ["in-flight cap check, 2000 jobs of the user",
                                             "newest page of results with total, 2000 results "
                                             "of the user"]
    assert all(len(f.runs) == 3 and f.measured > 0 for f in rep.figures)
    assert rep.details == {"jobs": 2000, "results": 2000, "repeats": 3}


def test_media_are_made_and_cached(bench_dirs: Path) -> None:
    import cv2
    import soundfile as sf

    photo = media.photo_jpeg(320, 240)
    assert cv2.imread(str(photo)).shape == (240, 320, 3)
    assert media.photo_jpeg(320, 240) == photo  # cached
    assert len(set(media.photo_set(3, 64, 48))) == 3
    wav = media.speech_wav(1.5)
    assert abs(sf.info(str(wav)).duration - 1.5) < 0.01
    clip = media.video_clip(1.0, 96, 64, 10.0)
    capture = cv2.VideoCapture(str(clip))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 10
    capture.release()
    assert len(media.make_text(2048)) == 2048


def test_process_helpers_read_proc() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in stack.children(os.getpid())
        assert child.pid in stack.descendants(os.getpid())
        assert "time.sleep(30)" in " ".join(stack.cmdline(child.pid))
    finally:
        child.kill()
        child.wait()
    assert stack.rss_bytes(os.getpid()) > 10 * 1024 * 1024
    assert stack.rss_bytes(os.getpid(), "VmHWM") >= stack.rss_bytes(os.getpid())
    assert stack.cpu_seconds([os.getpid()]) > 0
    assert len(stack.weights_tag()) == 10


class StandInInference:
    """Answers like the inference service without a model (the harness is under test here)."""

    url = "http://stand-in.invalid"

    def score_file(self, path, filename=None, modality=None) -> dict:
        return self._result(modality or "image")

    def score_text(self, text: str) -> dict:
        return self._result("text")

    def ready(self) -> bool:
        return True

    @staticmethod
    def _result(modality: str) -> dict:
        return {"modality": modality, "score": 0.2, "verdict": "authentic",
                "model": {"name": f"detector-{modality}", "version": "1"},
                "explanation": {"units": []}}


class StandInEngine(RunOnlyEngine):
    """Finishes a job with a stand-in result as soon as it is waited on or refreshed."""

    name = "stand-in"

    def submit(self, job_id: str) -> None:
        pass

    def wait(self, job_id: str, timeout: float) -> str:
        self.refresh(job_id)
        return "succeeded"

    def refresh(self, job_id: str) -> None:
        db = get_db()
        job = jobs.get_job(db, job_id)
        if job is None or job["status"] == "succeeded":
            return
        for media_id in job["media_ids"]:
            results.upsert_result(db, {"job_id": job_id, "media_id": media_id, "score": 0.3,
                                       "verdict": "authentic", "explanation": {},
                                       "model": {"name": "detector-video", "version": "1"}})
        jobs.update_job(db, job_id, status="succeeded")


@pytest.fixture
def api_stack(detector_env: Config) -> Iterator[stack.Stack]:
    """The real API (stand-in engine and inference) over HTTP, as `benchmarks.stack` yields it."""
    app = create_app({"TESTING": True, "ENGINE": StandInEngine(),
                      "INFERENCE": StandInInference()})
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}"
    create_user(get_db(), stack.USER, stack.PASSWORD)
    try:
        yield stack.Stack(detector_env, base, stack._token(base), os.getpid(), os.getpid(),
                          StandInInference.url, detector_env.var_dir / "serve.log")
    finally:
        server.close()


def test_sync_latency_and_concurrency_paths(api_stack: stack.Stack) -> None:
    rep = Report("sync_latency", "test", quick=True)
    sync.latency(api_stack, True, rep)
    sync.concurrency(api_stack, True, rep, clients=4)
    names = [f.name for f in rep.figures]
    assert names[:4] == ["image 1024x768 JPEG p50", "image 1024x768 JPEG p99",
                         "text 2 KB p50", "audio 10 s wav p50"]
    assert rep.figures[-1].name == "errors" and rep.figures[-1].measured == 0


def test_memory_path(api_stack: stack.Stack) -> None:
    rep = Report("memory", "test", quick=True)
    memory.memory(api_stack, True, rep)
    assert all(f.measured > 0 for f in rep.figures)


def test_sync_failure_is_reported(api_stack: stack.Stack) -> None:
    client = sync.SyncClient(api_stack)
    client.headers = {}
    with pytest.raises(sync.SyncFailed, match="401"):
        client.text("A few words that a person wrote, long enough to be probed as text.")


def test_video_path_on_a_tiny_clip(api_stack: stack.Stack, monkeypatch) -> None:
    tiny = media.video_clip(1.0, 96, 64, 10.0)
    monkeypatch.setattr(media, "video_clip", lambda *args: tiny)
    rep = Report("video", "test", quick=True)
    video.video(api_stack, True, rep)
    assert rep.figures[0].measured > 0


def test_orchestration_path(detector_env: Config) -> None:
    rep = Report("orchestration", "test", quick=True)
    orchestration.orchestration(detector_env, True, rep)
    per_task, ratio = rep.figures
    assert per_task.measured > 0 and ratio.measured > 1
    assert rep.details["tasks_per_run"] == 4


def test_batch_path(detector_env: Config) -> None:
    from benchmarks import batch
    from models.registry.client import ensure_baselines
    from models.registry.settings import RegistrySettings

    ensure_baselines(RegistrySettings.from_config(detector_env))
    rep = Report("batch", "test", quick=True)
    batch.batch(detector_env, True, rep)
    speedup, failed = rep.figures
    assert rep.details["images"] == 10 and len(rep.details["loop_s"]) == 1
    assert failed.name == "engine jobs failed"
