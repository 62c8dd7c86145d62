"""`pphook serve`, ended (``os._exit(9)``, as abrupt as SIGKILL) right after one step of
a publication, for the tests that prove a serial is durable before it is served.

    PPHOOK_TEST_EXIT_AFTER=STEP PPHOOK_TEST_ARMED=FILE python exit_after_step.py ARGS...

runs ``pphook ARGS...`` with STEP wrapped; once FILE exists, the next time the step
completes the process ends. The steps, in the order a publication runs them:

- ``serials``: the state store committed the new serials (``StateStore.serials_for``);
- ``commit``: the shared snapshot committed and fsynced (``SharedSnapshot._commit``);
- ``announce``: the generation counter moved, coprocesses serve it
  (``SharedSnapshot._announce``); the cache purge has not run;
- ``published``: the whole refresh returned, purge included (``LiveSnapshot.refresh``).

Production code has no hook for this: the wrapper replaces the methods before `serve`
starts, in its own process only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from remote_backend.build.live import LiveSnapshot
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.state.store import StateStore

STEPS: dict[str, tuple[type, str]] = {
    "serials": (StateStore, "serials_for"),
    "commit": (SharedSnapshot, "_commit"),
    "announce": (SharedSnapshot, "_announce"),
    "published": (LiveSnapshot, "refresh"),
}


def exit_after(step: str, armed: Path) -> None:
    cls, name = STEPS[step]
    original: Callable[..., Any] = getattr(cls, name)

    def wrapped(self: object, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        # `published`: only a refresh that changed what is served counts
        if armed.exists() and (step != "published" or result is True):
            sys.stderr.write(f"test: exiting right after step {step}\n")
            sys.stderr.flush()
            os._exit(9)
        return result

    setattr(cls, name, wrapped)


if __name__ == "__main__":
    exit_after(os.environ["PPHOOK_TEST_EXIT_AFTER"], Path(os.environ["PPHOOK_TEST_ARMED"]))
    from remote_backend.cli import main

    sys.exit(main(sys.argv[1:]))
