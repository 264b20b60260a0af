"""preserve serve: the API behind the page (uploads, limits, the bounded queue) and the page in a real
browser (headless Chromium from Debian, driven by Selenium)."""

from __future__ import annotations

import asyncio
import io
import shutil
import socket
import threading
import time

import pytest
from PIL import Image

from helpers import PHOTOS, ROOT

fastapi = pytest.importorskip("fastapi", reason="the [web] extra (FastAPI, uvicorn) is not installed")
from fastapi.testclient import TestClient  # noqa: E402

from preserve.serve import Busy, ServeConfig, Stylizer, create_app  # noqa: E402
from preserve.styles import list_styles  # noqa: E402

STYLE = next(name for name in list_styles() if not name.endswith("-faces"))


@pytest.fixture(scope="module")
def client():
    return TestClient(create_app(ServeConfig(photos=PHOTOS, max_megapixels=2.0)))


def test_the_page_and_its_options(client):
    assert "preserve" in client.get("/").text
    options = client.get("/api/options").json()
    assert STYLE in options["styles"] and not any(s.endswith("-faces") for s in options["styles"])
    assert "grace_hopper.jpg" in options["examples"]
    assert client.get("/api/example/grace_hopper.jpg").content == (PHOTOS / "grace_hopper.jpg").read_bytes()
    assert client.get("/api/example/..%2Fsecret").status_code == 404


def test_an_upload_comes_back_stylized_at_its_own_size(client):
    data = (PHOTOS / "dog.jpg").read_bytes()
    answer = client.post("/api/stylize", files={"photo": ("dog.jpg", data, "image/jpeg")},
                         data={"style": STYLE, "strength": "0.8", "faces": "true", "color": "true"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    png = Image.open(io.BytesIO(__import__("base64").b64decode(body["image"].split(",", 1)[1])))
    assert png.size == Image.open(PHOTOS / "dog.jpg").size == (body["width"], body["height"])
    assert body["seconds"] > 0
    example = client.post("/api/stylize", data={"example_name": "kite.jpg", "style": STYLE})
    assert example.status_code == 200


def test_face_zoom_repaints_a_small_face(client):
    import base64

    import numpy as np

    small = io.BytesIO()
    Image.open(PHOTOS / "astronaut.jpg").resize((160, 160), Image.LANCZOS).save(small, "PNG")  # face ~26 px
    results = []
    for zoom in ("false", "true"):
        answer = client.post("/api/stylize", files={"photo": ("a.png", small.getvalue(), "image/png")},
                             data={"style": STYLE, "faces": "true", "zoom": zoom})
        assert answer.status_code == 200, answer.text
        png = Image.open(io.BytesIO(base64.b64decode(answer.json()["image"].split(",", 1)[1])))
        results.append(np.asarray(png.convert("RGB"), dtype=np.int16))
    changed = np.abs(results[0] - results[1]).max(axis=2) > 8
    assert changed[20:60, 50:85].mean() > 0.3 and changed[100:].mean() == 0  # the face, not the body below


@pytest.mark.parametrize("payload, message", [
    (b"this is not a picture", "not an image"),
    ((PHOTOS / "dog.jpg").read_bytes()[:2000], "cannot be decoded"),
    (b"", "empty"),
])
def test_refused_uploads_get_a_message(client, payload, message):
    answer = client.post("/api/stylize", files={"photo": ("x.jpg", payload, "image/jpeg")}, data={"style": STYLE})
    assert answer.status_code == 400 and message in answer.json()["error"]


def test_limits_and_bad_options(client):
    big = io.BytesIO()
    Image.new("RGB", (2000, 1500)).save(big, "PNG")
    answer = client.post("/api/stylize", files={"photo": ("big.png", big.getvalue(), "image/png")},
                         data={"style": STYLE})
    assert answer.status_code == 400 and "megapixels" in answer.json()["error"]
    assert "unknown style" in client.post("/api/stylize", data={"example_name": "kite.jpg",
                                                               "style": "nope"}).json()["error"]
    assert client.post("/api/stylize", data={"style": STYLE}).status_code == 400  # no photo at all
    assert client.post("/api/stylize", data={"example_name": "kite.jpg", "style": STYLE,
                                             "strength": "3"}).status_code == 400


def test_a_second_request_waits_and_a_full_queue_says_busy():
    import torch

    stylizer = Stylizer(ServeConfig(queue=1))
    order = []

    def slow(image, options):
        order.append(options["n"])
        time.sleep(0.3)
        return image, 0.3

    stylizer.run = slow

    async def three():
        image = torch.zeros(3, 4, 4)
        jobs = [asyncio.ensure_future(stylizer.submit(image, {"n": n})) for n in range(3)]
        return await asyncio.gather(*jobs, return_exceptions=True)

    results = asyncio.run(three())
    assert [isinstance(r, Busy) for r in results] == [False, False, True]  # one runs, one waits, one refused
    assert order == [0, 1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not chromium or not driver_path:
        pytest.skip("the browser tests need Debian's chromium and chromium-driver "
                    "(apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="the browser tests need selenium (preserve[dev])")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server():
    import uvicorn

    port = _free_port()
    app = create_app(ServeConfig(photos=PHOTOS))
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    instance.should_exit = True
    thread.join(timeout=10)


def _wait(driver, condition, seconds=120):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, seconds).until(condition)


def test_the_page_stylizes_an_uploaded_photo_in_a_browser(browser, server, tmp_path):
    import os

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get(server)
    _wait(browser, lambda d: len(Select(d.find_element(By.ID, "style")).options) > 0)
    Select(browser.find_element(By.ID, "style")).select_by_value(STYLE)
    browser.find_element(By.ID, "photo").send_keys(str(PHOTOS / "grace_hopper.jpg"))
    browser.find_element(By.ID, "go").click()
    _wait(browser, lambda d: d.execute_script("return document.getElementById('result').naturalWidth") > 0)
    size = browser.execute_script("const r = document.getElementById('result'); return [r.naturalWidth, r.naturalHeight]")
    assert tuple(size) == Image.open(PHOTOS / "grace_hopper.jpg").size
    assert "result" in browser.find_element(By.ID, "caption").text and " s" in browser.find_element(By.ID, "caption").text
    assert browser.find_element(By.ID, "download").get_attribute("href").startswith("data:image/png")
    if os.environ.get("PRESERVE_DOCS_SCREENSHOT"):  # regenerate the README's picture of the page
        browser.save_screenshot(str(ROOT / "docs" / "images" / "serve.png"))


def test_the_page_shows_a_message_for_a_corrupt_file(browser, server, tmp_path):
    from selenium.webdriver.common.by import By

    corrupt = tmp_path / "broken.jpg"
    corrupt.write_bytes((PHOTOS / "dog.jpg").read_bytes()[:1500])
    browser.get(server)
    _wait(browser, lambda d: d.find_element(By.ID, "style").get_attribute("value"))
    browser.find_element(By.ID, "photo").send_keys(str(corrupt))
    browser.find_element(By.ID, "go").click()
    _wait(browser, lambda d: "cannot be decoded" in d.find_element(By.ID, "message").text, 60)
    assert "error" in browser.find_element(By.ID, "message").get_attribute("class")
    assert "Traceback" not in browser.page_source
