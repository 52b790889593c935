"""`charrec bench infer`: end-to-end latency of one picture, batch throughput, FLOPs, peak."""

from __future__ import annotations

from typing import Annotated

import typer

from charrec.commands.options import RecognizerTtaOption

# The defaults of charrec.infer.benchmark, repeated here so that `--help` imports no torch;
# tests/test_cli_startup.py checks that they agree.
DEFAULT_BATCHES = (256, 512, 1024)
BACKENDS = ("torch", "onnx")


def bench_infer(
    model: Annotated[
        str, typer.Option("--model", "-m", help="A shipped model's name or a run folder.")
    ] = "letters",
    repeat: Annotated[
        int, typer.Option(help="Timed calls per picture (batch sizes: at most 10 each).")
    ] = 100,
    batch: Annotated[
        list[int], typer.Option("--batch", help="Batch size to time (repeat the option).")
    ] = list(DEFAULT_BATCHES),  # noqa: B006 - typer reads the default, never mutates it
    backend: Annotated[
        list[str], typer.Option("--backend", help="torch and/or onnx (repeat the option).")
    ] = list(BACKENDS),  # noqa: B006
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    tta: RecognizerTtaOption = None,
) -> None:
    """Inference speed: end-to-end latency of one picture, batch throughput, FLOPs, peak.

    Writes a 128×128 PNG drawing and a 1-megapixel JPEG photo to a temporary folder, times
    file → answer for each with the PyTorch and the ONNX Runtime backend (p50, p90),
    then batches of 28×28 images through the model alone, and compares that with the
    machine's fp32 matrix-multiply peak. Run it on a quiet machine; the load average
    before and after is printed with the numbers, and the CPU time per picture, which
    stays near the quiet machine's latency when other processes share the cores. An
    ensemble folder (`charrec ensemble`) is timed whole, and each member's parameters and
    FLOPs are listed.
    """
    import json
    import os

    from rich.console import Console

    from charrec.infer.benchmark import print_report, run_benchmark, to_dict

    load_before = os.getloadavg()[0]
    bench = run_benchmark(model, repeat=repeat, batches=batch, backends=backend, tta=tta)
    load = (load_before, os.getloadavg()[0])
    console = Console()
    if json_out:
        console.print_json(json.dumps(to_dict(bench, load)))
    else:
        print_report(bench, load, console)
