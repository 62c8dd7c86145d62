"""Bounded soak: dnsperf against pdns + pphook while phpIPAM changes every second.

No error answers, no lost queries, flat memory. Duration: PPHOOK_SOAK_SECONDS
(default 40; the suite must stay fast, run it longer by hand before a release).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from infra.mariadb import MariaDBServer
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, default_sections
from infra.procs import require_binary

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SOAK_SECONDS = int(os.environ.get("PPHOOK_SOAK_SECONDS", "40"))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_soak_with_changing_data(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    dnsperf = require_binary("dnsperf", "dnsperf")
    subnet = phpipam.add_subnet("10.50.0.0/16", phpipam.add_section("Soak"))
    for i in range(2000):
        phpipam.add_address(f"10.50.{i // 250}.{i % 250 + 1}", subnet, hostname=f"s{i}.example.com")
    base = Path(tempfile.mkdtemp(prefix="pphook-soak-"))
    queries = base / "queries.txt"
    lines = [f"s{i}.example.com A" for i in range(0, 2000, 3)]
    lines += [f"{i % 250 + 1}.{i // 250}.50.10.in-addr.arpa PTR" for i in range(1, 2000, 3)]
    queries.write_text("\n".join(lines) + "\n")

    pdns = PdnsServer("placeholder", cache_ttl=20, query_cache_ttl=20, loglevel=4)
    sections = default_sections(
        mariadb.url(),
        f"sqlite:///{base}/state.db",
        base / "pphook.sock",
        server={"pdns_control": "/usr/bin/pdns_control", "pdns_socket_dir": str(pdns.base_dir)},
    )
    serve = PphookServe(sections).start()
    pdns.settings["remote-connection-string"] = serve.pipe_connection()
    stop = threading.Event()
    changes = 0

    def churn() -> None:
        nonlocal changes
        writer = PhpipamData(mariadb.connect_admin())
        try:
            i = 0
            while not stop.wait(1.0):  # one change per second: insert, rename, delete
                row = writer.add_address(
                    f"10.50.200.{i % 250 + 1}", subnet, hostname=f"c{i}.example.com"
                )
                writer.update_address(row, hostname=f"c{i}-renamed.example.com")
                if i % 2:
                    writer.delete_address(row)
                i += 1
                changes += 1
        finally:
            writer.close()

    try:
        pdns.start(wait_zone="example.com")
        assert serve.proc is not None
        churner = threading.Thread(target=churn, daemon=True)
        churner.start()
        warm = subprocess.run(
            [
                dnsperf,
                "-s",
                "127.0.0.1",
                "-p",
                str(pdns.port),
                "-d",
                str(queries),
                "-l",
                "5",
                "-c",
                "4",
                "-Q",
                "1000",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert warm.returncode == 0, warm.stderr
        rss_start = rss_kib(serve.proc.pid)
        run = subprocess.run(
            [
                dnsperf,
                "-s",
                "127.0.0.1",
                "-p",
                str(pdns.port),
                "-d",
                str(queries),
                "-l",
                str(SOAK_SECONDS),
                "-c",
                "4",
                "-Q",
                "1500",
            ],
            capture_output=True,
            text=True,
            timeout=SOAK_SECONDS + 60,
            check=False,
        )
        rss_end = rss_kib(serve.proc.pid)
    finally:
        stop.set()
        pdns.stop()
        serve.cleanup()
    out = run.stdout
    assert run.returncode == 0, run.stderr + out
    completed = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))  # type: ignore[union-attr]
    codes = re.search(r"Response codes:\s+(.*)", out).group(1)  # type: ignore[union-attr]
    assert completed > SOAK_SECONDS * 500, out
    assert lost == 0, out
    assert codes.startswith("NOERROR") and "," not in codes, f"error answers: {codes}"
    assert changes >= SOAK_SECONDS - 5
    # flat memory: no growth beyond noise while data churns and queries flow
    assert rss_end <= rss_start * 1.15 + 8 * 1024, f"RSS {rss_start} KiB -> {rss_end} KiB"
