"""What `serve` does with the shared snapshot it finds at start, before it uses or
serves any of it.

The file is validated (``validate``) in a child process: a file damaged in a way
LMDB's C code does not survive (a page pointing anywhere, a fault) then ends a child,
not `serve`, and is refused like any other. Then:

- **valid**: `serve` opens it for writing and marks its generation validated, so
  coprocesses may serve it; its zones' serials become floors of the state store
  (never serve below what this file served);
- **refused** (a value that is not what pphook writes, a bad fingerprint, a serial
  out of range, not an LMDB file, truncated, another format, or the child died or
  hung reading it): it is moved aside (``data.mdb.refused``, kept for inspection,
  never opened for writing: LMDB would walk its pages to free them) and a new, empty
  one takes its place. Coprocesses see the counter move, open the new file and
  answer nothing (SERVFAIL: pdns retries, nothing wrong is cached) until `serve`
  publishes a fresh build there, as soon as phpIPAM answers. Its serials are not
  used as floors (they may be what is wrong); the state store's and the notified
  serials still are.

Either way one log line says what was found, and what happens next.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from remote_backend.shared.layout import (
    EARLIER,
    LOCK_FILE,
    REFUSED_SUFFIX,
    ZoneMeta,
    data_path,
)
from remote_backend.shared.writer import SharedSnapshot

log = logging.getLogger("pphook.shared")

# A million names are checked in a few seconds; a child still busy after this long is
# stuck, and what it reads is refused (a fresh build follows once phpIPAM answers).
VALIDATION_TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class Admitted:
    """The shared snapshot, open for writing, and what `serve` may use of it."""

    shared: SharedSnapshot
    zones: tuple[ZoneMeta, ...]  # of the validated generation (empty: none, or refused)
    refused: str | None  # why the file found was refused


def open_validated(
    directory: str | Path, group: str | None = None, timeout: float = VALIDATION_TIMEOUT
) -> Admitted:
    """Validate what ``directory`` holds, then open it for writing (module doc)."""
    directory = Path(directory)
    if not data_path(directory).exists():
        return Admitted(SharedSnapshot(directory, group), (), None)
    verdict = _verdict(directory, timeout)
    if verdict.ok:
        shared = SharedSnapshot(directory, group)
        zones = shared.stored_zones() or ()
        if zones:
            shared.mark_validated(verdict.generation)
        log.info(
            "shared snapshot in %s checked before serving it: generation %d, %d zones, "
            "%d names, valid (%.2f s)",
            directory,
            verdict.generation,
            len(zones),
            verdict.names,
            verdict.seconds,
        )
        return Admitted(shared, zones, None)
    reason = verdict.reason
    kept = _move_aside(directory)
    shared = SharedSnapshot(directory, group)
    shared.discard()  # a generation above every one announced: readers open the new file
    if EARLIER in reason:
        log.warning(
            "the shared snapshot in %s was %s: it was moved to %s and is rebuilt in the "
            "current format as soon as phpIPAM answers (once, after an upgrade; restart "
            "pdns too, so that its coprocesses run this version)",
            directory,
            reason.rsplit(": ", 1)[-1],
            kept,
        )
        return Admitted(shared, (), reason)
    log.error(
        "the shared snapshot is refused, nothing of it is served: %s. It was moved to %s; "
        "pdns gets SERVFAIL (never this data) until phpIPAM answers and `serve` publishes "
        "a fresh snapshot. Nothing to do unless this repeats (then check the disk, and "
        "what else writes to %s)",
        reason,
        kept,
        directory,
    )
    return Admitted(shared, (), reason)


@dataclass(frozen=True, slots=True)
class _Verdict:
    ok: bool
    generation: int = 0
    names: int = 0
    seconds: float = 0.0
    reason: str = ""


def _verdict(directory: Path, timeout: float) -> _Verdict:
    """``validate``'s verdict from a child process; a child that died or hung, or said
    nothing sensible, is a refusal too."""
    command = [sys.executable, "-m", "remote_backend.shared.validate", str(directory)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return _refusal(directory, f"its validation did not end within {timeout:g} s")
    if done.returncode < 0:
        name = signal.Signals(-done.returncode).name
        return _refusal(directory, f"reading it killed the validating process ({name})")
    try:
        data = json.loads(done.stdout.strip().splitlines()[-1])
        if data["ok"] is True:
            return _Verdict(
                True, int(data["generation"]), int(data["names"]), float(data["seconds"])
            )
        return _Verdict(False, reason=str(data["reason"]))
    except (ValueError, IndexError, KeyError, TypeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return _refusal(directory, f"its validation failed ({tail[:200]})")


def _refusal(directory: Path, reason: str) -> _Verdict:
    return _Verdict(False, reason=f"{data_path(directory)}: {reason}")


def _move_aside(directory: Path) -> Path:
    """Keep the refused data file for inspection (one: the newest replaces an older
    one) and drop its lock file, so that LMDB starts afresh. Coprocesses that mapped
    the old file keep their mapping until they see the new one."""
    data = data_path(directory)
    kept = data.with_name(data.name + REFUSED_SUFFIX)
    os.replace(data, kept)
    (directory / LOCK_FILE).unlink(missing_ok=True)
    return kept
