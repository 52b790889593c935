"""Keep freed tensor memory in the process instead of handing it back to the OS each step.

PyTorch's CPU allocator is the C library's malloc. glibc serves blocks above its mmap
threshold (128 KiB at start) with fresh mmap pages and unmaps them on free, and trims
the heap when its free top grows past the trim threshold. A training step allocates and
frees the same feature maps every time (keras-convnet at batch 128: an 11 MB map per
conv), so each step page-faults them all back in (tests/train/test_allocator.py counts
the faults). Raising both thresholds lets malloc reuse the memory; the cost is that the
process keeps its peak heap until it exits, which suits a training process. The
setting is process-wide, so only charrec's own commands set it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

# mallopt parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 256 * 2**20
TRIM_THRESHOLD = 1024 * 2**20


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds; True if set, False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others have no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
