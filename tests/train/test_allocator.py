"""charrec's commands keep freed tensor memory in the process (glibc's malloc settings)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import resource, sys, torch
from charrec.train.allocator import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def step():  # like a training step: big maps alive together, then all freed
    maps = [torch.ones(10, 2**20) for _ in range(2)]  # 40 MB each
    del maps
for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_freed_tensors_are_reused_instead_of_faulted_in_again() -> None:
    # glibc maps blocks over 32 MB (the most its adaptive threshold reaches) with mmap and
    # unmaps them on free, so by default each step faults its 80 MB in again (4 KiB pages:
    # ~20,000 faults a step); kept, the pages are reused.
    assert _page_faults("default") > 20 * 4000
    assert _page_faults("keep") < 1000
