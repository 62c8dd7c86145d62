"""The stored items and fingerprints of every zone of a full publication, on two cores
when it pays.

Encoding and hashing every name is the largest part of writing a first publication
(two million names at 1M addresses: ~3 µs each, ~6 s on a 2-vCPU VM) and zones are
independent, so a forked helper takes a share of the zones while `serve` does the
rest: the helper inherits the draft as it is (fork: nothing is copied up front) and
sends back its zones' items and fingerprints, pickled, in an anonymous file. The publication
itself stays one LMDB transaction in `serve` (``shared/writer.py``); the helper never
opens the shared snapshot.

The helper runs only where it is safe and worth it: a process with one thread (the
first publication of `serve`, before its threads start: forking a threaded process can
leave the child on a lock another thread held), two usable cores, and enough names.
If it fails in any way (killed, an exception, a short or unreadable stream) `serve`
encodes the missing zones itself and logs it: the result is the same either way.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import threading
import time
from collections.abc import Sequence
from contextlib import suppress

from remote_backend.snapshot import Snapshot
from remote_backend.snapshot.encoded import hashed_zone_items
from remote_backend.snapshot.fingerprint import Fingerprint
from remote_backend.snapshot.model import Zone
from remote_backend.zones import ZoneSettings

log = logging.getLogger("pphook.publisher")

Items = list[tuple[bytes, bytes]]
Hashed = dict[str, tuple[Items, Fingerprint]]

# Below this many names the fork and the pickled items cost about what they save
# (measured: 100k names 0.20-0.26 s alone, 0.27-0.28 s with a helper; 200k names
# 0.42-0.48 s and 0.36-0.45 s; 2M names 5.2-6.3 s and 3.9-4.0 s).
MIN_NAMES = 200_000
# The helper's share of the names: it also pickles its items (~1.2 µs each) while
# `serve` only loads them (~0.3 µs), so it takes less than half.
HELPER_SHARE = 0.43


def zone_name_count(snapshot: Snapshot, zone: Zone) -> int:
    return len(snapshot.owners_by_zone.get(zone.name, ())) + len(
        snapshot.ents_by_zone.get(zone.name, ())
    )


def helper_zones(snapshot: Snapshot, share: float | None = None) -> list[Zone]:
    """The zones the helper takes: the largest first while they fit in ``share`` of
    the names (``HELPER_SHARE`` unless given; none when one zone holds almost
    everything)."""
    sizes = {z.name: zone_name_count(snapshot, z) for z in snapshot.zones}
    budget = (HELPER_SHARE if share is None else share) * sum(sizes.values())
    taken: list[Zone] = []
    used = 0
    for zone in sorted(snapshot.zones, key=lambda z: (-sizes[z.name], z.name)):
        if used + sizes[zone.name] <= budget:
            taken.append(zone)
            used += sizes[zone.name]
    return taken


def can_fork(snapshot: Snapshot, min_names: int | None = None) -> bool:
    """One thread, two usable cores, enough names (``MIN_NAMES`` unless given)."""
    if threading.active_count() != 1 or not hasattr(os, "memfd_create"):
        return False
    affinity = getattr(os, "sched_getaffinity", None)  # Linux: the cores this may use
    if (len(affinity(0)) if affinity else os.cpu_count() or 1) < 2:
        return False
    least = MIN_NAMES if min_names is None else min_names
    return sum(zone_name_count(snapshot, z) for z in snapshot.zones) >= least


def hashed_items(
    snapshot: Snapshot, settings: ZoneSettings, *, min_names: int | None = None
) -> Hashed:
    """``hashed_zone_items`` of every zone of ``snapshot``, by zone name."""
    theirs = helper_zones(snapshot) if can_fork(snapshot, min_names) else []
    if not theirs:
        return _here(snapshot, settings, snapshot.zones)
    return _with_helper(snapshot, settings, theirs)


def _here(snapshot: Snapshot, settings: ZoneSettings, zones: Sequence[Zone]) -> Hashed:
    """``hashed_zone_items`` of ``zones``, in this process."""
    return {z.name: hashed_zone_items(snapshot, z, settings) for z in zones}


def _with_helper(snapshot: Snapshot, settings: ZoneSettings, theirs: Sequence[Zone]) -> Hashed:
    # An anonymous file, not a pipe: the helper writes all it has as soon as it has it
    # (a pipe would hold it to 64 KiB at a time until `serve` is done with its own
    # zones), and `serve` reads it once the helper has ended.
    started = time.perf_counter()
    try:
        fd = os.memfd_create("pphook-zone-items", os.MFD_CLOEXEC)
    except OSError as exc:
        return _alone(snapshot, settings, f"no anonymous file: {exc}")
    try:
        pid = os.fork()
    except OSError as exc:  # no memory or process left for it
        os.close(fd)
        return _alone(snapshot, settings, f"no helper process: {exc}")
    if pid == 0:  # the helper: never returns
        _helper(snapshot, settings, theirs, fd)
    helper_names = {z.name for z in theirs}
    ours = [z for z in snapshot.zones if z.name not in helper_names]
    try:
        hashed = _here(snapshot, settings, ours)
    except BaseException:
        _stop(pid, fd)
        raise
    own = time.perf_counter() - started
    received = _receive(fd, pid)
    log.info(
        "first publication on two cores: a helper process encoded %d of %d zones; serve "
        "encoded the rest in %.2f s, then "
        "waited for and loaded the helper's for %.2f s",
        len(received),
        len(snapshot.zones),
        own,
        time.perf_counter() - started - own,
    )
    hashed.update({name: received[name] for name in helper_names if name in received})
    hashed.update(_here(snapshot, settings, [z for z in theirs if z.name not in received]))
    return hashed


def _alone(snapshot: Snapshot, settings: ZoneSettings, why: str) -> Hashed:
    log.warning("first publication on one core (%s): it takes longer", why)
    return _here(snapshot, settings, snapshot.zones)


def _stop(pid: int, fd: int) -> None:
    """End the helper when `serve`'s own part failed: nobody will read its zones."""
    os.close(fd)
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _helper(snapshot: Snapshot, settings: ZoneSettings, zones: Sequence[Zone], fd: int) -> None:
    """In the forked child: encode, hash, send, and exit without running anything of
    the parent's (no atexit, no finalizers, no flush of inherited buffers)."""
    status = 1
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20, closefd=False) as out:
            for zone in zones:
                items, fingerprint = hashed_zone_items(snapshot, zone, settings)
                pickle.dump((zone.name, items, fingerprint.total), out, protocol=5)
                out.flush()  # each zone whole in the file, whatever happens next
                del items
        status = 0
    finally:
        os._exit(status)


def _receive(fd: int, pid: int) -> Hashed:
    """What the helper wrote, once it has ended; whatever is missing or unreadable is
    left out (the caller encodes those zones itself)."""
    received: Hashed = {}
    problem = None
    _, status = os.waitpid(pid, 0)
    os.lseek(fd, 0, os.SEEK_SET)  # the file offset is shared with the helper
    with os.fdopen(fd, "rb", buffering=1 << 20) as stream:
        while True:
            try:
                name, items, total = pickle.load(stream)
            except EOFError:
                break
            except Exception as exc:  # a cut or garbled stream: never trusted further
                problem = f"unreadable stream ({type(exc).__name__})"
                break
            received[name] = (items, Fingerprint(total))
    if status != 0 and problem is None:
        problem = f"exit status {os.waitstatus_to_exitcode(status)}"
    if problem is not None:
        log.warning(
            "the helper process that encodes part of the zones failed (%s): %d of its "
            "zones arrived, `serve` encodes the rest itself (same result, slower)",
            problem,
            len(received),
        )
    return received
