"""The page in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`)
driven by Selenium uploads a digit through the page of a server on 127.0.0.1 and reads the
label shown. A screenshot is written beside the test's files (its path is printed).

`make test-browser` installs what this needs and runs it; elsewhere it is skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lamina import load_learner

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None or DRIVER is None,
        reason="chromium and chromedriver are absent (make test-browser)",
    ),  # fmt: skip
]


def _browser():
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=900,900"):  # fmt: skip
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))


def test_the_page_predicts_an_uploaded_digit(serve_app, digits_export, digit_png, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    expected = load_learner(digits_export).predict(digit_png)[0]
    browser = _browser()
    try:
        with serve_app(digits_export) as url:
            browser.get(f"{url}/")
            wait = WebDriverWait(browser, 60)
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            browser.find_element(By.ID, "file").send_keys(str(Path(digit_png).resolve()))
            result = browser.find_element(By.ID, "result")
            wait.until(lambda b: result.get_attribute("data-state") in ("done", "error"))
            shot = tmp_path / "page.png"
            browser.save_screenshot(str(shot))
            print(f"screenshot: {shot}")
            assert browser.find_element(By.ID, "error").text == ""
            assert browser.find_element(By.ID, "label").text == expected
            bars = browser.find_elements(By.CSS_SELECTOR, "#bars .bar")
            assert len(bars) == 4  # every class of this 4-class model, most probable first
            assert bars[0].find_element(By.CLASS_NAME, "name").text == expected
    finally:
        browser.quit()
    assert shot.stat().st_size > 1000


def test_the_page_classifies_a_typed_text(serve_app, text_export, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    text = "Return the value of the named attribute of the object."
    expected = load_learner(text_export).predict(text)[0]
    browser = _browser()
    try:
        with serve_app(text_export) as url:
            browser.get(f"{url}/")
            wait = WebDriverWait(browser, 60)
            wait.until(lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-ready"))
            assert (
                "text model (awd_lstm_clas): 2 classes" in browser.find_element(By.ID, "about").text
            )
            browser.find_element(By.TAG_NAME, "textarea").send_keys(text)
            browser.find_element(By.CSS_SELECTOR, "#row button").click()
            result = browser.find_element(By.ID, "result")
            wait.until(lambda b: result.get_attribute("data-state") in ("done", "error"))
            browser.save_screenshot(str(tmp_path / "text_page.png"))
            print(f"screenshot: {tmp_path / 'text_page.png'}")
            assert browser.find_element(By.ID, "error").text == ""
            assert browser.find_element(By.ID, "label").text == expected
            assert len(browser.find_elements(By.CSS_SELECTOR, "#bars .bar")) == 2
    finally:
        browser.quit()
