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


# Flags of CPUs that multiply bf16 in hardware: Intel AMX (Sapphire Rapids on), and the
# AVX-512 bf16 dot products of Cooper Lake and AMD Zen 4 on.
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")


def computes_bf16_natively() -> bool:
    """Whether the CPU multiplies bf16 in hardware (Intel AMX, AVX512-BF16), where bf16
    autocast trains convolutions faster than fp32 (measured 1.1-2x for the zoo's CNNs);
    without it bf16 is emulated and several times slower."""
    flags = cpu_flags()
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


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
