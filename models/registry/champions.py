"""The one champion cache: what scores each modality, loaded once and loaded again when an alias
moves, either by a background thread (the inference service) or when asked after `reload_s`
(workflow steps, the CLI)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from models import MODALITIES
from models.features import speech, text_lm
from models.registry.client import MODEL_NAMES, load_model, model_identity
from models.registry.settings import RegistrySettings
from models.scoring import LoadedModel

log = logging.getLogger(__name__)

Listener = Callable[[str, LoadedModel], None]


class ChampionSet:
    """One loaded model per modality, swapped atomically when MLflow's `champion` alias moves.

    `check()` asks the registry what scores each modality (the champion's version, plus any
    `ensemble-*` members: `models.registry.client.model_identity`) and loads it when it differs
    from what is held; a failed lookup or load keeps the old model and is logged.
    `start()` runs `check()` in a daemon thread: at once, then every `reload_s` seconds (every
    `retry_s` while a modality still has no model). Requests read `get(modality)`, so a swap
    never interrupts a request in flight: it finishes with the model it started with.
    Callers without the thread (workflow steps) read `current(modality)`, which asks the
    registry again once `reload_s` has passed since its last answer.
    `warm_features` also loads what featurising needs (the text language models, the speech
    detector) with each model: the inference service featurises, a scoring step does not.
    """

    def __init__(
        self,
        registry: RegistrySettings | None = None,
        reload_s: float = 30.0,
        retry_s: float = 5.0,
        modalities: tuple[str, ...] = MODALITIES,
        warm_features: bool = True,
    ) -> None:
        self.registry = registry if registry is not None else RegistrySettings.from_env()
        self.reload_s = reload_s
        self.retry_s = retry_s
        self.modalities = modalities
        self.warm_features = warm_features
        self._models: dict[str, LoadedModel] = {}
        self._errors: dict[str, str] = {m: "not loaded yet" for m in modalities}
        self._answered: dict[str, float] = {}  # modality -> monotonic time of the last answer
        self._listeners: list[Listener] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._check_lock = threading.Lock()

    def get(self, modality: str) -> LoadedModel | None:
        """The model serving `modality` now, or None when none is loaded."""
        return self._models.get(modality)

    def current(self, modality: str) -> LoadedModel:
        """The model serving `modality`, first asking the registry whether it moved when the
        last answer is older than `reload_s`. LookupError when the modality has no champion,
        RuntimeError when none could be loaded."""
        with self._check_lock:
            answered = self._answered.get(modality)
            if answered is None or time.monotonic() - answered >= self.reload_s:
                outcome = self._check_one(modality)
                if outcome == "missing" and modality not in self._models:
                    raise LookupError(self._errors[modality])
            loaded = self._models.get(modality)
        if loaded is None:
            raise RuntimeError(self._errors.get(modality) or f"no {modality} model")
        return loaded

    def versions(self) -> dict[str, str | None]:
        """`{modality: loaded version or None}`."""
        return {m: getattr(self._models.get(m), "version", None) for m in self.modalities}

    def ready(self) -> tuple[bool, list[str]]:
        """(every modality has a model, reasons for those that have none)."""
        reasons = [
            f"{m}: {self._errors.get(m) or 'not loaded'}"
            for m in self.modalities if m not in self._models
        ]
        return not reasons, reasons

    def on_swap(self, listener: Listener) -> None:
        """Call `listener(modality, loaded)` after each load (metrics use it)."""
        self._listeners.append(listener)

    def check(self) -> dict[str, str]:
        """Look up every champion and load those that moved; `{modality: outcome}`.

        Outcomes: `unchanged`, `loaded`, `failed` (old model kept), `missing` (no alias).
        """
        with self._check_lock:
            return {m: self._check_one(m) for m in self.modalities}

    def _check_one(self, modality: str) -> str:
        current = self._models.get(modality)
        try:
            identity = model_identity(modality, self.registry)
        except Exception as exc:  # registry unreachable: keep serving what we have
            return self._failed(modality, f"champion lookup failed: {exc}")
        if identity is None:
            return self._failed(modality, f"{MODEL_NAMES[modality]} has no champion", "missing")
        if current is not None and current.identity == identity:
            self._answered[modality] = time.monotonic()
            return "unchanged"
        try:
            start = time.perf_counter()
            loaded = load_model(modality, self.registry)
            if self.warm_features and modality == "text":  # its language models, before the
                text_lm.warm()  # first request
            if self.warm_features and modality == "audio":  # the speech detector of its
                speech.warm()  # applicability check
        except Exception as exc:
            return self._failed(modality, f"loading {MODEL_NAMES[modality]} ({identity}): {exc}")
        self._models[modality] = loaded
        self._errors.pop(modality, None)
        self._answered[modality] = time.monotonic()
        log.info("serving %s v%s (was %s), loaded in %.2fs", loaded.name, loaded.version,
                 getattr(current, "version", None), time.perf_counter() - start)
        for listener in self._listeners:
            listener(modality, loaded)
        return "loaded"

    def _failed(self, modality: str, reason: str, outcome: str = "failed") -> str:
        self._errors[modality] = reason
        kept = self._models.get(modality)
        log.warning("%s%s", reason, f"; keeping v{kept.version}" if kept is not None else "")
        return outcome

    # -- background thread ----------------------------------------------------------------

    def start(self) -> ChampionSet:
        """Start the load/reload thread (idempotent); returns self."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="champion-reload",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the reload thread (it finishes a load in progress first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception:  # never let the thread die
                log.exception("champion check failed")
            wait = self.reload_s if self.ready()[0] else min(self.reload_s, self.retry_s)
            self._stop.wait(wait)


_shared: dict[tuple[RegistrySettings, float], ChampionSet] = {}
_shared_lock = threading.Lock()


def shared_champions(registry: RegistrySettings, reload_s: float) -> ChampionSet:
    """This process's `ChampionSet` for `registry`, without a background thread (workflow
    steps: each asks `current(modality)`, so a promotion is seen within `reload_s`)."""
    key = (registry, reload_s)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = ChampionSet(registry, reload_s=reload_s, warm_features=False)
        return _shared[key]
