"""MongoDB users per component: the init script run (in node) against a recording stand-in."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml
from k8s_helpers import named

# What mongosh offers the script: db.getSiblingDB("admin") with role and user calls, recorded.
HARNESS = """
const calls = [];
const recorder = {
  getRole: () => null, getUser: () => null,
  createRole: (r) => calls.push(["createRole", r]),
  updateRole: (n, r) => calls.push(["updateRole", {role: n, ...r}]),
  createUser: (u) => calls.push(["createUser", u]),
  updateUser: (n, u) => calls.push(["updateUser", {user: n, ...u}]),
};
const db = { getSiblingDB: (name) => { if (name !== "admin") throw name; return recorder; } };
%s
process.stdout.write(JSON.stringify(calls));
"""
COLLECTIONS = {"users", "media", "jobs", "job_nodes", "results", "logs"}


@pytest.fixture(scope="module")
def created(render) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.skip("node is needed to run the init script")
    docs = [d for d in yaml.safe_load_all(render("prod")) if d]
    script = named(docs, "ConfigMap", "mongodb-init")["data"]["create-app-users.js"]
    env = {**os.environ, "MONGO_DB": "detector", **{f"MONGO_{c}_{k}": f"{c.lower()}-{k.lower()}"
                                     for c in ("API", "INFERENCE", "WORKFLOW")
                                     for k in ("USERNAME", "PASSWORD")}}
    done = subprocess.run(["node", "-e", HARNESS % script], env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    calls = json.loads(done.stdout)
    roles = {c[1]["role"]: c[1] for c in calls if c[0] == "createRole"}
    users = {c[1]["user"]: c[1] for c in calls if c[0] == "createUser"}
    return {"roles": roles, "users": users}


def _grants(role: dict[str, Any]) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for privilege in role["privileges"]:
        assert privilege["resource"]["db"] == "detector"
        collection = privilege["resource"]["collection"]
        assert collection in COLLECTIONS, collection  # never "" (the whole database)
        granted.setdefault(collection, set()).update(privilege["actions"])
    return granted


def test_each_component_has_its_own_user_and_role(created):
    assert {u: [(r["role"], r["db"]) for r in spec["roles"]]
            for u, spec in created["users"].items()} == {
        f"{c}-username": [(f"detector-{c}", "admin")] for c in ("api", "inference", "workflow")}
    for role in created["roles"].values():
        assert role["roles"] == []  # inherits nothing (no readWrite, no userAdmin)


def test_roles_name_collections_and_actions(created):
    roles = {name: _grants(role) for name, role in created["roles"].items()}
    data = {"find", "insert", "update", "remove"}
    assert roles["detector-api"] == {c: data | {"createIndex"} for c in COLLECTIONS}
    # Only the api reads users (password hashes); nobody may grant or change roles.
    for name in ("detector-inference", "detector-workflow"):
        assert roles[name]["users"] == {"createIndex"}, name
    assert roles["detector-inference"]["logs"] == {"createIndex", "insert"}
    assert all(a == {"createIndex"} for c, a in roles["detector-inference"].items()
               if c != "logs")
    assert roles["detector-workflow"]["media"] == {"createIndex", "find"}
    assert "remove" not in set().union(*roles["detector-workflow"].values())
    allowed = data | {"createIndex"}
    for name, grants in roles.items():
        assert set().union(*grants.values()) <= allowed, name


def test_the_statefulset_passes_each_users_credentials(docs):
    pod = named(docs, "StatefulSet", "mongodb")["spec"]["template"]["spec"]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in pod["containers"][0]["env"]
           if "secretKeyRef" in e.get("valueFrom", {})}
    for component in ("API", "INFERENCE", "WORKFLOW"):
        for key in ("USERNAME", "PASSWORD"):
            assert env[f"MONGO_{component}_{key}"] == {
                "name": "mongodb-credentials", "key": f"{component.lower()}-{key.lower()}"}
    assert "MONGO_APP_USERNAME" not in env
