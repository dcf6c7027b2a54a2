"""Jobs and results: owner isolation, pagination newest first, parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask.testing import FlaskClient

from storage import results
from storage.db import get_db


def _detect(client: FlaskClient, headers: dict, data: bytes, upload) -> dict:
    response = client.post("/api/v1/detections", headers=headers, data=upload((data, "a.png")))
    assert response.status_code == 200, response.json
    return response.json


def test_users_see_only_their_own(client: FlaskClient, auth, samples, upload) -> None:
    alice, bob = auth.headers("alice"), auth.headers("bob")
    body = _detect(client, alice, samples["png"], upload)
    job_id, media_id = body["job_id"], body["results"][0]["media_id"]

    assert client.get(f"/api/v1/jobs/{job_id}", headers=alice).status_code == 200
    assert client.get(f"/api/v1/results/{media_id}", headers=alice).status_code == 200
    for url in (f"/api/v1/jobs/{job_id}", f"/api/v1/results/{media_id}"):
        response = client.get(url, headers=bob)
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    listing = client.get("/api/v1/results", headers=bob).json
    assert listing == {"items": [], "page": 1, "per_page": 20, "total": 0}


def test_job_document(client: FlaskClient, auth, samples, engine, upload) -> None:
    headers = auth.headers()
    body = _detect(client, headers, samples["png"], upload)
    job = client.get(f"/api/v1/jobs/{body['job_id']}", headers=headers).json
    assert job["status"] == "succeeded" and job["engine"] == "fake" and job["error"] is None
    assert job["nodes"] == {} and job["created_at"].endswith("+00:00")
    assert job["results"] == body["results"] and engine.refreshed == [body["job_id"]]


def test_refresh_failure_shows_stored_status(client: FlaskClient, auth, samples, engine, upload):
    headers = auth.headers()
    job_id = _detect(client, headers, samples["png"], upload)["job_id"]

    def broken(job_id: str) -> None:
        raise ConnectionError("argo unreachable")

    engine.refresh = broken
    response = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
    assert response.status_code == 200 and response.json["status"] == "succeeded"


def test_results_newest_first_paged(client: FlaskClient, auth, samples, upload) -> None:
    headers = auth.headers()
    first = _detect(client, headers, samples["png"], upload)["results"][0]
    second = _detect(client, headers, samples["png2"], upload)["results"][0]
    db = get_db()  # make the order certain: the second a minute later
    later = datetime.now(UTC) + timedelta(minutes=1)
    results.upsert_result(db, {"job_id": second["job_id"], "media_id": second["media_id"],
                               "created_at": later})
    page1 = client.get("/api/v1/results?page=1&per_page=1", headers=headers).json
    page2 = client.get("/api/v1/results?page=2&per_page=1", headers=headers).json
    assert page1["total"] == page2["total"] == 2 and page1["per_page"] == 1
    assert [i["media_id"] for i in page1["items"] + page2["items"]] == [
        second["media_id"], first["media_id"]]
    assert client.get("/api/v1/results?page=3&per_page=1", headers=headers).json["items"] == []


def test_latest_result_for_media(client: FlaskClient, auth, samples, upload) -> None:
    headers = auth.headers()
    result = _detect(client, headers, samples["png"], upload)["results"][0]
    got = client.get(f"/api/v1/results/{result['media_id']}", headers=headers).json
    assert got == result
    assert client.get("/api/v1/results/" + "0" * 32, headers=headers).status_code == 404


@pytest.mark.parametrize("query", ["page=0", "page=x", "per_page=0", "per_page=101",
                                   "per_page=-1", "page=1.5"])
def test_bad_page_parameters(client: FlaskClient, auth, query: str) -> None:
    response = client.get(f"/api/v1/results?{query}", headers=auth.headers())
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_parameter"
