"""The web page's word mode in a real browser: tick "word", write a short word with the
mouse on the wide canvas, and see it read (POST /v1/read)."""

from __future__ import annotations

import pytest

from serve import test_browser

# The browser test's fixtures (a served letters model, Chromium, a fresh page) and marks.
pytestmark = test_browser.pytestmark
server_url = test_browser.server_url
browser = test_browser.browser
page = test_browser.page
_settled = test_browser._settled

# Capitals in units of their box (x, y in 0..1), drawn as block letters are.
WORD = {
    "L": (((0.1, 0.0), (0.1, 1.0)), ((0.1, 1.0), (0.9, 1.0))),
    "E": (
        ((0.15, 0.0), (0.15, 1.0)),
        ((0.15, 0.0), (0.9, 0.0)),
        ((0.15, 0.5), (0.75, 0.5)),
        ((0.15, 1.0), (0.9, 1.0)),
    ),
    "T": (((0.0, 0.0), (1.0, 0.0)), ((0.5, 0.0), (0.5, 1.0))),
}


def _write(page, letters: str) -> None:
    box = page.locator("#canvas").bounding_box()
    assert box is not None and box["width"] > 2 * box["height"], "the canvas is not wide"
    # Letters 55% of the canvas tall, 30% of that wide, spaced by half their height.
    tall = 0.55 * box["height"]
    wide = 0.6 * tall
    pitch = wide + 0.5 * tall
    for k, letter in enumerate(letters):
        left = box["x"] + 0.1 * box["width"] + k * pitch
        top = box["y"] + 0.2 * box["height"]
        for (x0, y0), (x1, y1) in WORD[letter]:
            page.mouse.move(left + x0 * wide, top + y0 * tall)
            page.mouse.down()
            page.mouse.move(left + x1 * wide, top + y1 * tall, steps=10)
            page.mouse.up()


def test_writing_a_word_in_word_mode_shows_it_read(page) -> None:
    page.check("#word-mode")
    _write(page, "LET")
    _settled(page)
    answer = page.locator("#answer").inner_text()
    labels = page.locator("#top .label").all_inner_texts()
    assert answer == "LET", f"the page shows {answer!r} (characters: {labels})"
    assert labels == ["L", "E", "T"]
    seen = page.locator("#seen-row img")
    assert seen.count() == 3
    assert seen.first.get_attribute("src").startswith("data:image/png;base64,")
    # Back to one character: the canvas is square again and the answer cleared.
    page.uncheck("#word-mode")
    box = page.locator("#canvas").bounding_box()
    assert box is not None and abs(box["width"] - box["height"]) < 2
    assert page.locator("#answer").inner_text() == "?"


def test_word_mode_shows_each_letters_case_for_a_case_aware_model(page) -> None:
    if page.locator("#model option[value='alphanumeric']").count() == 0:
        pytest.skip("the shipped alphanumeric model is not in charrec/infer/weights")
    page.check("#word-mode")
    page.select_option("#model", "alphanumeric")
    _write(page, "LET")
    _settled(page)
    captions = page.locator("#seen-row figcaption").all_inner_texts()
    labels = page.locator("#top .label").all_inner_texts()
    assert len(captions) == 3, f"captions {captions} for characters {labels}"
    for caption, label in zip(captions, labels, strict=True):
        case, share = caption.split()
        assert case == ("upper" if label.isupper() else "lower"), (caption, label)
        assert share.endswith("%") and 50 <= int(share[:-1]) <= 100, caption
    # A model without case captions nothing.
    first = page.locator("#model option").first.get_attribute("value")
    page.select_option("#model", first)
    page.wait_for_function(f"document.getElementById('status').textContent.startsWith('{first}:')")
    _settled(page)
    assert page.locator("#seen-row img").count() == 3
    assert page.locator("#seen-row figcaption").count() == 0
