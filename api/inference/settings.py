"""The inference service's knobs, read from environment variables (see each field's comment),
and the process-wide thread counts they set (`configure_threads`)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _env_float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ServingSettings:
    """How the service loads, reloads, threads and batches.

    `torch_threads` defaults to OMP_NUM_THREADS (the manifests set it to the CPU limit), else
    the CPUs available. `blas_threads` stays 1: the request threads already use every core,
    and OpenBLAS's own threads made audio featurising 3-5x slower (measured: 10 s of audio,
    8 request threads on 2 cores, 9 -> 31 featurisations/s with one BLAS thread).
    `batch_max` = 1 (the default) turns micro-batching off: measured, it did not raise
    throughput on CPU (see `api.inference.batcher`).
    """

    reload_s: float = 30.0  # INFERENCE_RELOAD_S: how often the champion alias is checked
    torch_threads: int = 1  # INFERENCE_TORCH_THREADS: torch intra-op threads
    blas_threads: int = 1  # INFERENCE_BLAS_THREADS: numpy's BLAS threads (librosa's mel filters)
    threads: int = 8  # INFERENCE_THREADS: waitress worker threads (I/O, decoding, features)
    batch_max: int = 1  # INFERENCE_BATCH_MAX: requests merged in one forward pass (1 = off)
    batch_wait_ms: float = 2.0  # INFERENCE_BATCH_WAIT_MS: how long a batch waits for company
    retry_s: float = 5.0  # INFERENCE_RETRY_S: retry period while a modality has no model

    @classmethod
    def from_env(cls) -> ServingSettings:
        default_threads = _env_int("OMP_NUM_THREADS", available_cpus())
        return cls(
            reload_s=_env_float("INFERENCE_RELOAD_S", cls.reload_s),
            torch_threads=max(1, _env_int("INFERENCE_TORCH_THREADS", default_threads)),
            blas_threads=max(1, _env_int("INFERENCE_BLAS_THREADS", cls.blas_threads)),
            threads=max(1, _env_int("INFERENCE_THREADS", cls.threads)),
            batch_max=max(1, _env_int("INFERENCE_BATCH_MAX", cls.batch_max)),
            batch_wait_ms=max(0.0, _env_float("INFERENCE_BATCH_WAIT_MS", cls.batch_wait_ms)),
            retry_s=max(0.1, _env_float("INFERENCE_RETRY_S", cls.retry_s)),
        )


def configure_threads(settings: ServingSettings) -> None:
    """Set torch's intra-op threads (INFERENCE_TORCH_THREADS) and numpy's BLAS threads
    (INFERENCE_BLAS_THREADS) once for the process; waitress's threads run the requests."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(settings.torch_threads)
    threadpool_limits(settings.blas_threads, user_api="blas")  # stays in force (no `with`)
    log.info("torch intra-op threads: %d, BLAS threads: %d", torch.get_num_threads(),
             settings.blas_threads)


def metrics_url() -> str:
    """What the sidecar scrapes: METRICS_URL."""
    return _env("METRICS_URL", "http://127.0.0.1:8001/metrics")


def metrics_interval_s() -> float:
    """How often the sidecar scrapes: METRICS_INTERVAL_S."""
    return _env_float("METRICS_INTERVAL_S", 15.0)
