"""Reports: Markdown linking its PNGs, HTML carrying them inside."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import numpy as np

from charrec.evaluate import figures
from charrec.evaluate.report import Figure, Report, Table, Text, to_html, write_report


def make_report(tmp_path: Path) -> Report:
    path = tmp_path / "grid.png"
    images = np.zeros((2, 28, 28), dtype=np.uint8)
    images[:, 5:20, 10:14] = 255
    figures.image_grid(images, ["1", "1"], path)
    report = Report("Evaluation of <run> on mnist:test")
    report.section(
        "Summary",
        Text("Model `mlp` & friends."),
        Table(["metric", "value"], [["accuracy", "98.00%"], ["a|b", "1"]], numeric=(1,)),
        Figure(path, "A grid"),
    )
    return report


def test_html_is_self_contained(tmp_path: Path) -> None:
    page = to_html(make_report(tmp_path))
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http://" not in page and "https://" not in page and "<link" not in page
    png = base64.b64decode(sources[0].split(",", 1)[1])
    assert png.startswith(b"\x89PNG") and png == (tmp_path / "grid.png").read_bytes()
    # Text is escaped, code spans kept.
    assert "&lt;run&gt;" in page and "<code>mlp</code> &amp; friends" in page
    assert '<td class="num">98.00%</td>' in page


def test_markdown_links_figures_relative(tmp_path: Path) -> None:
    paths = write_report(make_report(tmp_path), tmp_path)
    text = paths["markdown"].read_text()
    assert "![A grid](grid.png)" in text
    assert "| a\\|b | 1 |" in text and "| --- | ---: |" in text
    assert paths["html"].read_text().startswith("<!DOCTYPE html>")
