"""Inference speed on this machine, for the PyTorch and the ONNX Runtime backend.

`charrec bench infer [--model letters] [--repeat N]` measures, for one model:

- end-to-end latency of one picture, file on disk → Prediction (decode, preprocess,
  model, ranking), p50 and p90 over `repeat` calls after a warm-up (and the CPU time's
  p50, which other processes on the cores do not inflate as much), for a 128×128 PNG
  drawing and a 1-megapixel JPEG photo that `pictures()` writes (a handwriting font if
  one is installed, else pen strokes; the photo has shadowed, noisy, slightly blurred,
  tinted paper);
- batch throughput of the model alone: images/s for batches of 28×28 uint8 images
  (`Recognizer.predict_arrays`: normalisation, forward pass, softmax), the best of
  `repeat` calls (at most BATCH_REPEAT);
- the model's FLOPs per image (`torch.utils.flop_counter.FlopCounterMode`: convolutions
  and matrix products, one multiply-add counted as 2 FLOPs; element-wise layers, pooling
  and batch norm are not counted), and for an ensemble each member's FLOPs and parameters;
- this machine's fp32 matrix-multiply peak: the fastest of many 1024³ sgemms in PyTorch
  (MKL) and ONNX Runtime (MLAS) on all threads, measured before, between and after the
  backends;
- the fraction of that peak the batch throughput reaches: images/s × FLOPs per image / peak.

Times are wall-clock, so other processes on the machine slow them down; rerun on a quiet
machine and compare repeats before trusting a number.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageFilter
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from torch.utils.flop_counter import FlopCounterMode

from charrec.errors import ConfigError, unknown_choice
from charrec.infer.realistic.fonts import find_font
from charrec.infer.realistic.render import render_pen, render_text

BACKENDS = ("torch", "onnx")
PICTURES = ("128×128 PNG", "1 MP JPEG")
DEFAULT_BATCHES = (256, 512, 1024)
# Side of the square matrices of the peak measurement: big enough for full speed.
PEAK_SIZE = 1024
# Timed calls per batch size (at most): each is long, and the best one is what counts.
BATCH_REPEAT = 10
# Untimed calls before timing: lazy imports, allocator, caches, thread pools.
WARMUP = 10


@dataclass
class BackendResult:
    """What one backend measured."""

    backend: str
    # Picture label → {"p50": ms, "p90": ms, "min": ms}.
    latency: dict[str, dict[str, float]] = field(default_factory=dict)
    # Batch size → images per second.
    throughput: dict[int, float] = field(default_factory=dict)

    @property
    def best_throughput(self) -> float:
        return max(self.throughput.values(), default=0.0)


@dataclass
class InferBenchmark:
    """The whole measurement: per backend, plus the model's FLOPs and the machine's peak."""

    model: str
    parameters: int
    flops_per_image: int
    peak_flops: float
    threads: int
    results: list[BackendResult]
    # An ensemble's members, each {"source", "model", "parameters", "flops_per_image"}.
    members: list[dict[str, Any]] = field(default_factory=list)
    # Test-time augmentation: each image goes through the model `views` times.
    tta: str | None = None
    views: int = 1

    def fraction_of_peak(self, images_per_second: float) -> float:
        return images_per_second * self.views * self.flops_per_image / self.peak_flops


def pictures(folder: Path) -> dict[str, Path]:
    """Write the two benchmark pictures into `folder`: a 128×128 PNG drawing, a 1 MP JPEG."""
    font = find_font()
    if font is not None:
        drawing = render_text("K", font, canvas=(128, 128))
        photo = render_text("K", font, canvas=(1250, 800), height=0.6, centre=(0.45, 0.5), ink=50)
    else:
        drawing = render_pen(6, canvas=(128, 128), box=(24, 16, 104, 112))
        photo = render_pen(30, canvas=(1250, 800), box=(400, 150, 800, 650))
    rng = np.random.default_rng(0)
    # Light falling off to one side, sensor noise, a little blur, paper that is not white.
    light = np.linspace(1.0, 0.6, photo.shape[1])[None, :]
    noisy = np.clip(photo * light + rng.normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
    blurred = Image.fromarray(noisy).filter(ImageFilter.GaussianBlur(1.5))
    tint = [blurred, blurred.point(lambda v: v * 0.95), blurred.point(lambda v: v * 0.9)]
    paths = dict(zip(PICTURES, (folder / "drawing.png", folder / "photo.jpg"), strict=True))
    Image.fromarray(drawing).save(paths[PICTURES[0]])
    Image.merge("RGB", tint).save(paths[PICTURES[1]], quality=90)
    return paths


def timed_calls(
    call: Callable[[], object], repeat: int, warmup: int = WARMUP
) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU seconds (all threads of this process) of each of `repeat` calls.

    `warmup` untimed calls come first. On a busy machine the CPU time stays close to what
    the call costs on a quiet one, while the wall-clock time grows with the waiting.
    """
    for _ in range(warmup):
        call()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def time_calls(call: Callable[[], object], repeat: int, warmup: int = WARMUP) -> list[float]:
    """Wall-clock seconds taken by each of `repeat` calls, after `warmup` untimed ones."""
    return timed_calls(call, repeat, warmup)[0]


def percentiles_ms(times: Sequence[float], cpu: Sequence[float] = ()) -> dict[str, float]:
    """p50, p90 and the fastest of some timings in milliseconds; and the CPU time's p50."""
    p50, p90, fastest = np.percentile(np.asarray(times) * 1e3, [50, 90, 0])
    stats = {"p50": float(p50), "p90": float(p90), "min": float(fastest)}
    if len(cpu):
        stats["cpu_p50"] = float(np.median(cpu) * 1e3)
    return stats


def flops_per_image(model: torch.nn.Module, input_size: tuple[int, int] = (28, 28)) -> int:
    """FLOPs of one image's forward pass (a multiply-add counts 2; see the module docstring)."""
    counter = FlopCounterMode(display=False)
    with torch.inference_mode(), counter:
        model.eval()(torch.zeros((1, 1, *input_size)))
    return int(counter.get_total_flops())


def member_costs(net: torch.nn.Module, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """An ensemble's members with their parameters and FLOPs per image; [] for one model."""
    from charrec.models.ensemble import Ensemble

    if not isinstance(net, Ensemble):
        return []
    size = tuple(int(v) for v in meta["preprocessing"]["input_size"])
    spec = meta["model"]
    sources = spec.get("sources") or [f"member {i + 1}" for i in range(len(net.members))]
    return [
        {
            "source": str(source),
            "model": member_spec.get("name"),
            "parameters": sum(p.numel() for p in member.parameters()),
            "flops_per_image": flops_per_image(member, size),  # type: ignore[arg-type]
        }
        for source, member_spec, member in zip(sources, spec["members"], net.members, strict=True)
    ]


def _onnx_matmul(size: int) -> Callable[[np.ndarray, np.ndarray], object]:
    """A size×size fp32 MatMul in ONNX Runtime, with the backend's session options."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    from charrec.infer.onnx import session_options

    square = [size, size]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "sgemm",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, square) for n in ("a", "b")],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, square)],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    session = ort.InferenceSession(
        proto.SerializeToString(),
        sess_options=session_options(),
        providers=["CPUExecutionProvider"],
    )
    return lambda a, b: session.run(None, {"a": a, "b": b})


def matmul_peak(size: int = PEAK_SIZE, repeat: int = 20) -> float:
    """FLOP/s of the fastest fp32 size×size matrix product on all threads.

    Both PyTorch's (MKL) and ONNX Runtime's (MLAS) sgemm are timed, alternately, `repeat`
    times each: the machine's peak is what its fastest library reaches in its quietest
    moment, the same best-of rule as the throughput it is compared with.
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    out = torch.empty(size, size)
    onnx_mm, a_np, b_np = _onnx_matmul(size), a.numpy(), b.numpy()
    products = (lambda: torch.mm(a, b, out=out), lambda: onnx_mm(a_np, b_np))
    for product in products:
        time_calls(product, 0, warmup=2)
    times = [time_calls(product, 1, warmup=0)[0] for _ in range(repeat) for product in products]
    return 2 * size**3 / min(times)


def batch_images(count: int, seed: int = 0) -> np.ndarray:
    """Random 28×28 uint8 images: the model's cost does not depend on what they show."""
    return np.random.default_rng(seed).integers(0, 256, (count, 28, 28), dtype=np.uint8)


def measure_backend(
    model: str,
    backend: str,
    paths: dict[str, Path],
    *,
    repeat: int,
    batches: Sequence[int],
    tta: str | None = None,
) -> BackendResult:
    """Latency per picture and throughput per batch size of one backend."""
    from charrec.infer.recognizer import load

    recognizer = load(model, backend=backend, tta=tta)
    result = BackendResult(backend)
    batch_repeat = min(repeat, BATCH_REPEAT)
    for label, path in paths.items():
        wall, cpu = timed_calls(lambda path=path: recognizer.predict(path), repeat)
        result.latency[label] = percentiles_ms(wall, cpu)
    for size in batches:
        images = batch_images(size)
        times = time_calls(lambda images=images: recognizer.predict_arrays(images), batch_repeat, 2)
        result.throughput[size] = size / min(times)
    return result


def run_benchmark(
    model: str = "letters",
    *,
    repeat: int = 100,
    batches: Sequence[int] = DEFAULT_BATCHES,
    backends: Sequence[str] = BACKENDS,
    tta: str | None = None,
) -> InferBenchmark:
    """Measure everything the module docstring lists for a shipped model or a run folder
    (with `tta`, a test-time augmentation policy, every picture's views)."""
    from charrec.evaluate.tta import check_policy, views
    from charrec.infer.recognizer import load

    if repeat < 1:
        raise ConfigError(f"repeat must be at least 1, got {repeat}")
    for size in batches:
        if not 1 <= size <= 65536:
            raise ConfigError(f"batch sizes must lie in 1..65536, got {size}")
    for backend in backends:
        if backend not in BACKENDS:
            raise unknown_choice("backend", backend, BACKENDS)
    if tta is not None:
        check_policy(tta)
    reference = load(model)
    net = reference.backend.model  # type: ignore[attr-defined]
    size = tuple(int(v) for v in reference.meta["preprocessing"]["input_size"])
    flops = flops_per_image(net, size)  # type: ignore[arg-type]
    parameters = sum(p.numel() for p in net.parameters())
    results = []
    # The peak is measured between the backends too, and the best kept: other processes
    # come and go, and a peak measured in a busy moment would flatter the fraction.
    peaks = [matmul_peak()]
    with tempfile.TemporaryDirectory(prefix="charrec-bench-") as folder:
        paths = pictures(Path(folder))
        for backend in backends:
            results.append(
                measure_backend(model, backend, paths, repeat=repeat, batches=batches, tta=tta)
            )
            peaks.append(matmul_peak())
    peak = max(peaks)
    return InferBenchmark(
        model=str(model),
        parameters=parameters,
        flops_per_image=flops,
        peak_flops=peak,
        threads=torch.get_num_threads(),
        results=results,
        members=member_costs(net, reference.meta),
        tta=tta,
        views=len(views(batch_images(1), tta)) if tta else 1,
    )


# ---------------------------------------------------------------- report and command

# The targets for the shipped letters model.
TARGET_P50_MS = {PICTURES[0]: 3.0, PICTURES[1]: 25.0}
TARGET_FRACTION = 0.30


def to_dict(bench: InferBenchmark, load: tuple[float, float]) -> dict[str, Any]:
    """The measurement as JSON-ready values."""
    return {
        "model": bench.model,
        "tta": bench.tta,
        "views": bench.views,
        "parameters": bench.parameters,
        "flops_per_image": bench.flops_per_image,
        "flops_note": FLOPS_NOTE,
        "peak_flops": bench.peak_flops,
        "peak_note": (
            f"fastest fp32 {PEAK_SIZE}³ sgemm of PyTorch and ONNX Runtime, {bench.threads} threads"
        ),
        "threads": bench.threads,
        "members": bench.members,
        "load_average": {"before": load[0], "after": load[1]},
        "backends": {
            r.backend: {
                "latency_ms": r.latency,
                "images_per_second": {str(k): v for k, v in r.throughput.items()},
                "fraction_of_peak": bench.fraction_of_peak(r.best_throughput),
            }
            for r in bench.results
        },
    }


FLOPS_NOTE = "convolutions and matrix products; a multiply-add counts as 2 FLOPs"


def _verdict(value: float, target: float, below: bool = True) -> str:
    met = value <= target if below else value >= target
    return "[green]met[/]" if met else "[red]missed[/]"


def print_report(bench: InferBenchmark, load: tuple[float, float], console: Console) -> None:
    """The measurement as tables, with the issue's targets for the letters model."""
    console.print(
        f"[bold]{escape(bench.model)}[/]"
        + (f" with --tta {bench.tta} ({bench.views} views a picture)" if bench.tta else "")
        + f": {bench.parameters:,} parameters, "
        f"{bench.flops_per_image / 1e6:.2f} MFLOPs per image ({FLOPS_NOTE}); "
        f"machine peak {bench.peak_flops / 1e9:.1f} GFLOP/s (fastest fp32 {PEAK_SIZE}³ sgemm, "
        f"{bench.threads} threads); load average {load[0]:.2f} before, {load[1]:.2f} after",
        soft_wrap=True,
    )
    if bench.members:
        console.print(
            f"an ensemble of {len(bench.members)}: "
            + "; ".join(
                f"{escape(m['source'])} ({m['model']}, {m['parameters']:,} parameters, "
                f"{m['flops_per_image'] / 1e6:.2f} MFLOPs)"
                for m in bench.members
            ),
            soft_wrap=True,
        )
    latency = Table(title="End-to-end latency, file on disk → answer (ms)")
    latency.add_column("backend")
    latency.add_column("picture")
    stats = {"p50": "p50", "p90": "p90", "min": "min", "cpu_p50": "CPU time p50"}
    for heading in stats.values():
        latency.add_column(heading, justify="right")
    for r in bench.results:
        for label in PICTURES:
            latency.add_row(r.backend, label, *(f"{r.latency[label][s]:.2f}" for s in stats))
    console.print(latency)
    sizes = sorted({size for r in bench.results for size in r.throughput})
    throughput = Table(title="Batch throughput, model only (images/s)")
    throughput.add_column("backend")
    for size in sizes:
        throughput.add_column(f"batch {size}", justify="right")
    throughput.add_column("best GFLOP/s", justify="right")
    throughput.add_column("of peak", justify="right")
    for r in bench.results:
        fraction = bench.fraction_of_peak(r.best_throughput)
        throughput.add_row(
            r.backend,
            *(f"{r.throughput[size]:,.0f}" if size in r.throughput else "—" for size in sizes),
            f"{r.best_throughput * bench.flops_per_image / 1e9:.1f}",
            f"{100 * fraction:.0f}%",
        )
    console.print(throughput)
    for r in bench.results:
        parts = [
            f"{label} p50 ≤ {target:g} ms {_verdict(r.latency[label]['p50'], target)}"
            for label, target in TARGET_P50_MS.items()
        ]
        fraction = bench.fraction_of_peak(r.best_throughput)
        parts.append(
            f"throughput ≥ {100 * TARGET_FRACTION:.0f}% of peak "
            f"{_verdict(fraction, TARGET_FRACTION, below=False)}"
        )
        console.print(f"targets, {r.backend}: " + "; ".join(parts))
