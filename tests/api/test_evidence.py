"""What the web page reads: evidence (peak frame, waveform), the filtered history, the model list,
and no internal path in any result JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest
from flask.testing import FlaskClient

from api.schemas import HistoryPage, ModelsList, Waveform
from config import get_config
from storage import jobs, results
from storage.db import get_db


def _detect(client: FlaskClient, headers: dict, body: dict, **kwargs) -> dict:
    """Submit, let the stand-in engine finish, and return the job's one result."""
    answer = client.post("/api/v1/detections", headers=headers, **kwargs, **body)
    assert answer.status_code in (200, 202), answer.json
    job = client.get(f"/api/v1/jobs/{answer.json['job_id']}", headers=headers).json
    assert job["status"] == "succeeded"
    return job["results"][0]


def _persist(result: dict, explanation: dict, **extra: object) -> None:
    """What the workflow's persist step does in the worker: draw the evidence files from the
    stored upload and record them on the result (`storage.evidence.build_result`)."""
    from storage.evidence import build_result
    from storage.media import get_media

    db = get_db()
    doc = build_result(get_config().media_root, result["job_id"], get_media(db, result["media_id"]),
                       {"score": 0.9, "verdict": "synthetic", "explanation": explanation,
                        **extra})
    results.upsert_result(db, doc)


def test_result_json_names_no_internal_path(client, auth, upload, samples) -> None:
    alice = auth.headers("alice")
    image = _detect(client, alice, {"data": upload((samples["photo"], "p.png"))})
    _persist(image, {"unit": "patch", "units": [{"box": [0, 0, 64, 64], "score": 0.9}]})
    for path in (f"/api/v1/results/{image['media_id']}", f"/api/v1/jobs/{image['job_id']}",
                 "/api/v1/results", "/api/v1/history"):
        text = client.get(path, headers=alice).get_data(as_text=True)
        assert "explanations/" not in text and '"heatmap": "/api/v1/results/' in text.replace(
            '":"', '": "'), (path, text)
    one = client.get(f"/api/v1/results/{image['media_id']}", headers=alice).json
    assert "heatmap" not in one["explanation"] and one["explanation"]["units"]
    heatmap = client.get(one["links"]["heatmap"], headers=alice)  # drawn by the worker
    assert heatmap.status_code == 200 and heatmap.data.startswith(b"\x89PNG")


def test_peak_frame_of_own_video_only(client, auth, upload, samples, detector_env) -> None:
    alice, bob = auth.headers("alice"), auth.headers("bob")
    video = _detect(client, alice, {"data": upload((samples["mp4"], "c.mp4"))})
    url = f"/api/v1/results/{video['media_id']}/frame"
    assert client.get(url, headers=alice).status_code == 404  # no frame drawn (stand-in engine)
    _persist(video, {"unit": "frame", "units": [
        {"time_s": 0.0, "score": 0.1, "box": [0, 0, 64, 48], "faces": []},
        {"time_s": 0.5, "score": 0.9, "box": [8, 8, 20, 20], "faces": [[30, 10, 10, 10]]}]})
    one = client.get(f"/api/v1/results/{video['media_id']}", headers=alice).json
    assert "frame" not in one["explanation"] and one["links"] == {"frame": url}
    answer = client.get(url, headers=alice)
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    frame = cv2.imdecode(np.frombuffer(answer.data, np.uint8), cv2.IMREAD_COLOR)
    assert frame.shape == (48, 64, 3)
    assert frame[8, 12].tolist() == [255, 255, 255]  # the peak unit's box, outlined
    assert int(frame[30, 50].mean()) == pytest.approx(100, abs=12)  # frame 5 of 10 (grey 100)
    stored = detector_env.media_root / "explanations" / video["job_id"]
    assert (stored / f"{video['media_id']}.frame.png").is_file()  # beside the heatmaps
    assert client.get(url, headers=bob).status_code == 404
    assert client.get(f"/api/v1/results/{video['media_id']}/waveform",
                      headers=alice).status_code == 404  # not a sound
    (stored / f"{video['media_id']}.frame.png").unlink()
    assert client.get(url, headers=alice).status_code == 404  # recorded, but the file is gone


def test_waveform_of_own_sound_only(client, auth, upload, samples) -> None:
    alice, bob = auth.headers("alice"), auth.headers("bob")
    sound = _detect(client, alice, {"data": upload((samples["wav"], "s.wav"))})
    url = f"/api/v1/results/{sound['media_id']}/waveform"
    assert client.get(url, headers=alice).status_code == 404  # nothing stored yet
    _persist(sound, {"unit": "segment", "units": [{"start_s": 0.0, "end_s": 1.0, "score": 0.9}]})
    body = client.get(url, headers=alice).json
    Waveform.model_validate(body)
    assert body["duration_s"] == pytest.approx(1.0, abs=0.01)
    assert len(body["peaks"]) == 800
    assert max(high for _low, high in body["peaks"]) == pytest.approx(0.3, abs=0.02)
    assert min(low for low, _high in body["peaks"]) == pytest.approx(-0.3, abs=0.02)
    assert client.get(url, headers=bob).status_code == 404
    assert client.get(f"/api/v1/results/{sound['media_id']}/frame",
                      headers=alice).status_code == 404


def test_sync_path_stores_the_services_envelope_without_decoding(client, auth, upload, samples,
                                                                 monkeypatch) -> None:
    """The API's sync path (`lazy_heatmap`) writes the envelope the inference service sent and
    never decodes the upload itself."""
    import models.media.decode

    def refuse(*_args: object) -> None:
        raise AssertionError("the API process decoded an upload")

    monkeypatch.setattr(models.media.decode, "decode_audio", refuse)
    alice = auth.headers("alice")
    sound = _detect(client, alice, {"data": upload((samples["wav"], "s.wav"))})
    from storage.evidence import build_result
    from storage.media import get_media

    media_root = get_config().media_root
    item = get_media(get_db(), sound["media_id"])
    envelope = {"duration_s": 2.0, "peaks": [[-0.5, 0.5], [-0.25, 0.25]]}
    bare = build_result(media_root, sound["job_id"], item, {"explanation": {}}, lazy_heatmap=True)
    assert "waveform" not in bare["explanation"]  # nothing sent: nothing decoded, nothing kept
    results.upsert_result(get_db(), build_result(
        media_root, sound["job_id"], item, {"explanation": {}, "waveform": envelope},
        lazy_heatmap=True))
    url = f"/api/v1/results/{sound['media_id']}/waveform"
    assert client.get(url, headers=alice).json == envelope


def test_history_filters_and_pages_own_results(client, auth, upload, samples, make_app,
                                               monkeypatch) -> None:
    alice, bob = auth.headers("alice"), auth.headers("bob")
    _detect(client, alice, {"data": upload((samples["png"], "a.png"))})
    sound = _detect(client, alice, {"data": upload((samples["wav"], "b.wav"))})
    _detect(client, alice, {"json": {"text": samples["txt"].decode()}})
    _detect(client, bob, {"data": upload((samples["png2"], "c.png"))})
    today = datetime.now(UTC).date()

    def listed(query: str, who: dict = alice) -> dict:
        answer = client.get(f"/api/v1/history?{query}", headers=who)
        assert answer.status_code == 200, answer.json
        return answer.json

    assert listed("")["total"] == 3 and listed("", bob)["total"] == 1
    HistoryPage.model_validate(listed(""))  # what the OpenAPI document says it is
    audio = listed("modality=audio")
    assert audio["total"] == 1 and audio["items"][0]["media_id"] == sound["media_id"]
    assert audio["items"][0]["links"] == {"job": f"/api/v1/jobs/{sound['job_id']}",
                                          "argo_ui": None, "mlflow": None}
    assert listed("verdict=authentic")["total"] == 3 and listed("verdict=synthetic")["total"] == 0
    assert listed(f"since={today}&until={today}")["total"] == 3
    assert listed(f"since={today + timedelta(days=1)}")["total"] == 0
    assert listed(f"until={today - timedelta(days=1)}")["total"] == 0
    second = listed("per_page=2&page=2")
    assert (second["total"], second["page"], second["per_page"], len(second["items"])) == (
        3, 2, 2, 1)
    newest_first = [r["created_at"] for r in listed("")["items"]]
    assert newest_first == sorted(newest_first, reverse=True)
    for bad in ("modality=pdf", "verdict=fake", "since=yesterday", "page=0", "per_page=101"):
        assert client.get(f"/api/v1/history?{bad}", headers=alice).status_code == 400, bad
    monkeypatch.setenv("MLFLOW_UI_URL", "https://mlflow.example.com/")
    client = make_app(ARGO_UI_URL="https://argo.example.com/").test_client()  # read at build
    jobs.update_job(get_db(), sound["job_id"], engine_ref={
        "engine": "argo", "namespace": "detector", "name": "detect-ab12", "uid": "u1"})
    links = listed("modality=audio")["items"][0]["links"]
    assert links["mlflow"] == "https://mlflow.example.com/#/models/detector-audio/versions/1"
    assert links["argo_ui"] == "https://argo.example.com/workflows/detector/detect-ab12?uid=u1"
    assert client.get("/api/v1/history").status_code == 401


def test_model_versions_with_champion_for_admins_only(client, auth) -> None:
    from models.registry.client import champion_version, ensure_baselines

    ensure_baselines()
    assert client.get("/api/v1/models", headers=auth.headers("alice")).status_code == 403
    body = client.get("/api/v1/models", headers=auth.headers("root", admin=True)).json
    ModelsList.model_validate(body)
    assert [m["modality"] for m in body["models"]] == ["image", "audio", "video", "text"]
    for model in body["models"]:
        assert model["name"] == f"detector-{model['modality']}"
        assert model["champion"] == champion_version(model["modality"])
        holders = [v["version"] for v in model["versions"] if "champion" in v["aliases"]]
        assert holders == [model["champion"]]
