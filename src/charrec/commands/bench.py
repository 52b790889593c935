"""`charrec bench`: benchmarks anyone can rerun; each prints what it measured on this machine.

One sub-command per stage, each in its own module and registered here.
"""

from __future__ import annotations

import typer

from charrec.commands.bench_case import EPILOG as CASE_EPILOG
from charrec.commands.bench_case import bench_case
from charrec.commands.bench_infer import bench_infer
from charrec.commands.bench_read import EPILOG as READ_EPILOG
from charrec.commands.bench_read import bench_read
from charrec.commands.bench_realistic import EPILOG as REALISTIC_EPILOG
from charrec.commands.bench_realistic import bench_realistic
from charrec.commands.bench_serve import bench_serve
from charrec.commands.bench_startup import bench_startup
from charrec.commands.bench_study import EPILOG as STUDY_EPILOG
from charrec.commands.bench_study import bench_study
from charrec.commands.bench_train import EPILOG as TRAIN_EPILOG
from charrec.commands.bench_train import bench_train

app = typer.Typer(
    help="Benchmarks: start-up, training and study speed, inference latency and throughput, "
    "reading lines, serving load, case-aware letters.",
    no_args_is_help=True,
)
app.command("train", epilog=TRAIN_EPILOG)(bench_train)
app.command("serve")(bench_serve)
app.command("infer")(bench_infer)
app.command("realistic", epilog=REALISTIC_EPILOG)(bench_realistic)
app.command("startup")(bench_startup)
app.command("study", epilog=STUDY_EPILOG)(bench_study)
app.command("read", epilog=READ_EPILOG)(bench_read)
app.command("case", epilog=CASE_EPILOG)(bench_case)
