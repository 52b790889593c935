"""Reports as a small document (sections of text, tables, figures) rendered twice:

- Markdown, with figures linked by file name (read next to its PNGs, e.g. on GitHub);
- one self-contained HTML page: figures embedded as base64 PNG, CSS inline, no external
  URL, so the file can be mailed or archived alone.
"""

from __future__ import annotations

import base64
import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from charrec.fileio import atomic_open


@dataclass
class Text:
    text: str


@dataclass
class Table:
    header: Sequence[str]
    rows: Sequence[Sequence[object]]
    # Columns to right-align (numbers).
    numeric: Sequence[int] = ()


@dataclass
class Figure:
    path: Path
    caption: str


Block = Text | Table | Figure


@dataclass
class Section:
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Report:
    title: str
    sections: list[Section] = field(default_factory=list)

    def section(self, title: str, *blocks: Block) -> Section:
        section = Section(title, list(blocks))
        self.sections.append(section)
        return section


# --- Markdown ------------------------------------------------------------------------------


def _md_cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table) -> str:
    align = ["---:" if i in table.numeric else "---" for i in range(len(table.header))]
    lines = [
        "| " + " | ".join(_md_cell(h) for h in table.header) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in table.rows]
    return "\n".join(lines)


def to_markdown(report: Report, relative_to: Path | None = None) -> str:
    """The report as Markdown; figure paths relative to `relative_to` (the .md's folder)."""
    out = [f"# {report.title}", ""]
    for section in report.sections:
        out += [f"## {section.title}", ""]
        for block in section.blocks:
            if isinstance(block, Text):
                out.append(block.text)
            elif isinstance(block, Table):
                out.append(markdown_table(block))
            else:
                target = block.path
                if relative_to is not None:
                    target = Path(os.path.relpath(block.path, relative_to))
                out.append(f"![{block.caption}]({target.as_posix()})")
                out.append(f"*{block.caption}*")
            out.append("")
    return "\n".join(out)


# --- HTML ----------------------------------------------------------------------------------

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; border-bottom: 2px solid #ddd; padding-bottom: .3em; }
h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #eee; }
table { border-collapse: collapse; margin: .6em 0; font-size: .92em; }
th, td { border: 1px solid #ddd; padding: .25em .6em; }
th { background: #f4f4f4; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
code { background: #f4f4f4; padding: 0 .2em; }
pre { background: #f4f4f4; padding: .5em; overflow-x: auto; }
"""


def _inline(text: str) -> str:
    """Escape, then turn `code` spans into <code> and **bold** into <strong>."""
    parts = html.escape(text).split("`")
    text = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)


def html_text(text: str) -> str:
    """Paragraphs split at blank lines; a paragraph indented by 4 spaces is code."""
    out = []
    for chunk in text.split("\n\n"):
        lines = chunk.splitlines()
        if lines and all(line.startswith("    ") for line in lines):
            code = "\n".join(html.escape(line[4:]) for line in lines)
            out.append(f"<pre><code>{code}</code></pre>")
        else:
            out.append(f"<p>{_inline(chunk)}</p>")
    return "\n".join(out)


def html_table(table: Table) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in table.header)
    rows = []
    for row in table.rows:
        cells = "".join(
            f'<td class="num">{html.escape(str(v))}</td>'
            if i in table.numeric
            else f"<td>{html.escape(str(v))}</td>"
            for i, v in enumerate(row)
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def embedded_png(path: Path) -> str:
    """A data: URI holding the PNG file's bytes."""
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def to_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    body = [f"<h1>{html.escape(report.title)}</h1>"]
    for section in report.sections:
        body.append(f"<h2>{html.escape(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Text):
                body.append(html_text(block.text))
            elif isinstance(block, Table):
                body.append(html_table(block))
            else:
                caption = html.escape(block.caption)
                body.append(
                    f'<figure><img src="{embedded_png(block.path)}" alt="{caption}">'
                    f"<figcaption>{caption}</figcaption></figure>"
                )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(report.title)}</title>\n<style>{CSS}</style>\n</head>\n"
        "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def write_report(report: Report, folder: str | os.PathLike[str], stem: str = "report") -> dict:
    """Write <stem>.md and <stem>.html into `folder` atomically; returns their paths."""
    folder = Path(folder)
    paths = {"markdown": folder / f"{stem}.md", "html": folder / f"{stem}.html"}
    with atomic_open(paths["markdown"]) as handle:
        handle.write(to_markdown(report, relative_to=folder))
    with atomic_open(paths["html"]) as handle:
        handle.write(to_html(report))
    return paths
