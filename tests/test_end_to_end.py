"""End to end over real HTTP: one file of each modality, real engine, MongoDB and MLflow."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
import requests

from storage.db import get_db
from storage.users import create_user

DATA = Path("/usr/share/doc/opencv-doc/examples/data")
SPEECH = Path("/usr/share/pocketsphinx/test/data/cards/001.wav")
TEXT = (
    "The lighthouse keeper wrote to his sister every week. He told her about the storms, the "
    "gulls that nested under the gallery, and the ships that passed without stopping. She kept "
    "the letters in a biscuit tin and read them again each winter."
)


@pytest.fixture(scope="module")
def server(live_server: str) -> str:
    """The live app's base URL (tests/conftest.py)."""
    return live_server


def _token(base: str, name: str) -> dict[str, str]:
    create_user(get_db(), name, f"{name}-password")
    answer = requests.post(f"{base}/api/v1/auth/token", auth=(name, f"{name}-password"), timeout=10)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _clip(path: Path) -> Path:
    """A 3 s mp4 of a real photo panned slowly (OpenCV can write mp4v here)."""
    photo = cv2.imread(str(DATA / "messi5.jpg"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for i in range(30):
        writer.write(np.ascontiguousarray(photo[20 : 260, 4 * i : 4 * i + 320]))
    writer.release()
    return path


def _wait_job(base: str, headers: dict[str, str], url: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = requests.get(f"{base}{url}", headers=headers, timeout=10).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {url} did not finish in {timeout}s")


def test_each_modality_through_the_http_api(server: str, tmp_path: Path) -> None:
    alice = _token(server, "alice")
    files = [
        ("file", ("messi.jpg", (DATA / "messi5.jpg").read_bytes(), "image/jpeg")),
        ("file", ("speech.wav", SPEECH.read_bytes(), "audio/wav")),
    ]
    sync = requests.post(f"{server}/api/v1/detections?mode=sync", files=files, headers=alice,
                         timeout=300)
    assert sync.status_code == 200, sync.text
    text = requests.post(f"{server}/api/v1/detections", json={"text": TEXT}, headers=alice,
                         timeout=300)
    assert text.status_code == 200, text.text
    clip = _clip(tmp_path / "clip.mp4")
    video = requests.post(f"{server}/api/v1/detections", headers=alice, timeout=60,
                          files={"file": ("clip.mp4", clip.read_bytes(), "video/mp4")})
    assert video.status_code == 202, video.text  # video defaults to async
    job = _wait_job(server, alice, video.json()["status_url"])
    assert job["status"] == "succeeded", job["error"]

    results = sync.json()["results"] + text.json()["results"] + job["results"]
    assert [r["modality"] for r in results] == ["image", "audio", "text", "video"]
    for result in results:
        assert result["model"]["name"] == f"detector-{result['modality']}"
        assert result["model"]["version"]
        assert 0.0 <= result["score"] <= 1.0
        assert result["verdict"] in ("synthetic", "authentic", "uncertain")
        assert result["explanation"]
        assert len(result["sha256"]) == 64

    listed = requests.get(f"{server}/api/v1/results?per_page=10", headers=alice, timeout=10)
    assert listed.json()["total"] == 4
    one = requests.get(f"{server}/api/v1/results/{results[0]['media_id']}", headers=alice,
                       timeout=10)
    assert one.json()["score"] == results[0]["score"]

    image = results[0]
    heatmap = requests.get(f"{server}{image['links']['heatmap']}", headers=alice, timeout=10)
    assert heatmap.status_code == 200 and heatmap.content.startswith(b"\x89PNG")

    bob = _token(server, "bob")  # another user sees none of it
    assert requests.get(f"{server}{image['links']['heatmap']}", headers=bob,
                        timeout=10).status_code == 404
    assert requests.get(f"{server}{video.json()['status_url']}", headers=bob,
                        timeout=10).status_code == 404
    assert requests.get(f"{server}/api/v1/results/{results[0]['media_id']}", headers=bob,
                        timeout=10).status_code == 404
    assert requests.get(f"{server}/api/v1/results", headers=bob, timeout=10).json()["total"] == 0


def test_bad_upload_is_refused_and_server_keeps_serving(server: str) -> None:
    carol = _token(server, "carol")
    truncated = (DATA / "messi5.jpg").read_bytes()[:5000]
    answer = requests.post(f"{server}/api/v1/detections", headers=carol, timeout=30,
                           files={"file": ("cut.jpg", truncated, "image/jpeg")})
    assert answer.status_code == 422
    assert "cut.jpg" in answer.json()["error"]["message"]
    assert get_db().media.find_one({"filename": "cut.jpg"}) is None
    assert requests.get(f"{server}/healthz", timeout=10).status_code == 200


def test_upload_page_in_chromium(server: str, tmp_path: Path) -> None:
    """A person's path: open the page in real headless Chromium, log in, paste text, submit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    create_user(get_db(), "dora", "dora-password")
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(server + "/")
        driver.find_element(By.NAME, "user").send_keys("dora")
        driver.find_element(By.NAME, "password").send_keys("dora-password")
        driver.find_element(By.CSS_SELECTOR, "#login button").click()
        WebDriverWait(driver, 20).until(
            lambda d: "logged in" in d.find_element(By.ID, "who").text)
        driver.find_element(By.NAME, "text").send_keys(TEXT)
        driver.find_element(By.CSS_SELECTOR, "#detect button").click()
        WebDriverWait(driver, 240).until(
            lambda d: "detector-text" in d.find_element(By.ID, "summary").text)
        line = driver.find_element(By.ID, "summary").text
        driver.save_screenshot(str(tmp_path / "page.png"))
    finally:
        driver.quit()
    assert any(v in line for v in ("synthetic", "authentic", "uncertain")), line
    assert "score" in line
