"""`charrec export`: a trained model as an ONNX file, thin over charrec.infer.onnx."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from charrec.errors import ConfigError, unknown_choice

FORMATS = ("onnx",)
# Random images checked against PyTorch after the export, and the agreement demanded.
CHECK_IMAGES = 16
TOLERANCE = 1e-4

EPILOG = """\
[bold]Examples[/]

  A run folder's model, written next to it as RUN/model.onnx:

    charrec export runs/convnet --format onnx

  A shipped model, to a file of your choice, at a newer opset:

    charrec export letters --format onnx --out letters.onnx --opset 20

  The graph takes "images", N×28×28 uint8 (white ink on black, what the preprocessing
  makes), normalises them inside, and returns "probabilities", N×K float32; N is free.
  metadata_props hold the classes and the preprocessing as JSON. The file is checked with
  onnx.checker, and ONNX Runtime's answers are compared with PyTorch's before it is kept.
"""


# Optional[...] below: typer needs it on Python 3.10.
# ruff: noqa: UP045
def export(
    model: Annotated[
        str, typer.Argument(help="A run folder, or a shipped model's name (e.g. letters).")
    ],
    format: Annotated[str, typer.Option("--format", help="Output format.")] = "onnx",
    out: Annotated[
        Optional[Path],
        typer.Option(
            "--out",
            help="File to write (default: RUN/model.onnx, or ./NAME.onnx for a shipped model).",
            show_default=False,
        ),
    ] = None,
    opset: Annotated[int, typer.Option("--opset", help="ONNX operator set version.")] = 18,
) -> None:
    """Export a trained model to ONNX, with a dynamic batch size, checked and atomic."""
    import numpy as np

    from charrec.infer.onnx import check_opset, export_onnx, max_difference, write_onnx
    from charrec.infer.pretrained import is_pretrained
    from charrec.infer.recognizer import load

    if format not in FORMATS:
        raise unknown_choice("export format", format, FORMATS)
    check_opset(opset)
    recognizer = load(model)
    net, meta = recognizer.backend.model, recognizer.meta  # type: ignore[attr-defined]
    if out is None:
        # A bare shipped name is the shipped model (as `load` decides); else a run folder.
        shipped = "/" not in model and is_pretrained(model)
        out = Path(f"{model}.onnx") if shipped else Path(model).expanduser() / "model.onnx"
    proto = export_onnx(net, meta, opset=opset)
    exported = proto.SerializeToString()
    images = np.random.default_rng(0).integers(0, 256, (CHECK_IMAGES, 28, 28), dtype=np.uint8)
    difference = max_difference(exported, net, meta, images)
    if not difference <= TOLERANCE:
        raise ConfigError(
            f"the ONNX export of {model} disagrees with PyTorch by {difference:.2g} "
            f"(more than {TOLERANCE:g}); nothing written"
        )
    write_onnx(proto, out)
    classes = len(recognizer.classes)
    Console().print(
        f"wrote {escape(str(out))} ({len(exported) / 1e6:.2f} MB, opset {opset}): "
        f"images N×28×28 uint8 → probabilities N×{classes}; onnx.checker passed; "
        f"ONNX Runtime matches PyTorch within {difference:.1e} on {CHECK_IMAGES} images",
        soft_wrap=True,
    )
