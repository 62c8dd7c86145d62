"""The benchmark's parts that decide what is measured, without servers (fast).

The backend-only phase must send lookups in the bytes pdns 4.7 sends (else it would
time another code path of the coprocess than pdns exercises); the static zone must
hold the 1,000 records issue 11 asks for; the gmysql anchor must mark the delegation
as pdnsutil rectify-zone does.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import dns.zone
import pytest

from bench.common import environment
from bench.coprocess import lookups_for, request_line
from bench.dataset import STATIC_RECORDS, static_zone_text
from bench.gmysql import _below_cut
from bench.report import targets
from remote_backend.protocol.handler import _FAST_LOOKUP

ZONES = {"example.com": 1, "128.10.in-addr.arpa": 2}


def test_lookups_are_the_lines_pdns_writes() -> None:
    lines = lookups_for("srv-0000001.dc1.example.com", True, ZONES)
    # apex SOA (no packet), the name between apex and qname, the qname
    assert [json.loads(x)["parameters"]["qname"] for x in lines] == [
        "example.com.",
        "dc1.example.com.",
        "srv-0000001.dc1.example.com.",
    ]
    assert json.loads(lines[0])["parameters"] == {
        "local": "0.0.0.0",
        "qname": "example.com.",
        "qtype": "SOA",
        "real-remote": "0.0.0.0/0",
        "remote": "0.0.0.0",
        "zone-id": -1,
    }
    nx = lookups_for("nx-000000001.lab.example.com", False, ZONES)
    assert json.loads(nx[-1])["parameters"]["qname"] == "*.lab.example.com."
    assert lookups_for("host.example.org", True, ZONES) == []
    for line in lines + nx + lookups_for("5.0.128.10.in-addr.arpa", True, ZONES):
        assert line.endswith(b"\n")
        assert _FAST_LOOKUP.fullmatch(line[:-1]) is not None, line  # pdns's own shape


def test_initialize_is_json11_shaped() -> None:
    line = request_line("initialize", {"timeout": "0", "command": "pphook pipe"})
    assert line == (
        b'{"method": "initialize", "parameters": {"command": "pphook pipe", "timeout": "0"}}\n'
    )


def test_static_zone_holds_1000_records_of_every_kind() -> None:
    zone = dns.zone.from_text(
        static_zone_text(), origin="example.com.", relativize=False, check_origin=False
    )
    kinds: Counter[str] = Counter()
    for _, node in zone.items():
        for rdataset in node:
            kinds[rdataset.rdtype.name] += len(rdataset)
    assert sum(kinds.values()) == STATIC_RECORDS == 1000
    assert {"MX", "TXT", "SRV", "CAA", "CNAME", "A", "AAAA", "NS"} <= set(kinds)
    assert "SOA" not in kinds  # pphook owns the SOA
    sub = zone.get_node("sub.example.com.")
    glue = zone.get_node("ns.sub.example.com.")
    assert sub is not None and glue is not None  # a delegation with its glue


def test_delegation_is_not_authoritative_in_the_anchor() -> None:
    cuts = {("example.com", "sub.example.com")}
    assert _below_cut("sub.example.com", "example.com", cuts)
    assert _below_cut("ns.sub.example.com", "example.com", cuts)
    assert not _below_cut("example.com", "example.com", cuts)
    assert not _below_cut("mail.example.com", "example.com", cuts)
    assert not _below_cut("sub.example.com", "sub.example.com", cuts)  # a child zone's apex


def test_the_report_needs_no_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a machine with nothing but Python and the README's packages has no git (a source
    # tree from an archive): the report says the commit is unknown, it does not fail
    monkeypatch.setenv("PATH", str(tmp_path))
    env = environment()
    assert env.versions["pphook commit"].startswith("unknown")
    assert "uncommitted" not in env.versions["pphook commit"]


def _throughput(backend: str, sent: list[int]) -> dict[str, object]:
    runs = [{"qps": n / 15, "sent": n} for n in sent]
    return {
        "backend": backend,
        "caches": "default",
        "runs": runs,
        "qps_median": sorted(sent)[1] / 15,
    }


def test_the_default_caches_target_says_which_runs_replayed_their_query_file() -> None:
    # a run that sends more queries than its file holds comes back to names within the
    # packet cache's TTL, and its hit rate jumps (bench/notes.md item 16): the target
    # row says how many runs of each backend did, so a reader sees why ratios swing
    results = {
        "settings": {"recommended": "shared", "queries_per_file": 200_000},
        "sizes": {
            "1000000": {
                "throughput": [
                    _throughput("gmysql", [106_000, 106_500, 107_000]),
                    _throughput("shared", [190_000, 201_000, 340_000]),
                ]
            }
        },
    }
    rows = {label: measured for label, measured, _status in targets(results)}
    measured = rows["default pdns caches: QPS >= 3x gmysql"]
    assert "[runs that replayed their 200,000-query file: shared 2/3, gmysql 0/3]" in measured
