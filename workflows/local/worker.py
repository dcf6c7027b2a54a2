"""Code that runs inside the local engine's worker processes (kept light: imported on spawn)."""

import os
import sys
import time
import traceback

_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
_threads = 1


class StepError(Exception):
    """A step's exception as text (any exception type survives the trip back to the engine)."""


def init_worker(env: dict[str, str], threads: int) -> None:
    """Pool initializer: the engine's environment, and `threads` math threads per worker.

    Set before torch or numpy load, so each worker uses `threads` cores and N workers do not
    oversubscribe the machine.
    """
    global _threads
    _threads = threads
    os.environ.update(env)
    from config import SECRET_VARS

    for name in SECRET_VARS:  # steps decode untrusted media: they get none of the API's secrets
        os.environ.pop(name, None)
    for name in _THREAD_VARS:
        os.environ[name] = str(threads)


def warm(modules: list[str], hold_s: float = 0.2) -> int:
    """Import `modules` (the step modules) and call their `warm_up()` where they have one (infer
    loads the champions); held briefly so that each call of a warm-up round lands on another
    worker. Returns the worker's pid."""
    import importlib
    import time

    for name in modules:
        warm_up = getattr(importlib.import_module(name), "warm_up", None)
        if callable(warm_up):
            warm_up()
    time.sleep(hold_s)
    return os.getpid()


def run_step(entrypoint: str, inputs: list[dict[str, str]], env: dict[str, str],
             started_file: str | None = None) -> None:
    """Run `module:function` exactly as the container does (Hera's runner), with `env` set.

    `started_file`: written with "<pid> <time.time()>" when the step starts here and removed
    when it ends, so the engine knows which process to kill when the step's deadline passes."""
    from hera.workflows._runner.util import _runner

    if started_file:
        with open(started_file, "w") as fh:
            fh.write(f"{os.getpid()} {time.time()}")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        _runner(entrypoint, inputs)
    except Exception as exc:
        traceback.print_exc()  # the full story goes to the engine's stderr
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        raise StepError(detail) from None
    finally:
        if started_file:
            try:
                os.unlink(started_file)
            except OSError:
                pass
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        torch = sys.modules.get("torch")
        if torch is not None and torch.get_num_threads() != _threads:
            torch.set_num_threads(_threads)
