"""A coprocess lives exactly as long as the pdns that started it.

A pipe coprocess stops on EOF of its stdin (``pipe.py``), and pdns's end of that pipe
closes when pdns stops. That is not enough in practice:

- pdns (4.7 and 4.9 alike) starts its coprocesses with more than their own pipes: a
  probe coprocess holds the write end of another pipe of pdns besides stdin and
  stdout, and a pipe created by one pdns thread while another starts a coprocess can
  end up in that coprocess too, keeping a sibling's stdin open after pdns is gone.
  After a test run with pdns 4.9, four coprocesses were found alive 48 minutes after
  their pdns had stopped, each holding an LMDB reader slot (a slot of a live process
  is never reclaimed, so `serve` could not reuse the pages that reader pinned);
- whatever else keeps a copy of the write end (a shell, a wrapper) does the same.

So a coprocess closes, before it opens anything itself, every pipe and socket it did not
get as stdin, stdout or stderr; and it stops on its own once pdns is gone (it was
reparented), whatever still holds its stdin.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable

log = logging.getLogger("pphook.connector.lifetime")

# How often the coprocess looks whether pdns is still its parent: a leftover coprocess
# lives at most this long after pdns; the check is one system call.
PARENT_POLL = 1.0
_FD_DIR = "/proc/self/fd"


def close_inherited_channels() -> list[int]:
    """Close every pipe and socket descriptor above stderr; the descriptors closed.

    Call it first thing in a coprocess: anything open then was inherited. Regular files
    and terminals are left alone (harmless, and closing them could surprise a wrapper).
    """
    try:
        names = os.listdir(_FD_DIR)
    except OSError:  # no /proc: nothing to find them with
        return []
    closed = []
    for name in names:
        fd = int(name)
        if fd <= 2:
            continue
        try:
            mode = os.fstat(fd).st_mode
        except OSError:  # the descriptor listdir itself used, already closed
            continue
        if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
            os.close(fd)
            closed.append(fd)
    if closed:
        log.debug("closed %d inherited pipe or socket descriptors", len(closed))
    return closed


def exit_when_orphaned(
    poll: float = PARENT_POLL, exit: Callable[[int], object] = os._exit
) -> threading.Thread:
    """Watch the parent from a daemon thread; ``exit(0)`` once it is no longer the one
    this process started under (pdns died: the kernel reparented us)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll)
        log.info("pdns (pid %d) is gone; stopping", parent)
        exit(0)

    thread = threading.Thread(target=watch, name="parent-watch", daemon=True)
    thread.start()
    return thread


def bind_to_parent() -> None:
    """Both of the above: what every pdns coprocess runs before anything else."""
    close_inherited_channels()
    exit_when_orphaned()
