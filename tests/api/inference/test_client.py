"""InferenceClient against the real server (waitress on a free port) and a closed port."""

from __future__ import annotations

from pathlib import Path

import pytest
from serving_helpers import TEXT, serve_in_thread, stop_server

from api.inference.app import create_app
from api.inference.client import InferenceClient, InferenceRejected, InferenceUnavailable
from api.inference.service import shutdown
from api.inference.settings import ServingSettings
from config import Config
from models.registry.champions import ChampionSet
from models.registry.settings import RegistrySettings


def test_client_scores_through_the_real_server(live_url: str, jpeg: Path, wav: Path,
                                               champions: ChampionSet,
                                               detector_env: Config) -> None:
    client = InferenceClient(live_url, detector_env.inference_token, timeout_s=30)
    assert client.ready()
    image = client.score_file(jpeg, "photo.jpg")
    assert image["modality"] == "image"
    assert image["model"] == {"name": "detector-image", "version": champions.get("image").version}
    audio = client.score_file(wav, modality="audio")
    assert audio["modality"] == "audio" and audio["timings_ms"]["total"] > 0
    text = client.score_text(TEXT)
    assert text["model"]["version"] == champions.get("text").version


def test_client_raises_rejected_on_4xx(live_url: str, tmp_path: Path,
                                       detector_env: Config) -> None:
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + b"0" * 100)
    client = InferenceClient(live_url, detector_env.inference_token)
    with pytest.raises(InferenceRejected) as info:
        client.score_file(pdf)
    assert info.value.status == 415
    assert info.value.body["error"]["code"] == info.value.code == "unsupported_type"
    assert info.value.message.startswith("doc.pdf: ")
    with pytest.raises(InferenceRejected) as info:
        client.score_text("too short")
    assert info.value.status == 422


def test_rejected_reads_the_code_and_message_of_any_answer() -> None:
    json_answer = InferenceRejected(400, {"error": {"code": "bad_json", "message": "not JSON"}})
    assert (json_answer.code, json_answer.message) == ("bad_json", "not JSON")
    assert str(json_answer) == "400: not JSON"
    proxy_page = InferenceRejected(413, "<html>too big</html>")  # not the service's JSON
    assert (proxy_page.code, proxy_page.message) == ("too_large", "<html>too big</html>")


def test_client_raises_unavailable_on_a_closed_port(closed_port: int, jpeg: Path) -> None:
    client = InferenceClient(f"http://127.0.0.1:{closed_port}", "any-token", timeout_s=2)
    assert not client.ready()
    with pytest.raises(InferenceUnavailable):
        client.score_file(jpeg)
    with pytest.raises(InferenceUnavailable):
        client.score_text(TEXT)


def test_client_raises_unavailable_on_5xx(detector_env: Config) -> None:
    cold = create_app(ChampionSet(RegistrySettings.from_config(detector_env)), ServingSettings(),
                      start=False)  # no model loaded: 503
    url, server = serve_in_thread(cold)
    try:
        client = InferenceClient(url, detector_env.inference_token)
        assert not client.ready()
        with pytest.raises(InferenceUnavailable, match="503"):
            client.score_text(TEXT)
    finally:
        stop_server(server)
        shutdown(cold)


def test_a_wrong_token_is_unavailable_not_bad_input(live_url: str) -> None:
    client = InferenceClient(live_url, "not-the-token", timeout_s=30)
    with pytest.raises(InferenceUnavailable, match="INFERENCE_TOKEN"):
        client.score_text("Some words written here to be scored by the service.")
