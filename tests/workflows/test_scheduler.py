"""The embedded scheduler with a fake clock: the rescan CronWorkflow's own schedule, time zone,
Forbid and starting deadline, as read from the rendered definition; and the retention hook."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from config import Config, get_config
from workflows.rescan import build_rescan_workflow, schedule_settings
from workflows.scheduler import CronSpec, Scheduler, rescan_scheduler


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def _spec(monkeypatch, schedule: str) -> CronSpec:
    monkeypatch.setenv("RESCAN_SCHEDULE", schedule)
    cfg = get_config()
    return CronSpec.from_manifest(
        build_rescan_workflow(faults=cfg.faults, **schedule_settings(cfg)).to_dict())


def test_the_spec_is_read_from_the_rendered_cronworkflow(monkeypatch):
    spec = _spec(monkeypatch, "15 4 * * 1")
    assert spec == CronSpec(("15 4 * * 1",), "UTC", "Forbid", 3600.0, False)
    assert spec.next_after(datetime(2026, 11, 28, tzinfo=UTC)) == datetime(
        2026, 11, 30, 4, 15, tzinfo=UTC)  # the next Monday
    berlin = CronSpec(("0 3 * * *",), "Europe/Berlin")
    assert berlin.next_after(datetime(2026, 7, 1, tzinfo=UTC)) == datetime(
        2026, 7, 1, 1, 0, tzinfo=UTC)  # 03:00 summer time in Berlin
    with pytest.raises(ValueError):
        CronSpec.from_manifest({"spec": {"schedules": ["not cron"]}})


def test_fires_on_schedule_forbids_overlap_and_honours_the_deadline(monkeypatch):
    clock = FakeClock(datetime(2026, 11, 28, 2, 59, tzinfo=UTC))
    fired: list[datetime] = []
    running = {"now": False}
    sched = Scheduler(_spec(monkeypatch, "0 3 * * *"), lambda: fired.append(clock()),
                      lambda: running["now"], clock=clock)

    assert sched.tick() is None and fired == []  # 02:59: not yet
    clock.advance(minutes=1, seconds=5)
    assert sched.tick() == "fired" and fired == [clock.now]  # 03:00:05
    assert sched.tick() is None and len(fired) == 1  # once per scheduled time

    clock.advance(days=1)  # the next 03:00 while the last run still goes: Forbid skips it
    running["now"] = True
    assert sched.tick() == "skipped" and len(fired) == 1
    running["now"] = False

    clock.advance(days=1, hours=2)  # 05:00: two hours late, over the 3600 s deadline
    assert sched.tick() == "missed" and len(fired) == 1
    clock.advance(days=3)  # several 03:00s passed: only the latest counts, 2 h late again
    assert sched.tick() == "missed"
    clock.now = clock.now.replace(hour=2, minute=0) + timedelta(days=1)
    sched.tick()
    clock.advance(hours=1, minutes=30)  # 03:30 the next day: within the deadline
    assert sched.tick() == "fired" and len(fired) == 2
    assert [e[1] for e in sched.events] == ["fired", "skipped", "missed", "missed", "fired"]


def test_a_failing_start_is_logged_and_the_schedule_goes_on(monkeypatch):
    clock = FakeClock(datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    calls = []

    def fire() -> None:
        calls.append(1)
        raise RuntimeError("no engine")

    sched = Scheduler(_spec(monkeypatch, "*/10 * * * *"), fire, lambda: False, clock=clock)
    clock.advance(minutes=10)
    assert sched.tick() == "failed"
    clock.advance(minutes=10)
    assert sched.tick() == "failed" and len(calls) == 2


def test_serve_scheduler_starts_real_rescans_and_purges(detector_env: Config, monkeypatch):
    """`rescan_scheduler` (what `detector serve` starts) on the fake clock: its fire opens a
    rescan job through the real runner, and its hook purges expired media."""
    import workflows.rescan_runner as runner
    from storage.db import get_db
    from storage.media import insert_media
    from storage.rescans import list_rescans

    monkeypatch.setenv("RESCAN_SCHEDULE", "off")
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    assert rescan_scheduler(get_config()) is None  # nothing to do

    monkeypatch.setenv("RESCAN_SCHEDULE", "0 * * * *")
    monkeypatch.setenv("RETENTION_DAYS", "30")
    clock = FakeClock(datetime(2026, 5, 1, 9, 59, tzinfo=UTC))
    old = insert_media(get_db(), {"owner": "u", "sha256": "0" * 64, "modality": "text",
                                  "filename": "t", "size": 1, "path": "00/t",
                                  "created_at": clock.now - timedelta(days=31)})
    ran: list[str] = []
    monkeypatch.setattr("workflows.rescan.run_rescan_now",
                        lambda cfg, **kw: ran.append(kw["parameters"]["job_id"]))
    sched = rescan_scheduler(get_config(), clock=clock)
    assert sched.spec.schedules == ("0 * * * *",)
    clock.advance(minutes=1)
    assert sched.tick() == "fired"
    for _ in range(200):  # the rescan runs on its own thread
        if ran and not runner.local_rescan_running():
            break
        time.sleep(0.05)
    items, total = list_rescans(get_db(), 1, 10)
    assert total == 1 and ran == [items[0]["job_id"]]
    assert get_db().media.count_documents({"media_id": old}) == 0  # purged on the same tick
