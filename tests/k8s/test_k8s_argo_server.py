"""On a live cluster: the Argo Server acts with each client's own token (--auth-mode=client)."""

from __future__ import annotations

import json
import subprocess

import pytest
from k8s_helpers import tool


@pytest.mark.on_cluster
def test_argo_server_runs_in_client_auth_mode() -> None:
    """Any other mode (`server`) would run the api's requests with the server's own, wider
    ServiceAccount instead of the api's token bounded by Role detector-api."""
    done = subprocess.run(
        [tool("kubectl"), "-n", "argo", "get", "deployment", "argo-server", "-o", "json"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (server,) = [c for c in json.loads(done.stdout)["spec"]["template"]["spec"]["containers"]
                 if c["name"] == "argo-server"]
    args = server.get("args", [])
    modes = [a.split("=", 1)[1] for a in args if a.startswith("--auth-mode=")]
    modes += [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--auth-mode"]
    assert modes, "set --auth-mode=client explicitly (docs/deployment.md, section 5)"
    assert all(set(m.split(",")) <= {"client", "sso"} for m in modes), modes
