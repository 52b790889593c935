"""The coursework's report: one section per question, each with the commands that
reproduce it alone, the machine, the versions and the time each section took."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from charrec.coursework.context import Context
from charrec.coursework.runner import SectionRecord
from charrec.evaluate.compare import format_seconds
from charrec.evaluate.report import Report, Table, Text
from charrec.evaluate.report import write_report as write_pages


def write_coursework_report(
    ctx: Context, records: list[SectionRecord], wall_time: float, command: str
) -> dict[str, Path]:
    report = Report("Handwritten character recognition: the coursework, measured")
    from charrec.machine import describe

    facts = describe()
    timing = [
        [r.spec.question, format_seconds(r.wall_time), "reused" if r.reused else "ran"]
        for r in records
    ]
    report.section(
        "How this report was made",
        Text(
            f"Made by `{command}` on {datetime.now():%Y-%m-%d at %H:%M}, budget "
            f"`{ctx.budget.name}`, in {format_seconds(wall_time)}"
            f"{_reuse_note(records)}. Every number below was measured by "
            f"that run. Letters data: `{ctx.letters}`, because {ctx.letters_reason}."
        ),
        Text(_precision_note()),
        Table(["", ""], [[k, v] for k, v in facts.items()]),
        Table(["section", "time", ""], timing, numeric=(1,)),
    )
    for record in records:
        blocks = list(record.output.blocks)
        if record.output.commands:
            listing = "\n".join(f"    {c}" for c in record.output.commands)
            blocks.append(Text(f"Reproduce this section alone:\n\n{listing}"))
        report.section(record.spec.question, *blocks)
    return write_pages(report, ctx.out)


def _precision_note() -> str:
    from charrec.machine import computes_bf16_natively

    where = (
        "this CPU does (Intel AMX or AVX512-BF16), so the CNNs here trained in bf16 autocast"
        if computes_bf16_natively()
        else "this CPU does not, so everything here trained in fp32"
    )
    return (
        "Precision (`training.precision: auto`): convolutional nets train in bf16 autocast "
        "where the CPU computes bf16 natively, dense nets and other CPUs in fp32; "
        f"{where}. Each run's model.json records its precision."
    )


def _reuse_note(records: list[SectionRecord]) -> str:
    """With sections reused, what all of them took when they ran."""
    if not any(r.reused for r in records):
        return ""
    total = format_seconds(sum(r.wall_time for r in records))
    return (
        f"; some sections were reused from an earlier run of the same command, and all "
        f"the sections took {total} when they ran (the table below)"
    )
