"""`charrec bench startup`: how fast the command line answers, and where `predict` spends.

Every measurement is a fresh process, as a user starts one: the interpreter alone,
`charrec --help`, `--version` and each sub-command's `--help`, then `charrec predict` on a
128×128 PNG drawing with the default settings (after one untimed run, which also fills
the ONNX export cache), and the same prediction split into its stages by a child
process that times them one after the other.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
import typer.main

# Times each stage of one prediction in a fresh process; prints them as JSON (seconds).
_STAGES = """
import json, sys, time
t0 = time.perf_counter()
import charrec.cli
from charrec.commands.predict import DEFAULT_BACKEND
t1 = time.perf_counter()
from charrec.infer.recognizer import load
recognizer = load(sys.argv[1], backend=DEFAULT_BACKEND)
t2 = time.perf_counter()
result = recognizer.preprocessor(sys.argv[2])
t3 = time.perf_counter()
recognizer.predict_arrays(result.image[None])
t4 = time.perf_counter()
print(json.dumps({"startup": t1 - t0, "model_load": t2 - t1, "preprocessing": t3 - t2,
                  "inference": t4 - t3, "torch_imported": "torch" in sys.modules}))
"""


def _help_commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every sub-command's words under a click group, groups before their commands."""
    found: list[tuple[str, ...]] = []
    for name, command in sorted(getattr(group, "commands", {}).items()):
        found.append((*prefix, name))
        found += _help_commands(command, (*prefix, name))
    return found


def _timed(argv: list[str]) -> float:
    import subprocess
    import time

    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def _summary(times: list[float]) -> dict[str, float]:
    import statistics

    return {"median_ms": 1000 * statistics.median(times), "min_ms": 1000 * min(times)}


def bench_startup(
    repeat: Annotated[int, typer.Option(help="Processes started per measurement.", min=1)] = 10,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model for the predict measurements.")
    ] = "letters",
    json_out: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Start-up time of `charrec` and its --help, and `charrec predict` end to end, split
    into start-up, model load, preprocessing and inference. Run it on a quiet machine."""
    import json
    import os
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    from charrec.serve.loadtest import character_png

    python = [sys.executable]
    charrec = [*python, "-m", "charrec"]
    rows: list[tuple[str, list[float]]] = []
    load_before = os.getloadavg()[0]
    rows.append(("python -c pass (the interpreter alone)", []))
    rows.append(("charrec --help", []))
    rows.append(("charrec --version", []))
    # The whole command line: this run built only the commands it needed.
    from charrec.cli import build_app

    helps = _help_commands(typer.main.get_command(build_app()))
    rows += [(f"charrec {' '.join(words)} --help", []) for words in helps]
    commands = [
        [*python, "-c", "pass"],
        [*charrec, "--help"],
        [*charrec, "--version"],
        *[[*charrec, *words, "--help"] for words in helps],
    ]
    with tempfile.TemporaryDirectory() as folder:
        picture = Path(folder) / "letter.png"
        picture.write_bytes(character_png())
        predict = [*charrec, "predict", str(picture), "--model", model]
        _timed(predict)  # untimed: fills the ONNX export cache, warms the file cache
        rows.append((f"charrec predict letter.png --model {model}", []))
        commands.append(predict)
        for _ in range(repeat):
            for (_, times), argv in zip(rows, commands, strict=True):
                times.append(_timed(argv))
        stages = []
        for _ in range(repeat):
            out = subprocess.run(
                [*python, "-c", _STAGES, model, str(picture)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            stages.append(json.loads(out.strip().splitlines()[-1]))
    result = {
        "repeat": repeat,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "commands": {name: _summary(times) for name, times in rows},
        "predict_stages": {
            key: _summary([s[key] for s in stages])
            for key in ("startup", "model_load", "preprocessing", "inference")
        },
        "predict_imports_torch": any(s["torch_imported"] for s in stages),
    }
    console = Console()
    if json_out:
        console.print_json(json.dumps(result))
        return
    table = Table("command (a fresh process each)", "median", "fastest", title_justify="left")
    for name, summary in result["commands"].items():
        table.add_row(name, f"{summary['median_ms']:.0f} ms", f"{summary['min_ms']:.0f} ms")
    console.print(table)
    stage_table = Table("charrec predict, stage", "median", "fastest")
    labels = {
        "startup": "start-up (charrec's command-line imports)",
        "model_load": "model load (preprocessing and runtime imports, the model)",
        "preprocessing": "preprocessing (read, clean, frame to 28×28)",
        "inference": "inference (one image)",
    }
    for key, summary in result["predict_stages"].items():
        stage_table.add_row(
            labels[key], f"{summary['median_ms']:.1f} ms", f"{summary['min_ms']:.1f} ms"
        )
    console.print(stage_table)
    console.print(
        f"{repeat} runs each, Python {result['python']}, {result['cpus']} CPUs; torch imported "
        f"by predict: {'yes' if result['predict_imports_torch'] else 'no'}; load average "
        f"{load_before:.2f} before, {result['load_average_after']:.2f} after",
        highlight=False,
    )
