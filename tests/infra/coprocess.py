"""A real `pphook pipe --snapshot-dir DIR` coprocess, spoken to as pdns speaks to it.

pdns writes one JSON request per line on the coprocess's stdin and reads one reply
line from its stdout; this does the same, with a timeout per reply so a coprocess that
blocks fails the test instead of hanging it. Its log (stderr) goes to a file.
"""

from __future__ import annotations

import json
import select
import subprocess
from pathlib import Path
from typing import Any

from .pphook import pphook_command
from .procs import _die_with_parent, stop_process

NO_RESULT = "no result"  # a reply without "result": pdns answers SERVFAIL


class Coprocess:
    """One `pphook pipe --snapshot-dir` process (start, ask, stop)."""

    def __init__(self, snapshot_dir: Path, log_path: Path) -> None:
        self.snapshot_dir = snapshot_dir
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Coprocess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [*pphook_command(), "pipe", "--snapshot-dir", str(self.snapshot_dir)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        assert self.ask("initialize", {"command": "pphook pipe", "timeout": "0"}) is True
        return self

    def ask(self, method: str, parameters: dict[str, Any], timeout: float = 10.0) -> Any:
        """The ``result`` of one request, or NO_RESULT when the reply has none."""
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        line = json.dumps({"method": method, "parameters": parameters}).encode() + b"\n"
        proc.stdin.write(line)
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        assert ready, f"the coprocess did not answer {method} within {timeout} s: {self.logs()}"
        reply = proc.stdout.readline()
        assert reply, f"the coprocess exited ({proc.poll()}): {self.logs()}"
        data = json.loads(reply)
        return data.get("result", NO_RESULT)

    def lookup(self, qname: str, qtype: str = "ANY") -> Any:
        return self.ask("lookup", {"qname": qname, "qtype": qtype, "zone-id": -1})

    def serial(self, zone: str) -> int | str | None:
        """The SOA serial served for ``zone``; NO_RESULT (SERVFAIL) or None (no SOA)."""
        result = self.lookup(zone + ".", "SOA")
        if result == NO_RESULT or not result:
            return result if result == NO_RESULT else None
        return int(result[0]["content"].split()[2])

    def addresses(self, name: str) -> set[str] | str:
        """The A/AAAA contents served at ``name``, or NO_RESULT."""
        result = self.lookup(name + ".")
        if result == NO_RESULT:
            return NO_RESULT
        return {r["content"] for r in result or () if r["qtype"] in ("A", "AAAA")}

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
        stop_process(self.proc)
        self.proc = None
