"""Typed bodies of the rescan routes and of result history (pydantic, for the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel

from api.schemas import ModelRef, Open, Page, Result


class RescanRequest(BaseModel):
    """What to rescan (all optional): one modality, media uploaded since a date, given media."""

    model_config = ConfigDict(extra="forbid")

    modality: Literal["image", "audio", "video", "text"] | None = None
    since: str | None = Field(None, description="ISO 8601 date or date-time (UTC if naive)")
    media_ids: list[str] | None = Field(None, min_length=1, max_length=10_000)


class RescanStarted(Open):
    """A rescan was started: follow it at `status_url`."""

    rescan_id: str
    status_url: str


class RescanSummary(Open):
    """Counts of a rescan; `pending` while it runs."""

    selected: int
    rescored: int
    changed: int
    failed: int
    missing: int
    missing_ids: list[str]
    failures: list[dict[str, str]]
    pending: int | None = None


class Rescan(Open):
    """One rescan job: its filters, progress or summary, and links (the Argo UI on Argo)."""

    rescan_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    engine: str | None
    filters: dict[str, Any]
    started_by: str | None
    error: str | None
    summary: RescanSummary
    from_versions: dict[str, dict[str, int]]
    created_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str | None]


class RescansPage(Page):
    """One page of rescans, newest first."""

    items: list[Rescan]


class HistoryJob(BaseModel):
    """The job that made a result: an upload or a rescan."""

    job_id: str
    kind: Literal["upload", "rescan"]
    mode: str | None


class HistoryEntry(Result):
    """A result in a media's history; `changed_from` when its verdict differs from the one
    before."""

    job: HistoryJob
    changed_from: str | None = None
    previous_model: ModelRef | None = None


class ResultHistory(Open):
    """Every result of a media, newest first (`?history=1`)."""

    media_id: str
    history: list[HistoryEntry]


class ResultOrHistory(RootModel[Result | ResultHistory]):
    """The media's current result, or with `?history=1` its whole history."""


class ResultQuery(BaseModel):
    """`history=1`: every result of the media instead of the current one."""

    history: Literal["1", "true"] | None = None
