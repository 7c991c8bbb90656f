"""Memory the process holds but does not use, given back to the system.

A month of a million tickets is read into Arrow text (allocated by Arrow's pool) and worked on
in numpy arrays (allocated by the C library's ``malloc``). Both allocators keep what is freed for
reuse, and neither can reuse the other's: after the import, hundreds of megabytes are held that
the rest of the run never touches. :func:`use_returning_pool` makes Arrow give freed pages back at
once; :func:`release_freed` hands back what ``malloc`` keeps, between the import, the computation
and the writing. Both do nothing where the platform lacks them (a pyarrow without jemalloc, a C
library without ``malloc_trim``, as on Windows and macOS)."""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

import pyarrow as pa


def use_returning_pool() -> None:
    """Arrow's buffers from jemalloc told to give freed pages back at once
    (``jemalloc_set_decay_ms(0)``), where Arrow's default pool keeps them. Call before Arrow
    allocates anything."""
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # ArrowNotImplementedError included: a pyarrow built without jemalloc
        return
    pa.set_memory_pool(pool)


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


def release_freed() -> None:
    """Give back the memory Arrow's pool and ``malloc`` keep after frees (glibc's ``malloc_trim``)."""
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


__all__ = ["release_freed", "use_returning_pool"]
