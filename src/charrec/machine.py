"""What a measurement ran on: the CPU, its cores, the system and the versions that matter."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux), else what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU's feature flags (/proc/cpuinfo on Linux; empty elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def has_bf16_matrix_units() -> bool:
    """Whether the CPU multiplies bf16 matrices natively (Intel AMX), where bf16 autocast
    trains convolutions about twice as fast as fp32; without it bf16 is emulated and slower."""
    return "amx_bf16" in cpu_flags()


def describe() -> dict[str, str]:
    """CPU, cores, system, and the Python, charrec, PyTorch and NumPy versions."""
    import numpy
    import torch

    from charrec import __version__

    return {
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "system": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "charrec": __version__,
        "PyTorch": torch.__version__,
        "NumPy": numpy.__version__,
        "torch threads": str(torch.get_num_threads()),
    }
