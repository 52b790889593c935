"""Running the coursework: sections in order, each reused when it already ran with the same
budget and data, with progress, timings, and the report at the end."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from charrec.coursework.budget import Budget
from charrec.coursework.context import Context, SummaryRow, letters_data
from charrec.coursework.sections import SectionOutput, SectionSpec
from charrec.errors import CharrecError
from charrec.evaluate.report import Figure, Table, Text
from charrec.fileio import write_json

MARKER = "coursework.json"


@dataclass
class SectionRecord:
    spec: SectionSpec
    output: SectionOutput
    wall_time: float
    reused: bool


def prepare_folder(out: Path, budget: Budget) -> None:
    """Create the folder, or check it is a coursework folder; refuse anything else."""
    if out.exists() and not out.is_dir():
        raise CharrecError(f"{out} is a file, not a folder for the coursework")
    foreign = out.is_dir() and not (out / MARKER).is_file()
    if foreign and any(not p.name.startswith(".") for p in out.iterdir()):
        raise CharrecError(
            f"{out} already holds other files; the coursework needs a folder of its own"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / MARKER, {"format": "charrec-coursework", "budget": budget.name})
    except OSError as exc:
        raise CharrecError(f"cannot write to {out}: {exc.strerror}") from None


def _fingerprint(section: SectionSpec, budget: Budget, letters: str, data_dir: str | None) -> str:
    values = {"section": section.key, "budget": budget.to_dict(), "letters": letters}
    values["data_dir"] = data_dir
    values["budget"].pop("expected_seconds", None)
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _to_plain(output: SectionOutput, summary: list[SummaryRow]) -> dict[str, Any]:
    blocks = []
    for block in output.blocks:
        if isinstance(block, Text):
            blocks.append({"text": block.text})
        elif isinstance(block, Table):
            rows = [
                [c if isinstance(c, (int, float, str)) else str(c) for c in r] for r in block.rows
            ]
            blocks.append(
                {"header": list(block.header), "rows": rows, "numeric": list(block.numeric)}
            )
        else:
            blocks.append({"figure": str(block.path), "caption": block.caption})
    return {"blocks": blocks, "commands": output.commands, "summary": [asdict(r) for r in summary]}


def _from_plain(values: dict[str, Any]) -> tuple[SectionOutput, list[SummaryRow]]:
    blocks: list[Any] = []
    for block in values["blocks"]:
        if "text" in block:
            blocks.append(Text(block["text"]))
        elif "header" in block:
            blocks.append(Table(block["header"], block["rows"], tuple(block["numeric"])))
        else:
            blocks.append(Figure(Path(block["figure"]), block["caption"]))
    summary = [SummaryRow(**row) for row in values["summary"]]
    return SectionOutput(blocks, values["commands"]), summary


def _cached(path: Path, fingerprint: str) -> dict[str, Any] | None:
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if values.get("fingerprint") != fingerprint:
        return None
    figures_there = all(Path(b["figure"]).is_file() for b in values["blocks"] if "figure" in b)
    return values if figures_there else None


def run_sections(
    sections: list[SectionSpec],
    out: Path,
    budget: Budget,
    data_dir: str | None,
    progress: Callable[[int, SectionSpec, float], None] = lambda i, s, t: None,
) -> tuple[Context, list[SectionRecord]]:
    """Run (or reuse) every section in order; `progress(index, section, seconds)` is called
    before each section starts and after the last (index = len(sections))."""
    letters, reason = letters_data(data_dir)
    ctx = Context(out, budget, data_dir, letters, reason)
    (out / "sections").mkdir(parents=True, exist_ok=True)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    records = []
    start_all = time.perf_counter()
    for index, section in enumerate(sections):
        progress(index, section, time.perf_counter() - start_all)
        path = out / "sections" / f"{index + 1:02d}-{section.key}.json"
        fingerprint = _fingerprint(section, budget, letters, data_dir)
        cached = _cached(path, fingerprint)
        if cached is not None:
            output, summary = _from_plain(cached)
            ctx.summary += summary
            records.append(SectionRecord(section, output, cached["wall_time"], True))
            continue
        before = len(ctx.summary)
        start = time.perf_counter()
        output = section.run(ctx)
        seconds = time.perf_counter() - start
        plain = _to_plain(output, ctx.summary[before:])
        write_json(path, {"fingerprint": fingerprint, "wall_time": seconds, **plain})
        records.append(SectionRecord(section, output, seconds, False))
    progress(len(sections), sections[-1], time.perf_counter() - start_all)
    return ctx, records
