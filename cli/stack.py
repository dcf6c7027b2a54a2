"""The embedded stack for one machine: start what the environment leaves unset, stop it on exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import PyMongoError

from config import Config, get_config
from models.registry.settings import RegistrySettings
from storage.embedded import EmbeddedMongo


def _server_file(cfg: Config) -> Path:
    return cfg.var_dir / "mongo" / "server.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def running_embedded_mongo(cfg: Config) -> str | None:
    """The URI of an embedded MongoDB another `detector` process started on this var/, if alive."""
    path = _server_file(cfg)
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    if not _pid_alive(info.get("pid", -1)):
        return None
    try:
        with MongoClient(info["uri"], serverSelectionTimeoutMS=1000) as client:
            client.admin.command("ping")
    except PyMongoError:
        return None
    return info["uri"]


@contextmanager
def embedded_stack(register_models: bool = True) -> Iterator[Config]:
    """Yield a configuration whose MongoDB and MLflow answer, starting the embedded ones if unset.

    MongoDB: `MONGO_URI` set means use it; otherwise reuse a running embedded server on the same
    var/ (another `detector` command started it) or start `nx-27017` with its files under
    var/mongo and stop it on exit. MLflow: the tracking URI from config (sqlite under var/ by
    default); the committed baselines are registered as champions where a name has none
    (`register_baselines`: in a child process unless this one has torch loaded already).
    """
    cfg = get_config()
    server: EmbeddedMongo | None = None
    if not cfg.mongo_uri:
        uri = running_embedded_mongo(cfg)
        if uri is None:
            server = EmbeddedMongo(cfg.var_dir / "mongo")
            uri = server.start()
            _server_file(cfg).write_text(json.dumps({"uri": uri, "pid": server.pid}))
        os.environ["MONGO_URI"] = uri
        cfg = get_config()
    try:
        from storage.db import ensure_indexes, get_db

        ensure_indexes(get_db())
        if register_models:
            register_baselines(cfg)
        yield cfg
    finally:
        if server is not None:
            _server_file(cfg).unlink(missing_ok=True)
            server.stop()


_REGISTER = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from models.registry.client import ensure_baselines\n"
    "from models.registry.settings import RegistrySettings\n"
    "registry = RegistrySettings(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))\n"
    "print(json.dumps(ensure_baselines(registry)))\n"
)


def register_baselines(cfg: Config, in_process: bool | None = None) -> dict[str, str]:
    """`models.registry.client.ensure_baselines` for `cfg`'s registry; `{modality: champion
    version}`.

    By default it runs in a short-lived child process when this process has not imported torch:
    registering needs torch and MLflow (~400 MiB resident together), which a process that only
    serves the API (`detector serve`) would otherwise keep for its whole life. A process that
    scores anyway (torch loaded) registers in-process. Raises RuntimeError if the child fails.
    """
    registry = RegistrySettings.from_config(cfg)
    if in_process is None:
        in_process = "torch" in sys.modules
    if in_process:
        from models.registry.client import ensure_baselines

        return ensure_baselines(registry)
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run(
        [sys.executable, "-c", _REGISTER, registry.tracking_uri, str(registry.artifact_root),
         str(registry.audit_log)],
        env=env, cwd=os.getcwd(), capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"registering the baseline models failed (exit {done.returncode}): "
                           f"{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def inference_command(port: int) -> list[str]:
    """The command line of the inference service child on `port`."""
    return [sys.executable, "-m", "cli.main", "inference-server", "--port", str(port)]


@contextmanager
def inference_child(cfg: Config) -> Iterator[str | None]:
    """Start `detector inference-server` as a supervised child process when INFERENCE_URL is
    unset; when it dies (killed, out of memory) it is started again on the same port, after
    INFERENCE_RESTART_BACKOFF_S doubling up to INFERENCE_RESTART_BACKOFF_MAX_S (`Supervisor`).

    Yields the service's URL (also put in the environment as INFERENCE_URL, so the API's sync
    path uses it). The API does not wait for it: until the service has loaded its models, and
    while it is down, sync requests fall back to workflow jobs. The child is stopped on exit.
    """
    if cfg.inference_url:
        yield cfg.inference_url
        return
    from cli.supervisor import Supervisor
    from storage.embedded import _free_port

    port = _free_port()
    cfg.var_dir.mkdir(parents=True, exist_ok=True)  # absent when every service is external
    child = Supervisor(inference_command(port), cfg.var_dir / "inference.log", os.environ.copy(),
                       cfg.faults.inference_restart_backoff_s,
                       cfg.faults.inference_restart_backoff_max_s).start()
    os.environ["INFERENCE_URL"] = f"http://127.0.0.1:{port}"
    try:
        yield os.environ["INFERENCE_URL"]
    finally:
        os.environ.pop("INFERENCE_URL", None)
        child.stop()

def recover_jobs(engine: Any, cfg: Config | None = None) -> dict[str, list[str]]:
    """Requeue or fail the jobs a dead engine process of this host left `queued` or `running`
    (`LocalEngine.recover`; other engines keep their own state), and sweep what uploads cut
    short left behind (`storage.janitor`). Prints what it did."""
    from storage.db import get_db
    from storage.janitor import sweep

    cfg = cfg or get_config()
    swept = sweep(get_db(), cfg.media_root, cfg.faults.orphan_grace_s)
    if any(swept.values()):
        print(f"removed what interrupted uploads left: {swept['media']} media documents, "
              f"{swept['files']} files", flush=True)
    recover = getattr(engine, "recover", None)
    if recover is None:
        return {}
    done = recover()
    if any(done.values()):
        print(f"recovered jobs of a stopped engine: {len(done['requeued'])} requeued, "
              f"{len(done['failed'])} failed", flush=True)
    return done
