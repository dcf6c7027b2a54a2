"""One configuration object for every part, read from environment variables (unset = embedded)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

_WEIGHTS_DIR = Path(__file__).resolve().parent / "models" / "weights"  # models.checkpoint's


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _env_float(name: str, default: float) -> float:
    value = _env(name)
    return float(value) if value is not None else default


def _env_bool(name: str, default: bool) -> bool:
    value = _env(name)
    return default if value is None else value.lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Limits:
    """Input limits; every one can be changed with the environment variable named beside it."""

    max_upload_bytes: int = 200 * 1024 * 1024  # MAX_UPLOAD_BYTES, per file
    max_files_per_request: int = 16  # MAX_FILES_PER_REQUEST
    max_image_pixels: int = 50_000_000  # MAX_IMAGE_PIXELS
    min_image_side: int = 32  # MIN_IMAGE_SIDE
    max_audio_seconds: float = 600.0  # MAX_AUDIO_SECONDS
    min_audio_seconds: float = 0.5  # MIN_AUDIO_SECONDS
    max_audio_sample_rate: int = 96_000  # MAX_AUDIO_SAMPLE_RATE, Hz
    max_audio_channels: int = 8  # MAX_AUDIO_CHANNELS
    max_audio_samples: int = 600 * 48_000 * 2  # MAX_AUDIO_SAMPLES: frames x channels decoded
    max_video_seconds: float = 600.0  # MAX_VIDEO_SECONDS
    max_video_pixels: int = 3840 * 2160  # MAX_VIDEO_PIXELS, per frame
    max_video_frames: int = 600 * 60  # MAX_VIDEO_FRAMES: frames a container may declare
    multipart_overhead_bytes: int = 1 << 20  # MULTIPART_OVERHEAD_BYTES: framing of an upload
    max_json_body_bytes: int = 64 * 1024  # MAX_JSON_BODY_BYTES: body of every non-upload route
    max_text_chars: int = 200_000  # MAX_TEXT_CHARS
    min_text_chars: int = 20  # MIN_TEXT_CHARS
    sync_timeout_s: float = 120.0  # SYNC_TIMEOUT_S: how long ?mode=sync waits for a job
    # -- hostile input (issue 11): read from the environment when a Limits is made --------
    max_form_parts: int = field(default_factory=lambda: _env_int("MAX_FORM_PARTS", 64))
    """MAX_FORM_PARTS: multipart parts (files and fields) one request may hold."""
    max_json_depth: int = field(default_factory=lambda: _env_int("MAX_JSON_DEPTH", 32))
    """MAX_JSON_DEPTH: nesting of arrays and objects a JSON body may have."""
    probe_max_frames: int = field(default_factory=lambda: _env_int("PROBE_MAX_FRAMES", 36_000))
    """PROBE_MAX_FRAMES: video frames a full probe may decode to count or check a file."""
    probe_budget_s: float = field(default_factory=lambda: _env_float("PROBE_BUDGET_S", 60.0))
    """PROBE_BUDGET_S: wall-clock seconds a full video probe may spend decoding."""
    request_read_timeout_s: float = field(
        default_factory=lambda: _env_float("REQUEST_READ_TIMEOUT_S", 60.0))
    """REQUEST_READ_TIMEOUT_S: longest a client may take to send one request (headers and
    body); waitress's inactivity timeout (`channel_timeout`) is the same number."""

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_upload_bytes=_env_int("MAX_UPLOAD_BYTES", cls.max_upload_bytes),
            max_files_per_request=_env_int("MAX_FILES_PER_REQUEST", cls.max_files_per_request),
            max_image_pixels=_env_int("MAX_IMAGE_PIXELS", cls.max_image_pixels),
            min_image_side=_env_int("MIN_IMAGE_SIDE", cls.min_image_side),
            max_audio_seconds=_env_float("MAX_AUDIO_SECONDS", cls.max_audio_seconds),
            min_audio_seconds=_env_float("MIN_AUDIO_SECONDS", cls.min_audio_seconds),
            max_audio_sample_rate=_env_int("MAX_AUDIO_SAMPLE_RATE", cls.max_audio_sample_rate),
            max_audio_channels=_env_int("MAX_AUDIO_CHANNELS", cls.max_audio_channels),
            max_audio_samples=_env_int("MAX_AUDIO_SAMPLES", cls.max_audio_samples),
            max_video_seconds=_env_float("MAX_VIDEO_SECONDS", cls.max_video_seconds),
            max_video_pixels=_env_int("MAX_VIDEO_PIXELS", cls.max_video_pixels),
            max_video_frames=_env_int("MAX_VIDEO_FRAMES", cls.max_video_frames),
            multipart_overhead_bytes=_env_int("MULTIPART_OVERHEAD_BYTES",
                                              cls.multipart_overhead_bytes),
            max_json_body_bytes=_env_int("MAX_JSON_BODY_BYTES", cls.max_json_body_bytes),
            max_text_chars=_env_int("MAX_TEXT_CHARS", cls.max_text_chars),
            min_text_chars=_env_int("MIN_TEXT_CHARS", cls.min_text_chars),
            sync_timeout_s=_env_float("SYNC_TIMEOUT_S", cls.sync_timeout_s),
        )

    @property
    def max_request_bytes(self) -> int:
        """The largest request body a server takes: one file at MAX_UPLOAD_BYTES plus the
        multipart framing (several files in one request share it). Waitress refuses a longer
        `Content-Length` before reading the body (`cli.serving.serve_options`)."""
        return self.max_upload_bytes + self.multipart_overhead_bytes

# --- faults: retries, deadlines, per-user concurrency, recovery (docs/security.md "## Faults") ---
DEFAULT_MAX_STEP_RETRIES = 3
DEFAULT_STEP_DEADLINE_S = 900
DEFAULT_TRAIN_STEP_DEADLINE_S = 6 * 3600


@dataclass(frozen=True)
class Faults:
    """What bounds a failing or greedy job; each one set by the environment variable beside it."""

    max_step_retries: int = DEFAULT_MAX_STEP_RETRIES
    """MAX_STEP_RETRIES: the most retries of one step (attempts = 1 + this); a workflow's
    retryStrategy limit is clipped to it and the local engine never retries more."""
    step_deadline_s: int = DEFAULT_STEP_DEADLINE_S
    """STEP_DEADLINE_S: `activeDeadlineSeconds` of every detect/rescan step; past it Argo kills
    the pod and the local engine kills the worker process (the attempt fails, then retries)."""
    train_step_deadline_s: int = DEFAULT_TRAIN_STEP_DEADLINE_S
    """TRAIN_STEP_DEADLINE_S: the same for the steps of the training workflow."""
    max_jobs_in_flight_per_user: int = 4
    """MAX_JOBS_IN_FLIGHT_PER_USER: queued or running jobs one user may have; one more request
    is a 429 with Retry-After. 0 turns the check off."""
    jobs_retry_after_s: int = 5
    """JOBS_RETRY_AFTER_S: the Retry-After of that 429."""
    max_job_recoveries: int = 1
    """MAX_JOB_RECOVERIES: how often a job whose engine process died is requeued before it is
    failed instead (a job that kills its engine every time must not loop)."""
    orphan_grace_s: float = 3600.0
    """ORPHAN_GRACE_S: age after which a media document no job names, or a blob no media
    document names (an upload cut short by a database outage), is removed on start."""
    inference_restart_backoff_s: float = 1.0
    """INFERENCE_RESTART_BACKOFF_S: first wait before `detector serve` restarts a dead
    inference service; doubled after each quick death."""
    inference_restart_backoff_max_s: float = 60.0
    """INFERENCE_RESTART_BACKOFF_MAX_S: the longest such wait."""

    @classmethod
    def from_env(cls) -> Faults:
        return cls(
            max_step_retries=max(0, _env_int("MAX_STEP_RETRIES", cls.max_step_retries)),
            step_deadline_s=max(1, _env_int("STEP_DEADLINE_S", cls.step_deadline_s)),
            train_step_deadline_s=max(1, _env_int("TRAIN_STEP_DEADLINE_S",
                                                  cls.train_step_deadline_s)),
            max_jobs_in_flight_per_user=max(0, _env_int("MAX_JOBS_IN_FLIGHT_PER_USER",
                                                        cls.max_jobs_in_flight_per_user)),
            jobs_retry_after_s=max(1, _env_int("JOBS_RETRY_AFTER_S", cls.jobs_retry_after_s)),
            max_job_recoveries=max(0, _env_int("MAX_JOB_RECOVERIES", cls.max_job_recoveries)),
            orphan_grace_s=_env_float("ORPHAN_GRACE_S", cls.orphan_grace_s),
            inference_restart_backoff_s=_env_float("INFERENCE_RESTART_BACKOFF_S",
                                                   cls.inference_restart_backoff_s),
            inference_restart_backoff_max_s=_env_float("INFERENCE_RESTART_BACKOFF_MAX_S",
                                                       cls.inference_restart_backoff_max_s),
        )


# --- end of faults ---


# --- rescans, the scheduler and retention (issue 13) ------------------------------------------
@dataclass(frozen=True)
class Rescans:
    """Rescans, their scheduler and media retention; each set by the variable beside it."""

    schedule_on: bool = True  # RESCAN_SCHEDULE=off: `detector serve` runs no schedule
    batch_size: int = 50  # RESCAN_BATCH_SIZE: media per rescan-batch node
    max_media: int = 10_000  # RESCAN_MAX_MEDIA: media one rescan rescores at most
    tick_s: float = 30.0  # SCHEDULER_TICK_S: how often the scheduler looks at the clock
    retention_days: float | None = None  # RETENTION_DAYS: unset keeps media forever
    purge_batch: int = 500  # RETENTION_PURGE_BATCH: media deleted by one purge at most

    @classmethod
    def from_env(cls) -> Rescans:
        days = _env("RETENTION_DAYS")
        return cls(
            schedule_on=(_env("RESCAN_SCHEDULE") or "").lower() != "off",
            batch_size=max(1, _env_int("RESCAN_BATCH_SIZE", cls.batch_size)),
            max_media=max(1, _env_int("RESCAN_MAX_MEDIA", cls.max_media)),
            tick_s=max(0.1, _env_float("SCHEDULER_TICK_S", cls.tick_s)),
            retention_days=float(days) if days is not None else None,
            purge_batch=max(1, _env_int("RETENTION_PURGE_BATCH", cls.purge_batch)),
        )
# --- end of rescans ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthLimits:
    """Authentication and abuse limits; every one can be changed with the variable beside it.

    Rate limits are `limits` strings ("10/minute", "100/hour;1000/day"), counted in MongoDB so
    they hold across api replicas (`api.ratelimit`); "none" switches one off."""

    trusted_proxies: int = 0  # TRUSTED_PROXIES: reverse proxies in front (X-Forwarded-For hops)
    login_failures_per_name: str = "10/15 minutes"  # LOGIN_FAILURES_PER_NAME
    login_failures_per_address: str = "50/15 minutes"  # LOGIN_FAILURES_PER_ADDRESS
    login_hash_concurrency: int = 2  # LOGIN_HASH_CONCURRENCY: password hashes at once, a process
    login_hash_wait_s: float = 0.5  # LOGIN_HASH_WAIT_S: wait for a hashing slot, then 503
    uploads_per_user: str = "1200/minute"  # RATE_LIMIT_UPLOADS_PER_USER
    uploads_per_address: str = "2400/minute"  # RATE_LIMIT_UPLOADS_PER_ADDRESS
    sync_per_user: str = "1200/minute"  # RATE_LIMIT_SYNC_PER_USER: sync detections
    sync_per_address: str = "2400/minute"  # RATE_LIMIT_SYNC_PER_ADDRESS
    max_revoked_tokens: int = 1000  # MAX_REVOKED_TOKENS: logged-out tokens kept a user

    @classmethod
    def from_env(cls) -> AuthLimits:
        return cls(
            trusted_proxies=max(0, _env_int("TRUSTED_PROXIES", cls.trusted_proxies)),
            login_failures_per_name=_env("LOGIN_FAILURES_PER_NAME", cls.login_failures_per_name),
            login_failures_per_address=_env("LOGIN_FAILURES_PER_ADDRESS",
                                            cls.login_failures_per_address),
            login_hash_concurrency=max(1, _env_int("LOGIN_HASH_CONCURRENCY",
                                                   cls.login_hash_concurrency)),
            login_hash_wait_s=_env_float("LOGIN_HASH_WAIT_S", cls.login_hash_wait_s),
            uploads_per_user=_env("RATE_LIMIT_UPLOADS_PER_USER", cls.uploads_per_user),
            uploads_per_address=_env("RATE_LIMIT_UPLOADS_PER_ADDRESS", cls.uploads_per_address),
            sync_per_user=_env("RATE_LIMIT_SYNC_PER_USER", cls.sync_per_user),
            sync_per_address=_env("RATE_LIMIT_SYNC_PER_ADDRESS", cls.sync_per_address),
            max_revoked_tokens=max(1, _env_int("MAX_REVOKED_TOKENS", cls.max_revoked_tokens)),
        )


@dataclass(frozen=True)
class Webhooks:
    """Callbacks (`callback_url`): every limit of their delivery, each from the variable named."""

    allow_private: bool = False  # WEBHOOK_ALLOW_PRIVATE: loopback, link-local, private targets
    timeout_s: float = 5.0  # WEBHOOK_TIMEOUT_S: one POST, connect and read
    max_attempts: int = 6  # WEBHOOK_MAX_ATTEMPTS: then the callback is `failed`
    backoff_s: float = 2.0  # WEBHOOK_BACKOFF_S: wait after the first failure, doubled each time
    backoff_max_s: float = 300.0  # WEBHOOK_BACKOFF_MAX_S: the longest wait between attempts
    poll_s: float = 1.0  # WEBHOOK_POLL_S: how often the API looks for finished jobs to announce
    refresh_s: float = 5.0  # WEBHOOK_REFRESH_S: how often unfinished ones are asked of the engine
    queue_size: int = 256  # WEBHOOK_QUEUE_SIZE: deliveries waiting for the sender thread
    lease_s: float = 60.0  # WEBHOOK_LEASE_S: a delivery claimed by a process that died is retried
    max_url_chars: int = 2048  # WEBHOOK_MAX_URL_CHARS

    @classmethod
    def from_env(cls) -> Webhooks:
        return cls(
            allow_private=_env_bool("WEBHOOK_ALLOW_PRIVATE", cls.allow_private),
            timeout_s=_env_float("WEBHOOK_TIMEOUT_S", cls.timeout_s),
            max_attempts=max(1, _env_int("WEBHOOK_MAX_ATTEMPTS", cls.max_attempts)),
            backoff_s=_env_float("WEBHOOK_BACKOFF_S", cls.backoff_s),
            backoff_max_s=_env_float("WEBHOOK_BACKOFF_MAX_S", cls.backoff_max_s),
            poll_s=_env_float("WEBHOOK_POLL_S", cls.poll_s),
            refresh_s=_env_float("WEBHOOK_REFRESH_S", cls.refresh_s),
            queue_size=max(1, _env_int("WEBHOOK_QUEUE_SIZE", cls.queue_size)),
            lease_s=_env_float("WEBHOOK_LEASE_S", cls.lease_s),
            max_url_chars=_env_int("WEBHOOK_MAX_URL_CHARS", cls.max_url_chars),
        )


@dataclass(frozen=True)
class Scan:
    """`detector scan`: its batches, waits and HTTP limits, each from the variable named."""

    batch_files: int = 16  # SCAN_BATCH_FILES: files per job (local) or in flight (--api)
    poll_s: float = 0.5  # SCAN_POLL_S: how often progress is read
    timeout_s: float = 3600.0  # SCAN_TIMEOUT_S: the longest a scan waits for its jobs
    http_timeout_s: float = 60.0  # SCAN_HTTP_TIMEOUT_S: one request to --api
    known_pages: int = 50  # SCAN_KNOWN_PAGES: result pages (100 each) read from --api to skip
    # files already scored by the champion

    @classmethod
    def from_env(cls) -> Scan:
        return cls(
            batch_files=max(1, _env_int("SCAN_BATCH_FILES", cls.batch_files)),
            poll_s=_env_float("SCAN_POLL_S", cls.poll_s),
            timeout_s=_env_float("SCAN_TIMEOUT_S", cls.timeout_s),
            http_timeout_s=_env_float("SCAN_HTTP_TIMEOUT_S", cls.http_timeout_s),
            known_pages=max(0, _env_int("SCAN_KNOWN_PAGES", cls.known_pages)),
        )


@dataclass(frozen=True)
class Config:
    """Endpoints, folders, secrets and limits; `None` for an endpoint means the embedded part."""

    var_dir: Path
    media_root: Path
    scratch_root: Path
    mongo_uri: str | None
    mongo_db: str
    mlflow_tracking_uri: str
    argo_server: str | None
    argo_token: str | None
    argo_token_file: str | None
    """ARGO_TOKEN_FILE (unset): a file holding the Argo bearer token, read again whenever it
    changes, e.g. the api's projected ServiceAccount token that the kubelet rotates
    (k8s/base/api/api-deployment.yaml). It wins over ARGO_TOKEN, which stays for local use."""
    argo_namespace: str
    argo_verify_tls: bool
    argo_timeout_s: float
    argo_ui_url: str | None
    mlflow_ui_url: str | None
    """MLFLOW_UI_URL (unset: no links): the MLflow UI as users reach it; the page, the history
    and the models list link model versions there."""
    rescan_schedule: str | None
    inference_url: str | None
    inference_timeout_s: float
    token_ttl_s: int
    user_cache_ttl_s: float
    """USER_CACHE_TTL_S (default 30): how long the API reuses a token's user record instead of
    reading it again from MongoDB on every request. Disabling a user, a password change and a
    logout take effect at once on the replica that made them (it drops its cached record) and
    within this long on the others; admin routes always read the record afresh. 0 reads it
    every time."""
    sync_write_threads: int
    """SYNC_WRITE_THREADS (default 8): threads of the API process that write a sync job's
    MongoDB documents while the inference service scores it (`api.fastpath`)."""
    local_workers: int
    local_node_write_linger_s: float
    """LOCAL_NODE_WRITE_LINGER_S (default 0.25): how long the local engine's node-state writer
    waits after a change for more to write in the same batch; a running node shows up that much
    later in the API, a job's end is written at once."""
    local_in_flight_per_worker: int
    """LOCAL_IN_FLIGHT_PER_WORKER (default 2): steps the local engine hands to its worker pool
    at once, per worker; the other ready steps of all jobs wait their turn in the engine."""
    port: int
    champion_ttl_s: float
    """CHAMPION_TTL_S (default 300): how long a workflow step's process reuses the champion
    version it looked up before asking the registry again (a promotion)."""
    text_lm_path: Path
    """TEXT_LM_PATH (default models/weights/text-lm.npz, beside text.pt): the language models of
    human text behind the text detector's fluency features, written by `detector train` and
    loaded once per process wherever text is scored (`models.features.text_lm.served_lm`)."""
    rescans: Rescans = field(default_factory=lambda: Rescans())
    limits: Limits = field(default_factory=Limits)
    faults: Faults = field(default_factory=Faults)
    """Retry cap, step deadlines, per-user jobs in flight, job recovery, inference restarts."""
    auth: AuthLimits = field(default_factory=AuthLimits)
    webhooks: Webhooks = field(default_factory=Webhooks.from_env)
    scan: Scan = field(default_factory=Scan.from_env)
    # -- listeners and local secrets (issue 11) --------------------------------------------
    metrics_host: str = field(default_factory=lambda: _env("METRICS_HOST", "127.0.0.1"))
    """METRICS_HOST (default 127.0.0.1): address of the API's own Prometheus listener."""
    metrics_port: int = field(default_factory=lambda: _env_int("METRICS_PORT", 9100))
    """METRICS_PORT (default 9100; 0 = a free port): the API's `/metrics`, never on the
    public listener."""

    @property
    def jwt_secret(self) -> str:
        """JWT_SECRET, or a random key kept in var/jwt.key (0600). Read only when asked for: a
        process that never signs or checks a token (a worker) never loads it."""
        return _env("JWT_SECRET") or _local_secret(self.var_dir)

    @property
    def inference_token(self) -> str:
        """INFERENCE_TOKEN: the shared token the inference service asks of its callers; a random
        one kept in var/inference.token (0600) when unset."""
        return _env("INFERENCE_TOKEN") or _local_secret(self.var_dir, "inference.token")

    @classmethod
    def from_env(cls) -> Config:
        var_dir = Path(_env("DETECTOR_VAR_DIR", "var")).resolve()
        return cls(
            var_dir=var_dir,
            media_root=Path(_env("MEDIA_ROOT", str(var_dir / "media"))).resolve(),
            scratch_root=Path(_env("SCRATCH_ROOT", str(var_dir / "scratch"))).resolve(),
            mongo_uri=_env("MONGO_URI"),
            mongo_db=_env("MONGO_DB", "detector"),
            mlflow_tracking_uri=_env("MLFLOW_TRACKING_URI", f"sqlite:///{var_dir / 'mlflow.db'}"),
            argo_server=_env("ARGO_SERVER"),
            argo_token=_env("ARGO_TOKEN"),
            argo_token_file=_env("ARGO_TOKEN_FILE"),
            argo_namespace=_env("ARGO_NAMESPACE", "argo"),
            argo_verify_tls=_env_bool("ARGO_VERIFY_TLS", True),
            argo_timeout_s=_env_float("ARGO_TIMEOUT_S", 10.0),
            argo_ui_url=_env("ARGO_UI_URL"),
            mlflow_ui_url=_env("MLFLOW_UI_URL"),
            rescan_schedule=_env("RESCAN_SCHEDULE"),
            inference_url=_env("INFERENCE_URL"),
            inference_timeout_s=_env_float("INFERENCE_TIMEOUT_S", 30.0),
            token_ttl_s=_env_int("TOKEN_TTL_S", 3600),
            user_cache_ttl_s=_env_float("USER_CACHE_TTL_S", 30.0),
            sync_write_threads=_env_int("SYNC_WRITE_THREADS", 8),
            local_workers=_env_int("LOCAL_WORKERS", max(1, min(4, os.cpu_count() or 1))),
            local_node_write_linger_s=_env_float("LOCAL_NODE_WRITE_LINGER_S", 0.25),
            local_in_flight_per_worker=max(1, _env_int("LOCAL_IN_FLIGHT_PER_WORKER", 2)),
            port=_env_int("PORT", 8000),
            champion_ttl_s=_env_float("CHAMPION_TTL_S", 300.0),
            faults=Faults.from_env(),
            text_lm_path=text_lm_path(),
            rescans=Rescans.from_env(),
            limits=Limits.from_env(),
            auth=AuthLimits.from_env(),
        )

    @property
    def mlflow_artifact_root(self) -> Path:
        """Where a local MLflow keeps artifacts: MLFLOW_ARTIFACT_ROOT or var/mlartifacts."""
        return Path(_env("MLFLOW_ARTIFACT_ROOT", str(self.var_dir / "mlartifacts"))).resolve()

    @property
    def alias_audit_log(self) -> Path:
        """One JSON line per registry alias move: ALIAS_AUDIT_LOG or var/audit/alias-moves.jsonl."""
        return Path(_env("ALIAS_AUDIT_LOG", str(self.var_dir / "audit" / "alias-moves.jsonl")))


SECRET_VARS = ("JWT_SECRET", "ARGO_TOKEN", "DETECTOR_ADMIN_PASSWORD")
"""Secrets of the API process that processes decoding untrusted media must not inherit (the
local engine's workers, the inference service)."""


_SECRET_READ_TRIES = 200


def _local_secret(var_dir: Path, name: str = "jwt.key") -> str:
    """A random key kept in var/<name> so it survives restarts on one machine: the folder is
    made 0700 and the file created 0600 in one call (never readable by others, not even for
    a moment); a second process racing to create it reads the first one's key."""
    path = var_dir / name
    if not path.exists():
        var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(os.urandom(32).hex())
    for _ in range(_SECRET_READ_TRIES):  # another process may have created it, not yet written
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise RuntimeError(f"{name} under DETECTOR_VAR_DIR is empty; remove it to make a new one")


def text_lm_path() -> Path:
    """TEXT_LM_PATH alone (`Config.text_lm_path`), for the core's text features
    (`models.features.text_lm.served_lm`, which reads it once per process)."""
    return Path(_env("TEXT_LM_PATH", str(_WEIGHTS_DIR / "text-lm.npz"))).resolve()


OPENCV_PIXELS_VAR = "OPENCV_IO_MAX_IMAGE_PIXELS"
OPENCV_CAP_ERROR = "CV_IO_MAX_IMAGE_PIXELS"
"""What OpenCV's error (cv2.error) says when an image is over OPENCV_IO_MAX_IMAGE_PIXELS."""


def cap_opencv_pixels() -> None:
    """OpenCV reads its own decode cap, OPENCV_IO_MAX_IMAGE_PIXELS, once, when cv2 loads: set
    it to MAX_IMAGE_PIXELS unless set already. Runs when this module is imported; the packages
    that use cv2 (api, cli, models, steps) import this module first, in their __init__."""
    if not os.environ.get(OPENCV_PIXELS_VAR):
        os.environ[OPENCV_PIXELS_VAR] = str(Limits.from_env().max_image_pixels)


cap_opencv_pixels()


def get_config() -> Config:
    """The configuration as the environment says now (cheap; read on every call)."""
    return Config.from_env()
