"""glibc malloc tuning for a process that holds, and every rebuild replaces, a large
snapshot (at 1M addresses: millions of strings, lists and dicts of megabytes).

Both functions are no-ops where the C library is not glibc (musl has neither call).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache

# glibc's mallopt parameter number of M_MMAP_THRESHOLD (malloc.h)
_M_MMAP_THRESHOLD = -3
# Blocks from this size up get their own mapping, given back to the system when freed.
_MMAP_THRESHOLD = 128 * 1024


@cache
def _libc_function(name: str) -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        function: Callable[..., int] = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):
        return None
    return function


@cache
def fix_mmap_threshold() -> None:
    """Keep glibc from holding on to the memory of freed column lists and dicts.

    By default glibc raises its mmap threshold to the size of every mapped block freed
    (up to 32 MiB), so after the first rebuild frees the last snapshot's lists and
    dicts (megabytes each), their successors come from the heap, where freed space is
    rarely at the top and is never given back: measured at 1M addresses, `serve`
    stayed ~250 MiB above its first idle RSS after two rebuilds. Setting the threshold
    explicitly turns that adjustment off. Once per process (cached).
    """
    mallopt = _libc_function("mallopt")
    if mallopt is not None:
        mallopt(ctypes.c_int(_M_MMAP_THRESHOLD), ctypes.c_int(_MMAP_THRESHOLD))


def release_free_memory() -> None:
    """Give the heap pages freed by a replaced snapshot back to the system.

    The small objects of a snapshot (owner names, rows) live in the heap between
    objects that stay; free() keeps their pages, so RSS ratchets up with every rebuild
    (measured at 1M addresses: ~640 MiB after start, ~1,000 MiB after six rebuilds).
    malloc_trim(0) returns every whole free page inside the heap, not only its top.
    """
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(ctypes.c_size_t(0))
