"""The embedded scheduler: on one machine, runs the rescan CronWorkflow on its own schedule (cron
expressions, time zone, `concurrencyPolicy: Forbid` and `startingDeadlineSeconds` read from the
rendered definition) and, on the same ticks, the media retention purge."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from config import Config

_log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The wall clock, UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class CronSpec:
    """What a CronWorkflow says about when it runs."""

    schedules: tuple[str, ...]
    timezone: str = "UTC"
    concurrency_policy: str = "Allow"
    starting_deadline_s: float | None = None
    suspend: bool = False

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> CronSpec:
        """From a rendered CronWorkflow (`build_rescan_workflow().to_dict()`, the YAML)."""
        spec = manifest["spec"]
        schedules = tuple(spec.get("schedules") or ([spec["schedule"]] if spec.get("schedule")
                                                    else []))
        for expr in schedules:
            if not croniter.is_valid(expr):
                raise ValueError(f"bad cron expression {expr!r}")
        deadline = spec.get("startingDeadlineSeconds")
        return cls(schedules, spec.get("timezone") or "UTC",
                   spec.get("concurrencyPolicy") or "Allow",
                   float(deadline) if deadline is not None else None, bool(spec.get("suspend")))

    def next_after(self, when: datetime) -> datetime:
        """The first scheduled time strictly after `when` (UTC), over every schedule."""
        local = when.astimezone(ZoneInfo(self.timezone))
        return min(croniter(expr, local).get_next(datetime) for expr in self.schedules
                   ).astimezone(UTC)


class Scheduler:
    """Fires `fire()` at each scheduled time, judged on every `tick()` against `clock()`.

    When several times passed since the last tick only the latest counts (as Kubernetes and Argo
    do); it is `missed` when more than the starting deadline late, `skipped` when the policy is
    Forbid and `running()` says a run is going, else `fired`. `hooks` run on every tick (the
    retention purge); a failing hook or run is logged, never stops the scheduler."""

    def __init__(self, spec: CronSpec, fire: Callable[[], Any], running: Callable[[], bool],
                 clock: Clock = utc_now, tick_s: float = 30.0,
                 hooks: Sequence[Callable[[datetime], Any]] = ()) -> None:
        self.spec, self._fire, self._running, self._clock = spec, fire, running, clock
        self.tick_s, self.hooks = tick_s, list(hooks)
        self.next_run = spec.next_after(clock()) if spec.schedules else None
        self.events: list[tuple[datetime, str]] = []
        """(scheduled time, fired|skipped|missed|failed) of every scheduled time judged."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> str | None:
        """Judge the clock now: what happened to a scheduled time that came, or None."""
        now = self._clock()
        outcome = None
        if self.next_run is not None and self.next_run <= now and not self.spec.suspend:
            due = self.next_run
            while (later := self.spec.next_after(due)) <= now:
                due = later
            outcome = self._judge(due, now)
            self.events.append((due, outcome))
        if self.next_run is not None and self.next_run <= now:
            self.next_run = self.spec.next_after(now)
        for hook in self.hooks:
            try:
                hook(now)
            except Exception:  # noqa: BLE001 - logged; the next tick tries again
                _log.exception("scheduler hook %s failed", hook)
        return outcome

    def _judge(self, due: datetime, now: datetime) -> str:
        deadline = self.spec.starting_deadline_s
        if deadline is not None and now - due > timedelta(seconds=deadline):
            return "missed"
        if self.spec.concurrency_policy == "Forbid" and self._running():
            return "skipped"
        try:
            self._fire()
        except Exception:  # noqa: BLE001 - logged; the next scheduled time tries again
            _log.exception("scheduled run at %s failed to start", due)
            return "failed"
        return "fired"

    def start(self) -> Scheduler:
        """Tick every `tick_s` seconds on a daemon thread until `stop()`."""
        def loop() -> None:
            while not self._stop.wait(self.tick_s):
                self.tick()

        self._thread = threading.Thread(target=loop, name="scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking (a run already started goes on)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


def rescan_scheduler(cfg: Config, clock: Clock = utc_now) -> Scheduler | None:
    """The scheduler `detector serve` runs: the rescan CronWorkflow as rendered now (RESCAN_
    SCHEDULE), started through `workflows.rescan_runner`, and the retention purge when
    RETENTION_DAYS is set. No schedule on Argo (its controller runs the CronWorkflow) or with
    RESCAN_SCHEDULE=off; None when nothing is left to do."""
    from storage.db import get_db
    from storage.purge import purge_expired
    from workflows.rescan import build_rescan_workflow, schedule_settings
    from workflows.rescan_runner import RescanRunning, local_rescan_running, start_rescan

    rescans = cfg.rescans
    hooks: list[Callable[[datetime], Any]] = []
    if rescans.retention_days is not None:
        hooks.append(lambda now: purge_expired(get_db(cfg.mongo_uri, cfg.mongo_db), cfg.media_root,
                                               rescans.retention_days, now,
                                               limit=rescans.purge_batch))
    on_schedule = rescans.schedule_on and not cfg.argo_server  # on Argo, Argo runs the schedule
    if not on_schedule and not hooks:
        return None
    spec = CronSpec.from_manifest(
        build_rescan_workflow(faults=cfg.faults, **schedule_settings(cfg)).to_dict())
    if not on_schedule:
        spec = CronSpec((), spec.timezone)

    def fire() -> None:
        try:
            start_rescan(cfg)
        except RescanRunning:
            pass  # started meanwhile by hand: Forbid

    return Scheduler(spec, fire, local_rescan_running, clock=clock, tick_s=rescans.tick_s,
                     hooks=hooks)
