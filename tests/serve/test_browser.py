"""The web page in a real browser: draw a letter with the mouse, upload a picture.

Starts the server with uvicorn on a free 127.0.0.1 port in a thread, opens `/` in
Debian's headless Chromium driven by Playwright, and checks the prediction the page shows.
Needs /usr/bin/chromium (.ci/run installs it) and the shipped `letters` model;
CHARREC_LETTERS_MODEL may name another letters model (a run folder) to try.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from PIL import Image

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).is_file(),
        reason="Debian's chromium is not installed at /usr/bin/chromium (apt install chromium)",
    ),
]

# A capital T drawn with two strokes, in units of its box (x, y in 0..1).
T_STROKES = (((0.05, 0.0), (0.95, 0.0)), ((0.5, 0.0), (0.5, 1.0)))


def _letters_model() -> str:
    from charrec.infer.pretrained import is_pretrained

    model = os.environ.get("CHARREC_LETTERS_MODEL") or "letters"
    if model == "letters" and not is_pretrained("letters"):
        pytest.skip("the shipped letters model is not in charrec/infer/weights/letters")
    return model


@pytest.fixture(scope="module")
def server_url():
    import uvicorn

    from charrec.infer.pretrained import is_pretrained
    from charrec.serve import create_app
    from charrec.serve.loadtest import free_port

    port = free_port()
    # The shipped alphanumeric model (62 classes) keeps the cases apart: the page says the case.
    models = [_letters_model(), *(["alphanumeric"] if is_pretrained("alphanumeric") else [])]
    config = uvicorn.Config(create_app(models), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server_url):
    context = browser.new_context(viewport={"width": 900, "height": 700})
    page = context.new_page()
    outside = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith((server_url, "data:", "blob:")) else outside.append(r.url)
        ),
    )
    page.goto(server_url + "/")
    page.wait_for_selector("#model option", state="attached")
    yield page
    context.close()
    assert not outside, f"the page fetched from outside the server: {outside}"


def _settled(page) -> None:
    """Wait until the page shows the answer to its latest drawing or upload."""
    page.wait_for_function("document.body.dataset.pending === '0'", timeout=30_000)


def _draw(page, strokes) -> None:
    box = page.locator("#canvas").bounding_box()
    assert box is not None

    def at(x: float, y: float) -> tuple[float, float]:
        # The letter fills the middle of the pad, as people draw it.
        return box["x"] + box["width"] * (0.25 + 0.5 * x), box["y"] + box["height"] * (
            0.2 + 0.6 * y
        )

    for start, end in strokes:
        page.mouse.move(*at(*start))
        page.mouse.down()
        page.mouse.move(*at(*end), steps=12)
        page.mouse.up()


def _shown(page) -> tuple[str, list[str]]:
    answer = page.locator("#answer").inner_text()
    top = page.locator("#top .label").all_inner_texts()
    return answer, top


def test_drawing_an_l_shows_l(page):
    _draw(page, [((0.1, 0.0), (0.1, 1.0)), ((0.1, 1.0), (0.8, 1.0))])
    _settled(page)
    answer, top = _shown(page)
    assert answer == "L", f"the page shows {answer!r} (top: {top})"
    assert top[0] == "L" and len(top) == 5
    # The bars are drawn and the 28×28 image the model saw is shown.
    assert page.locator("#top .bar span").count() == 5
    assert page.locator("#seen").get_attribute("src").startswith("data:image/png;base64,")


def test_a_case_aware_model_shows_the_case(page):
    if page.locator("#model option[value='alphanumeric']").count() == 0:
        pytest.skip("the shipped alphanumeric model is not in charrec/infer/weights")
    page.select_option("#model", "alphanumeric")
    _draw(page, T_STROKES)
    _settled(page)
    status = page.locator("#status").inner_text()
    assert "; letter T (" in status and "upper case (" in status, status
    # A model without case says nothing of it (changing the model reads the pad again).
    first = page.locator("#model option").first.get_attribute("value")
    page.select_option("#model", first)
    page.wait_for_function(f"document.getElementById('status').textContent.startsWith('{first}:')")
    _settled(page)
    assert "case" not in page.locator("#status").inner_text()


def test_undo_and_clear(page):
    _draw(page, [((0.5, 0.0), (0.5, 1.0))])
    _draw(page, [((0.05, 0.0), (0.95, 0.0))])
    _settled(page)
    assert page.locator("#answer").inner_text() == "T"
    page.click("#undo")
    _settled(page)
    assert page.locator("#answer").inner_text() != "T"
    page.click("#clear")
    _settled(page)
    assert page.locator("#answer").inner_text() == "?"
    assert page.locator("#top li").count() == 0


def test_uploading_a_picture_shows_its_letter(page, tmp_path: Path):
    from infer.infer_images import render_pen

    picture = tmp_path / "tee.png"
    Image.fromarray(render_pen(40, strokes=T_STROKES)).save(picture)
    page.set_input_files("#file", str(picture))
    _settled(page)
    answer, top = _shown(page)
    assert answer == "T", f"the page shows {answer!r} (top: {top})"


def test_uploading_a_non_image_says_so(page, tmp_path: Path):
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"these are notes, not a picture")
    page.set_input_files("#file", str(junk))
    _settled(page)
    assert page.locator("#answer").inner_text() == "?"
    assert "not an image" in page.locator("#status").inner_text()


def test_pasting_a_picture_shows_its_letter(page):
    import base64
    import io

    from infer.infer_images import render_pen

    buffer = io.BytesIO()
    Image.fromarray(render_pen(40, strokes=T_STROKES)).save(buffer, format="PNG")
    page.evaluate(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
            document.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer }));
        }""",
        base64.b64encode(buffer.getvalue()).decode("ascii"),
    )
    _settled(page)
    answer, top = _shown(page)
    assert answer == "T", f"the page shows {answer!r} (top: {top})"


def test_the_steadier_box_asks_for_test_time_augmentation(page):
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/v1/predict" in r.url else None)
    assert not page.locator("#tta").is_checked()  # this server has no policy of its own
    _draw(page, [((0.1, 0.0), (0.1, 1.0)), ((0.1, 1.0), (0.8, 1.0))])
    _settled(page)
    # Ticking it recognises the drawing again, with it.
    with page.expect_response(lambda r: "tta=affine" in r.url, timeout=30_000):
        page.locator("#tta").check()
    _settled(page)
    answer, _ = _shown(page)
    assert answer == "L"
    assert "tta=none" in asked[0] and "tta=affine" in asked[-1], asked
