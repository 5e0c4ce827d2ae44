"""Returning freed tensor memory to the OS on CPU (glibc), so a training step's peak is its live memory.

glibc's malloc serves blocks below its *mmap threshold* from a heap it rarely shrinks, and raises
that threshold (up to 32 MiB) each time a large block is freed. A CPU training step allocates and
frees activation tensors of many sizes, the heap fragments, and the resident size climbs from step
to step well above what is alive: measured on the cpu preset, 8.4 GB peak for ~3 GB of live tensors
(``bench/grpo_memory.py``, before the compact LM head and micro-batches). Fixing the threshold
makes every block of that size or more its own mapping, unmapped when freed. Each mapping is
zero-filled on first touch, so it costs time: at 1 MiB a 2-row forward+backward of the 135M model
takes 7.8 s instead of 5.1 s and peaks at 1.78 instead of 2.08 GB (``bench/allocator_threshold.py``);
the main job peaked at 4.7 GB instead of 5.0 GB. Hence opt-in: ``cpu_mmap_threshold_mib``.

Applied by the training entry points on Linux with glibc only; elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # from glibc's <malloc.h>
MMAP_THRESHOLD_BYTES = 1 << 20


def map_large_blocks(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes; True when the setting took effect."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
