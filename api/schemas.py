"""Typed request and response bodies of the API (pydantic): the OpenAPI document is made of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """A body that may carry more fields than it names (clients must ignore unknown ones)."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(BaseModel):
    """The machine-readable code and the human sentence of an error."""

    code: str
    message: str


class Error(Open):
    """Every 4xx and 5xx answer: `{"error": {"code", "message"}}`, sometimes `job_id` or
    `filename` beside it."""

    error: ErrorDetail


class Page(Open):
    """The paging fields every list answer carries beside its `items`."""

    page: int = Field(ge=1)
    per_page: int = Field(ge=1)
    total: int = Field(ge=0)


class ModelRef(BaseModel):
    """The registered model and version that scored a media."""

    name: str | None
    version: str | None


class Result(Open):
    """One media's score: `score` is null when `verdict` is `not_applicable` (then `reason`)."""

    media_id: str
    job_id: str
    filename: str | None
    sha256: str | None
    modality: Literal["image", "audio", "video", "text"] | None
    score: float | None
    verdict: str | None
    model: ModelRef
    explanation: dict[str, Any] | None
    created_at: datetime | None
    reason: str | None = None
    reason_code: str | None = None
    links: dict[str, str] | None = None


class ResultsPage(Page):
    """One page of results, newest first."""

    items: list[Result]


class Delivery(BaseModel):
    """One attempt to POST a finished job to its `callback_url`."""

    at: datetime
    status_code: int | None
    error: str | None = None


class Callback(BaseModel):
    """Where and how the job's end is announced: pending, sending, delivered or failed."""

    url: str
    state: Literal["pending", "sending", "delivered", "failed"]
    attempts: list[Delivery]
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None


class Job(Open):
    """A detection job with its workflow nodes and its results so far."""

    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    engine: str | None
    mode: str | None
    media_ids: list[str]
    error: str | None
    created_at: datetime | None
    updated_at: datetime | None
    nodes: dict[str, dict[str, Any]]
    results: list[Result]
    links: dict[str, str | None]
    callback: Callback | None = None


class TextDetection(BaseModel):
    """A text to score, and where to POST the finished job (optional)."""

    text: str
    callback_url: str | None = Field(None, max_length=2048)


class FileDetection(BaseModel):
    """Multipart form: one or more `file` parts and an optional `callback_url` field."""

    file: list[bytes] = Field(json_schema_extra={"items": {
        "type": "string", "contentMediaType": "application/octet-stream"}})
    callback_url: str | None = Field(None, max_length=2048)


class Detection(Open):
    """200: the job ended and `results` holds a result per media; 202: it runs, poll
    `status_url` (or wait for the callback)."""

    job_id: str
    status: Literal["queued", "running", "succeeded", "failed"] | None = None
    engine: str | None = None
    status_url: str | None = None
    results: list[Result] | None = None
    fallback: str | None = None
    error: str | None = None


class DetectionQuery(BaseModel):
    """`mode`: sync waits for the results (default except for video), async answers 202."""

    mode: Literal["sync", "async"] | None = None


class PageQuery(BaseModel):
    """Paging of every list route."""

    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(20, ge=1, le=100)


class Token(BaseModel):
    """A bearer token for the other routes."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int


class User(Open):
    """A user, without its password hash."""

    user_id: str
    name: str
    admin: bool
    created_at: datetime | None = None


class NewUser(BaseModel):
    """An admin creates a user with a password of at least 8 characters."""

    name: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=8)
    admin: bool = False


class WebhookSecret(BaseModel):
    """The key that signs the caller's callbacks (`X-Detector-Signature`)."""

    secret: str
    created_at: datetime


class Health(Open):
    """Liveness or readiness; a 503 readiness adds `reasons` and `error`."""

    status: str
    checks: dict[str, Any] | None = None
    reasons: list[str] | None = None
    error: ErrorDetail | None = None


class Waveform(BaseModel):
    """A sound's envelope for drawing it: (min, max) of the samples of each of <= 800 columns."""

    duration_s: float | None
    peaks: list[list[float]]


class HistoryQuery(PageQuery):
    """Filters of the caller's history: ISO 8601 dates or datetimes, UTC unless they say
    otherwise; `until` as a bare date includes that day."""

    modality: Literal["image", "audio", "video", "text"] | None = None
    verdict: Literal["synthetic", "authentic", "uncertain", "not_applicable"] | None = None
    since: str | None = None
    until: str | None = None


class HistoryItem(Result):
    """A result in the history: `links.job`, `links.argo_ui` and `links.mlflow` (null when not
    configured) beside the result's own links."""

    links: dict[str, str | None]


class HistoryPage(Page):
    """One page of the caller's results, newest first."""

    items: list[HistoryItem]


class ModelVersion(Open):
    """One registered version: `created_at` is MLflow's (milliseconds since the epoch), `link`
    its page in the MLflow UI (null without MLFLOW_UI_URL)."""

    version: str
    aliases: list[str]
    created_at: int | None
    description: str
    link: str | None


class RegisteredModel(Open):
    """A modality's model, its newest versions and the one holding the champion alias."""

    modality: Literal["image", "audio", "video", "text"]
    name: str
    champion: str | None
    versions: list[ModelVersion]


class ModelsList(Open):
    """Every modality's registered model (admins only)."""

    models: list[RegisteredModel]
