"""A test set that looks like what users send, and a model's accuracy on it.

    from charrec.infer.realistic import evaluate_realistic, write_realistic_report
    result = evaluate_realistic(charrec.load("letters"), per_class=32, seed=0)
    result.accuracy(), result.table("condition")

Modules, one job each: fonts (the handwriting fonts installed, what each draws), render
(a glyph as ink, finished test pictures), scene (the seeded conditions and the drawing),
evaluation (the recognizer on the set, tallies), report (report.json/.md, the mistakes
figure). The command is `charrec bench realistic` (charrec.commands.bench_realistic).
"""

from __future__ import annotations

from charrec.infer.realistic.evaluation import (
    RealisticResult,
    class_characters,
    evaluate_realistic,
)
from charrec.infer.realistic.fonts import Font, handwriting_fonts
from charrec.infer.realistic.report import summary, write_realistic_report
from charrec.infer.realistic.scene import CONDITIONS, Sample, Scene, Spec, plan, render

__all__ = [
    "CONDITIONS",
    "Font",
    "RealisticResult",
    "Sample",
    "Scene",
    "Spec",
    "class_characters",
    "evaluate_realistic",
    "handwriting_fonts",
    "plan",
    "render",
    "summary",
    "write_realistic_report",
]
