"""Memory of a process that holds, and every rebuild replaces, a large snapshot (at 1M
addresses: millions of strings, lists and dicts of megabytes): glibc malloc tuning,
and the release of file pages it mapped but no longer needs.

Each function is a no-op where its C call is missing (musl has no mallopt/malloc_trim).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

_Mapping = TypeVar("_Mapping", bound=dict[Any, Any])

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


_MADV_DONTNEED = 4  # <sys/mman.h> on Linux


def release_mapped_file(path: Path) -> int:
    """Drop this process's page mappings of ``path`` (its shared file mappings);
    returns the bytes of mappings advised.

    `serve` writes the shared snapshot through LMDB's writable map, so every page it
    ever wrote stays mapped, and counted, in its resident memory (~300 MiB at 1M
    addresses), although it never reads most of them again: the coprocesses answer.
    ``MADV_DONTNEED`` on a shared file mapping only unmaps: the pages stay in the
    page cache, written data included (dirty pages are written back as usual), and a
    later access maps them again from there. 0 where /proc or madvise is missing.
    """
    madvise = _libc_function("madvise")
    if madvise is None:
        return 0
    target = str(path.resolve())
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as maps:
            lines = [line for line in maps if line.rstrip("\n").endswith(" " + target)]
    except OSError:
        return 0
    advised = 0
    for line in lines:
        start_text, _, end_text = line.split(" ", 1)[0].partition("-")
        start, end = int(start_text, 16), int(end_text, 16)
        if madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_DONTNEED) == 0:
            advised += end - start
    return advised


def renewed(mapping: _Mapping) -> _Mapping:
    """A copy of ``mapping`` whose values, and whose str keys, are new objects; equal
    tuples become one. Its type (dict or Counter) is kept.

    What a full build keeps of its draft (the problem codes of 37,000 rows, the owner
    counts of 11,000 names at 1M addresses: ~4 MB) was allocated among the draft's
    ~800 MB of small objects, and each object kept holds its 16 KiB pool and the
    1 MiB arena around it: measured, 104 MB of empty pools stayed mapped in `serve`
    behind them. Made again once the draft is freed, these objects fill the gaps of
    the arenas that stay (Python allocates from the fullest arena first), and the
    draft's arenas go back to the system whole. Values: ints or tuples.
    """
    tuples: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    copy = type(mapping)()
    for key, value in mapping.items():
        if type(key) is str:  # exactly: a StrEnum key (a problem code) stays itself
            key = key.encode("utf-8", "surrogatepass").decode("utf-8", "surrogatepass")
        if isinstance(value, tuple):
            copy[key] = tuples.setdefault(value, tuple(list(value)))
        else:
            copy[key] = int(str(value))
    return copy
