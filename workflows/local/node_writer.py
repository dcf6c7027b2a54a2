"""The node-state writer: records the status, attempts and errors of a job's nodes in MongoDB."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from pymongo.errors import ConnectionFailure

log = logging.getLogger(__name__)

NODE_RETRY_S = 1.0
"""Wait before node states are written again while MongoDB is unreachable (a flush, i.e. a
job's end, waits for them: node states are not lost in an outage)."""
NODE_WRITE_LINGER_S = 0.25
"""Default of `Config.local_node_write_linger_s` (LOCAL_NODE_WRITE_LINGER_S)."""


class NodeWriter:
    """Writes the node states of the engine's jobs to MongoDB from one thread, in batches.

    The walker's node changes are merged in memory at once (`record` never waits for the
    database); the writer thread stores each changed node's whole state, many nodes per round
    trip (`storage.node_batch`), so a node that changes three times while a batch is written
    costs one write. `flush(job_id)` waits until every change of the job is stored: the engine
    calls it before it records the job's end, so a finished job always shows its final nodes.
    """

    def __init__(self, db_factory: Any, linger_s: float = NODE_WRITE_LINGER_S) -> None:
        self._db_factory = db_factory
        self._linger_s = linger_s
        self._cond = threading.Condition()
        self._nodes: dict[tuple[str, str], Any] = {}  # StoredNode by (job, node)
        self._dirty: set[tuple[str, str]] = set()
        self._writing: set[tuple[str, str]] = set()
        self._errors: dict[str, str] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        self._urgent = False  # a flush waits: write now, without lingering

    def start_job(self, job_id: str) -> None:
        """Load the nodes the job has already (a retried job): later changes merge into them."""
        from storage.node_batch import load_nodes

        stored = load_nodes(self._db_factory(), job_id)
        with self._cond:
            self._errors.pop(job_id, None)
            for node, state in stored.items():
                self._nodes[(job_id, node)] = state

    def record(self, job_id: str, node: str, **fields: Any) -> None:
        """Merge `fields` into the node's state (as `storage.jobs.set_node` would) and queue it."""
        from storage.jobs import check_node
        from storage.node_batch import StoredNode

        check_node(node, fields)
        key = (job_id, node)
        with self._cond:
            stored = self._nodes.get(key)
            if stored is None:
                stored = self._nodes[key] = StoredNode(job_id, node)
            stored.state.update(fields)
            idle = not self._dirty
            self._dirty.add(key)
            if self._thread is None:  # the first change, or one after `close`
                self._thread = threading.Thread(target=self._loop, name="node-writer",
                                                daemon=True)
                self._thread.start()
            elif idle:
                self._cond.notify_all()  # the writer sleeps until there is something to write

    def flush(self, job_id: str) -> None:
        """Wait until every recorded change of `job_id` is stored, then forget the job's nodes.
        RuntimeError if a write of the job failed (its nodes may be out of date)."""
        with self._cond:
            while any(k[0] == job_id for k in self._dirty | self._writing):
                if self._thread is None or not self._thread.is_alive():
                    break  # nothing writes any more (cannot happen while `record` starts it)
                self._urgent = True
                self._cond.notify_all()
                self._cond.wait(0.5)
            for key in [k for k in self._nodes if k[0] == job_id]:
                if key not in self._dirty:
                    del self._nodes[key]
            error = self._errors.pop(job_id, None)
        if error is not None:
            raise RuntimeError(f"cannot record node states: {error}")

    def close(self) -> None:
        """Write what is queued, then stop the thread (a later `record` starts it again)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(30)

    def _loop(self) -> None:
        from storage.node_batch import write_nodes

        while True:
            with self._cond:
                while not self._dirty and not self._closed:
                    self._cond.wait()
                if not self._dirty and self._closed:
                    self._thread = None  # under the lock: a later `record` starts another
                    return
                # let more changes join this batch, unless someone waits for it
                deadline = time.monotonic() + self._linger_s
                while not (self._closed or self._urgent):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                self._urgent = False
                keys, self._dirty = self._dirty, set()
                self._writing = keys
                batch = [self._nodes[k] for k in keys]
                # a copy of each state: `record` may change it while the batch is written
                pending = [(n, dict(n.state)) for n in batch]
            try:
                from storage.node_batch import StoredNode

                copies = [StoredNode(n.job_id, n.node, state, n.doc_id, n.rev)
                          for n, state in pending]
                write_nodes(self._db_factory(), copies)
                with self._cond:
                    for (n, _), copy in zip(pending, copies, strict=True):
                        n.doc_id, n.rev = copy.doc_id, copy.rev
            except ConnectionFailure as exc:  # MongoDB away: keep them, write them once back
                log.warning("local engine: MongoDB unreachable, %d node states wait: %s",
                            len(keys), exc)
                with self._cond:
                    if self._closed:
                        for job_id, _ in keys:
                            self._errors[job_id] = "MongoDB unreachable"
                    else:
                        self._dirty |= keys
                        self._cond.wait(NODE_RETRY_S)
            except Exception as exc:  # the write itself failed: say so on the jobs
                log.exception("local engine: cannot write %d node states", len(keys))
                with self._cond:
                    for job_id, _ in keys:
                        self._errors[job_id] = f"{type(exc).__name__}: {exc}"
            finally:
                with self._cond:
                    self._writing = set()
                    self._cond.notify_all()
