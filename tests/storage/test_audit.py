"""Audit events: stored in the logs collection with actor and address, listed newest first."""

from __future__ import annotations

from pymongo.database import Database

from storage import audit, logs


def test_record_and_list(db: Database) -> None:
    audit.record(db, "auth.login", user_id="u1", address="192.0.2.1")
    audit.record(db, "media.deleted", user_id="u1", address="192.0.2.1", media_id="m1")
    logs.log_event(db, "info", "job.created", job_id="j1")  # not an audit event
    found = audit.events(db)
    assert [e["event"] for e in found] == ["media.deleted", "auth.login"]
    assert found[0]["media_id"] == "m1" and found[0]["user_id"] == "u1"
    assert found[1]["address"] == "192.0.2.1" and found[1]["audit"] is True
    assert [e["event"] for e in audit.events(db, "auth.login")] == ["auth.login"]


def test_a_workflow_act_is_recorded_in_the_configured_database(db: Database) -> None:
    audit.record_workflow_audit("model.promoted", name="detector-image", champion="2")
    (event,) = audit.events(db, "model.promoted")
    assert (event["user_id"], event["address"], event["champion"]) == (None, "cli", "2")


def test_a_workflow_act_without_a_database_records_nothing(monkeypatch) -> None:
    import storage.db

    def no_database(*_args: object) -> None:
        raise RuntimeError("no MongoDB configured")

    monkeypatch.setattr(storage.db, "get_db", no_database)
    audit.record_workflow_audit("model.promoted", name="detector-image", champion="2")
