"""Measuring what a piece of work costs: wall time and peak memory.

Peak memory is the process's resident-set high-water mark over the measured
block on the CPU (Linux lets a process reset its own ``VmHWM`` through
``/proc/self/clear_refs``), and the CUDA allocator's peak on a GPU.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass
class Measurement:
    """Filled in when the ``measure()`` block exits."""

    latency_ms: float = 0.0
    peak_memory_mb: float = 0.0
    device: str = "cpu"


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _cuda():
    """torch.cuda when the work could be on a GPU: torch is loaded and sees one.

    If nothing imported torch, no torch work can run on CUDA, so the CPU path
    applies and measuring does not pay torch's import time.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    return torch.cuda if torch.cuda.is_available() else None


@contextmanager
def measure() -> Iterator[Measurement]:
    """Time the block and record its peak memory (MB) on the device doing the work."""
    m = Measurement()
    cuda = _cuda()
    if cuda is not None:
        cuda.synchronize()
        cuda.reset_peak_memory_stats()
        m.device = "cuda"
    else:
        _reset_peak_rss()
    start = time.perf_counter()
    try:
        yield m
    finally:
        if cuda is not None:
            cuda.synchronize()
        m.latency_ms = (time.perf_counter() - start) * 1000.0
        if cuda is not None:
            m.peak_memory_mb = cuda.max_memory_allocated() / 2**20
        else:
            m.peak_memory_mb = (_status_kb("VmHWM") or _status_kb("VmRSS") or 0) / 1024.0
