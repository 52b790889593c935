"""`charrec bench`: benchmarks anyone can rerun; each prints what it measured on this machine.

One sub-command per stage, each in its own module and registered here.
"""

from __future__ import annotations

import typer

from charrec.commands.bench_train import EPILOG as TRAIN_EPILOG
from charrec.commands.bench_train import bench_train
from charrec.evaluate.realistic.command import EPILOG as REALISTIC_EPILOG
from charrec.evaluate.realistic.command import bench_realistic
from charrec.infer.benchmark import bench_infer
from charrec.serve.loadtest import bench_serve

app = typer.Typer(
    help="Benchmarks: training speed, inference latency and throughput, serving load.",
    no_args_is_help=True,
)
app.command("train", epilog=TRAIN_EPILOG)(bench_train)
app.command("serve")(bench_serve)
app.command("infer")(bench_infer)
app.command("realistic", epilog=REALISTIC_EPILOG)(bench_realistic)
