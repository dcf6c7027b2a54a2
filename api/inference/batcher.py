"""Micro-batching: concurrent requests of one modality share one forward pass.

Each modality gets a queue and a worker thread. The worker takes the first waiting request,
then collects more until it holds `max_batch` requests or `max_wait_ms` have passed, stacks
their units (patches, segments, frames, sentences) into one array, calls the model's
`predict` once and hands each request its slice of the probabilities. `max_batch` = 1 skips
the queue: the request thread runs the forward pass itself.

Knobs: INFERENCE_BATCH_MAX (default 1 = off) and INFERENCE_BATCH_WAIT_MS (default 2).

Verdict: it does not help here, so it is off by default. Measured on 2 shared CPU cores
(torch 2.13 CPU, the committed baselines), 8 client threads, 48 requests, median of 4-5
interleaved rounds, model step alone (`predict` on request-sized inputs):
- image (16 patches a request): 190 req/s unbatched vs 127 batched (max 8), torch 2 threads;
  127 vs 79 with 1 torch thread;
- audio (10 segments): 82 vs 76 (2 threads), 77 vs 41 (1 thread);
- text (25 sentences): 2300 vs 2500, within the noise.
Off by default: measured end to end it gave no consistent gain beyond the noise (figures in
benchmarks/README.md, "Measurements behind the code"). Every request already carries 10-25
units, so it is a batch of its own; merging them serialises the forward passes on one worker
while unbatched passes overlap across cores, and the model step is a minority of a request's
time (decoding and featurising dominate). Turn it on to try bigger models or accelerators.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BatchListener = Callable[[str, int, int, float], None]  # modality, requests, units, seconds
DepthListener = Callable[[str, int], None]  # modality, requests waiting


@dataclass
class _Item:
    loaded: Any
    x: np.ndarray
    future: Future = field(default_factory=Future)


class MicroBatcher:
    """Per-modality queues and workers merging concurrent `predict` calls into one."""

    def __init__(
        self,
        max_batch: int = 8,
        max_wait_ms: float = 2.0,
        on_batch: BatchListener | None = None,
        on_depth: DepthListener | None = None,
    ) -> None:
        self.max_batch = max(1, int(max_batch))
        self.max_wait_s = max(0.0, max_wait_ms) / 1000.0
        self._on_batch = on_batch
        self._on_depth = on_depth
        self._queues: dict[str, queue.Queue[_Item | None]] = {}
        self._workers: list[threading.Thread] = []
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_batch > 1

    def predict(self, modality: str, loaded: Any, x: np.ndarray) -> np.ndarray:
        """`loaded.predict(x)`, possibly computed together with other requests' units."""
        if not self.enabled:
            start = time.perf_counter()
            probs = np.asarray(loaded.predict(x)).reshape(-1)
            self._batched(modality, 1, len(x), time.perf_counter() - start)
            return probs
        item = _Item(loaded, np.asarray(x, dtype=np.float32))
        q = self._queue(modality)
        q.put(item)
        self._depth(modality, q)
        return item.future.result()

    def close(self) -> None:
        """Stop the workers (requests already queued are answered first)."""
        with self._lock:
            for q in self._queues.values():
                q.put(None)
            workers, self._workers = self._workers, []
            self._queues = {}
        for worker in workers:
            worker.join(timeout=5)

    # -- internals ---------------------------------------------------------------------------

    def _queue(self, modality: str) -> queue.Queue[_Item | None]:
        with self._lock:
            q = self._queues.get(modality)
            if q is None:
                q = self._queues[modality] = queue.Queue()
                worker = threading.Thread(target=self._work, args=(modality, q),
                                          name=f"batcher-{modality}", daemon=True)
                worker.start()
                self._workers.append(worker)
            return q

    def _work(self, modality: str, q: queue.Queue[_Item | None]) -> None:
        while True:
            first = q.get()
            if first is None:
                return
            batch, stop = [first], False
            deadline = time.monotonic() + self.max_wait_s
            while len(batch) < self.max_batch:
                remaining = deadline - time.monotonic()
                try:
                    item = q.get(timeout=remaining) if remaining > 0 else q.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._depth(modality, q)
            self._run(modality, batch)
            if stop:
                return

    def _run(self, modality: str, batch: list[_Item]) -> None:
        groups: dict[int, list[_Item]] = {}
        for item in batch:  # during a reload two versions can meet in one batch
            groups.setdefault(id(item.loaded), []).append(item)
        for items in groups.values():
            try:
                start = time.perf_counter()
                x = np.concatenate([item.x for item in items]) if len(items) > 1 else items[0].x
                probs = np.asarray(items[0].loaded.predict(x)).reshape(-1)
                self._batched(modality, len(items), len(x), time.perf_counter() - start)
                offsets = np.cumsum([len(item.x) for item in items])[:-1]
                for item, part in zip(items, np.split(probs, offsets), strict=True):
                    item.future.set_result(part)
            except Exception as exc:  # every waiting request gets the error
                for item in items:
                    if not item.future.done():
                        item.future.set_exception(exc)

    def _batched(self, modality: str, requests: int, units: int, seconds: float) -> None:
        if self._on_batch is not None:
            self._on_batch(modality, requests, units, seconds)

    def _depth(self, modality: str, q: queue.Queue[_Item | None]) -> None:
        if self._on_depth is not None:
            self._on_depth(modality, q.qsize())
