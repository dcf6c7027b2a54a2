"""The web page in real headless Chromium: real app, engine, MongoDB and MLflow behind waitress."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from config import Config
from storage import results
from storage.db import get_db
from storage.users import create_user

DATA = Path("/usr/share/doc/opencv-doc/examples/data")
SPEECH = Path("/usr/share/pocketsphinx/test/data/cards/001.wav")
TEXT = (
    "The lighthouse keeper wrote to his sister every week. He told her about the storms, the "
    "gulls that nested under the gallery, and the ships that passed without stopping. She kept "
    "the letters in a biscuit tin and read them again each winter."
)
WAIT_S = 240


@pytest.fixture(scope="module")
def server(live_server: str) -> str:
    """The live app's base URL (tests/conftest.py)."""
    return live_server


@pytest.fixture
def browser(tmp_path: Path) -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1200,1600", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Shots:
    """Screenshots of page elements under the test's tmp dir, and SCREENSHOT_DIR when set."""

    def __init__(self, tmp_path: Path) -> None:
        self.dirs = [tmp_path / "screenshots"]
        if os.environ.get("SCREENSHOT_DIR"):
            self.dirs.append(Path(os.environ["SCREENSHOT_DIR"]))
        for folder in self.dirs:
            folder.mkdir(parents=True, exist_ok=True)

    def save(self, element, name: str) -> None:
        first = self.dirs[0] / f"{name}.png"
        element.parent.execute_script("arguments[0].scrollIntoView()", element)
        element.screenshot(str(first))
        for folder in self.dirs[1:]:
            shutil.copyfile(first, folder / first.name)


def _clip(path: Path) -> Path:
    """A 3 s mp4 of a real photo panned slowly."""
    photo = cv2.imread(str(DATA / "messi5.jpg"))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 240))
    for i in range(30):
        writer.write(np.ascontiguousarray(photo[20 : 260, 4 * i : 4 * i + 320]))
    writer.release()
    return path


def _canvas_inked(driver, element) -> bool:
    """Whether the canvas holds anything but transparent or one flat colour."""
    return driver.execute_script(
        "const c = arguments[0], d = c.getContext('2d').getImageData(0, 0, c.width, c.height)"
        ".data; for (let i = 4; i < d.length; i += 4) { if (d[i] !== d[0] || d[i + 1] !== d[1]"
        " || d[i + 2] !== d[2] || d[i + 3] !== d[3]) return true; } return false;", element)


def _card(driver, modality: str, root: str = "#summary"):
    from selenium.webdriver.common.by import By

    return driver.find_element(  # the scored one (a refused image has a card too)
        By.CSS_SELECTOR, f"{root} article[data-modality='{modality}']:not(.verdict-not_applicable)")


def test_page_draws_each_explanation_history_and_admin(
        server: str, module_env: Config, browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    driver, shots = browser, Shots(tmp_path)
    erin = create_user(get_db(), "erin", "erin-password", admin=True)
    create_user(get_db(), "finn", "finn-password")
    wait = WebDriverWait(driver, WAIT_S)
    find = driver.find_element
    driver.get(server + "/")
    find(By.NAME, "user").send_keys("erin")
    find(By.NAME, "password").send_keys("erin-password")
    find(By.CSS_SELECTOR, "#login button").click()
    wait.until(lambda d: "logged in as erin" in d.find_element(By.ID, "who").text)
    assert find(By.ID, "nav-admin").is_displayed()

    # an image, a sound, a video and a flat icon in one job; the progress shows while it runs
    clip = _clip(tmp_path / "clip.mp4")
    icon = tmp_path / "icon.png"
    cv2.imwrite(str(icon), np.full((40, 40, 3), 200, np.uint8))  # too small to score
    find(By.NAME, "file").send_keys(
        "\n".join(str(p) for p in (DATA / "messi5.jpg", SPEECH, clip, icon)))
    find(By.CSS_SELECTOR, "#detect button").click()
    wait.until(lambda d: "Job" in d.find_element(By.ID, "progress-text").text)
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#summary article")) == 4)
    refused = find(By.CSS_SELECTOR, "#summary article.verdict-not_applicable")
    assert "Not applicable" in refused.text and "Why no score: " in refused.text
    assert "64" in refused.find_element(By.CLASS_NAME, "reason").text  # the reason, in words
    shots.save(refused, "result-not-applicable")
    heatmap = wait.until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#summary canvas.heatmap[data-drawn]"))[0]
    waveform = wait.until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#summary canvas.waveform[data-shaded]"))[0]
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#summary canvas.frame[data-drawn]"))
    timeline = find(By.CSS_SELECTOR, "#summary canvas.timeline[data-drawn]")
    assert heatmap.get_property("width") > 100 and _canvas_inked(driver, heatmap)
    assert int(waveform.get_attribute("data-shaded")) > 0 and _canvas_inked(driver, waveform)
    assert _canvas_inked(driver, timeline)
    for modality in ("image", "audio", "video"):
        card = _card(driver, modality)
        assert f"detector-{modality}" in card.text and "score" in card.find_element(
            By.CLASS_NAME, "verdict").text
        shots.save(card, f"result-{modality}")

    # a pasted text: its sentences highlighted by score
    find(By.NAME, "file").clear()
    find(By.NAME, "text").send_keys(TEXT)
    find(By.CSS_SELECTOR, "#detect button").click()
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#summary article[data-modality='text']"))
    marks = find(By.CSS_SELECTOR, "#summary .text-evidence").find_elements(
        By.CSS_SELECTOR, "mark.sentence")
    assert len(marks) >= 3 and "".join(m.text for m in marks).replace(" ", "") in TEXT.replace(
        " ", "")
    assert all(m.get_attribute("class").split()[1].startswith("heat-") for m in marks)
    shots.save(_card(driver, "text"), "result-text")

    # history: 5 results here and 8 older ones seeded, 10 a page; then filtered; a job link
    # opens the job with its results drawn again
    for i in range(8):
        results.upsert_result(get_db(), {
            "job_id": f"old-job-{i}", "media_id": f"old-media-{i}", "owner": erin["user_id"],
            "modality": "text", "filename": f"old-{i}.txt", "sha256": "0" * 64, "score": 0.1,
            "verdict": "authentic", "model": {"name": "detector-text", "version": "1"},
            "explanation": {"unit": "sentence", "units": []},
            "created_at": datetime(2026, 1, 1 + i, tzinfo=UTC)})
    driver.get(server + "/#history")
    rows = "#history-table tbody tr"
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, rows)) == 10)
    assert "page 1 of 2 (13 results)" in find(By.ID, "history-page").text
    find(By.ID, "history-next").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, rows)) == 3)
    assert "page 2 of 2" in find(By.ID, "history-page").text
    assert "old-0.txt" in find(By.ID, "history-table").text  # the oldest, last
    assert not find(By.ID, "history-next").is_enabled()
    Select(find(By.NAME, "modality")).select_by_visible_text("audio")
    find(By.CSS_SELECTOR, "#history-filters button").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, rows)) == 1)
    shots.save(find(By.ID, "view-history"), "history")
    find(By.CSS_SELECTOR, f"{rows} a[href^='#job/']").click()
    wait.until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#job-results canvas.heatmap[data-drawn]"))
    served = wait.until(lambda d: d.find_elements(  # no File in hand: the server's envelope
        By.CSS_SELECTOR, "#job-results canvas.waveform[data-shaded]"))[0]
    assert _canvas_inked(driver, served)

    # admin: the users, model versions with the champion, the rescans, from the real routes
    from storage import jobs, rescans

    rescan = rescans.open_rescan(get_db(), "local", {"modality": "audio"},
                                 started_by=erin["user_id"])
    jobs.update_job(get_db(), rescan["job_id"], status="succeeded")  # nothing left to run
    driver.get(server + "/#admin")
    wait.until(lambda d: "detector-image" in d.find_element(By.ID, "admin-models").text)
    assert "★ champion" in find(By.ID, "admin-models").text
    wait.until(lambda d: "finn" in d.find_element(By.ID, "admin-users").text)
    assert "2 users" in find(By.ID, "admin-users").text
    wait.until(lambda d: rescan["job_id"] in d.find_element(By.ID, "admin-rescans").text)
    row = find(By.ID, "admin-rescans").text
    assert "succeeded" in row and "audio" in row and "not available" not in row
    shots.save(find(By.ID, "view-admin"), "admin")
    token = driver.execute_script("return sessionStorage.getItem('detector-token')")

    assert str(module_env.media_root) not in driver.page_source

    # log out; another, non-admin user sees no admin link and none of erin's results
    find(By.ID, "logout").click()
    wait.until(lambda d: d.find_element(By.ID, "login").is_displayed())
    import requests

    wait.until(lambda _d: requests.get(  # POST /auth/logout revoked it on the server
        f"{server}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"},
        timeout=10).status_code == 401)
    find(By.NAME, "user").clear()
    find(By.NAME, "user").send_keys("finn")
    find(By.NAME, "password").send_keys("finn-password")
    find(By.CSS_SELECTOR, "#login button").click()
    wait.until(lambda d: "logged in as finn" in d.find_element(By.ID, "who").text)
    assert not find(By.ID, "nav-admin").is_displayed()
    driver.get(server + "/#history")
    wait.until(lambda d: "(0 results)" in d.find_element(By.ID, "history-page").text)
    assert "explanations/" not in driver.page_source
    # script errors and CSP refusals; a 404 (favicon, an admin route not here) is network
    errors = [e for e in driver.get_log("browser")
              if e["level"] == "SEVERE" and e.get("source") != "network"]
    assert not errors, errors
