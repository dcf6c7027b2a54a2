"""One user cannot tie up the engine: at MAX_JOBS_IN_FLIGHT_PER_USER jobs in flight, 429."""

from __future__ import annotations

from fault_helpers import bearer

from storage.db import get_db
from storage.jobs import update_job

TEXT = {"text": "Plain words written by a person for the detector to read, twice over."}


def test_a_user_at_the_cap_gets_429_with_retry_after_and_nothing_is_stored(
        make_app, monkeypatch):
    monkeypatch.setenv("MAX_JOBS_IN_FLIGHT_PER_USER", "2")
    monkeypatch.setenv("JOBS_RETRY_AFTER_S", "7")
    client = make_app().test_client()
    alice, bob = bearer(client, "alice"), bearer(client, "bob")
    url = "/api/v1/detections?mode=async"
    first = [client.post(url, json=TEXT, headers=alice) for _ in range(2)]
    assert [r.status_code for r in first] == [202, 202]

    refused = client.post(url, json=TEXT, headers=alice)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "7"
    assert refused.json["error"]["code"] == "too_many_requests"
    assert "2 jobs" in refused.json["error"]["message"]
    assert get_db().jobs.count_documents({}) == 2 and get_db().media.count_documents({}) == 2

    assert client.post(url, json=TEXT, headers=bob).status_code == 202  # per user
    update_job(get_db(), first[0].json["job_id"], status="succeeded")  # one finished
    assert client.post(url, json=TEXT, headers=alice).status_code == 202
    assert client.post(url, json=TEXT, headers=alice).status_code == 429


def test_zero_turns_the_cap_off(make_app, monkeypatch):
    monkeypatch.setenv("MAX_JOBS_IN_FLIGHT_PER_USER", "0")
    client = make_app().test_client()
    alice = bearer(client, "alice")
    codes = {client.post("/api/v1/detections?mode=async", json=TEXT, headers=alice).status_code
             for _ in range(6)}
    assert codes == {202}


def test_a_remote_scan_waits_for_the_cap_instead_of_failing_files(detector_env, tmp_path,
                                                                    monkeypatch):
    """`detector scan --api` keeps many jobs in flight: at the cap it lets one finish first."""
    import threading

    from waitress.server import create_server
    from wf_helpers import toy_workflow

    from api import create_app
    from cli.scan_remote import scan_remote
    from config import Scan
    from workflows.local.engine import LocalEngine

    monkeypatch.setenv("MAX_JOBS_IN_FLIGHT_PER_USER", "1")
    engine = LocalEngine(detector_env, workflow=toy_workflow(retries=0), workers=1)
    app = create_app({"ENGINE": engine})
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        client = app.test_client()
        monkeypatch.setenv("DETECTOR_TOKEN", bearer(client, "scanner")["Authorization"][7:])
        files = []
        for i in range(3):
            files.append(tmp_path / f"note-{i}.txt")
            files[-1].write_text(f"{TEXT} Note number {i} of three.")
        rows = scan_remote(files, f"http://127.0.0.1:{server.effective_port}",
                           Scan(poll_s=0.1, timeout_s=60))
        assert sorted(r["status"] for r in rows) == ["scored"] * 3, rows
    finally:
        app.extensions["webhooks"].stop()
        server.close()
        thread.join(5)
        engine.shutdown()
