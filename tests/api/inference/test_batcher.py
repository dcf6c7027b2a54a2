"""Micro-batching: concurrent requests share a forward pass and each gets its own slice."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pytest

from api.inference.batcher import MicroBatcher


@dataclass
class RowSum:
    """A stand-in model: one 'probability' per unit = the unit's first value; counts calls."""

    calls: list[int] = field(default_factory=list)
    fail: bool = False

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.fail:
            raise RuntimeError("model broke")
        self.calls.append(len(x))
        return x[:, 0].astype(np.float64)


def _concurrently(batcher: MicroBatcher, model: RowSum, n: int) -> list[object]:
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def call(i: int) -> None:
        barrier.wait()
        try:
            results[i] = batcher.predict("image", model, np.full((i + 1, 3), i, np.float32))
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_concurrent_requests_share_forward_passes() -> None:
    seen: list[tuple[int, int]] = []
    batcher = MicroBatcher(max_batch=8, max_wait_ms=200,
                           on_batch=lambda m, req, units, s: seen.append((req, units)))
    model = RowSum()
    try:
        results = _concurrently(batcher, model, 6)
    finally:
        batcher.close()
    for i, probs in enumerate(results):
        np.testing.assert_array_equal(probs, np.full(i + 1, i))
    assert len(model.calls) < 6 and sum(model.calls) == sum(range(1, 7))
    assert sum(req for req, _ in seen) == 6


def test_errors_reach_every_waiting_request() -> None:
    batcher = MicroBatcher(max_batch=4, max_wait_ms=50)
    try:
        results = _concurrently(batcher, RowSum(fail=True), 3)
    finally:
        batcher.close()
    assert all(isinstance(r, RuntimeError) for r in results)


def test_batch_of_one_runs_in_the_calling_thread() -> None:
    model = RowSum()
    batcher = MicroBatcher(max_batch=1)
    assert not batcher.enabled
    np.testing.assert_array_equal(batcher.predict("text", model, np.ones((2, 1))), [1, 1])
    assert model.calls == [2] and threading.active_count() >= 1
    with pytest.raises(RuntimeError):
        batcher.predict("text", RowSum(fail=True), np.ones((1, 1)))
