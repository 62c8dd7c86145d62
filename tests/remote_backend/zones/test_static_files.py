"""Static zone files (SPEC §10.1): what a file adds, every refusal with its file and
line, and how `serve`'s source of them behaves when files break, appear or go away."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from remote_backend.zones.static import (
    StaticFileError,
    StaticRecord,
    StaticSource,
    file_name,
    load_static_zone,
)

GOOD = """$TTL 600
@          MX    10 mail
@          NS    ns3.example.net.
@          TXT   "v=spf1 mx -all"
_sip._tcp  60 IN SRV 0 5 5060 sip
sip        A     192.0.2.10
www        CNAME web.example.net.
sub        NS    ns.sub
sub        DS    12345 8 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE0F4E38A2A76F6D0AC0D6A1D2
ns.sub     A     192.0.2.53
"""


def test_a_file_adds_its_records_with_their_ttls_and_lines(tmp_path: Path) -> None:
    zone = load_static_zone(_write(tmp_path, GOOD), "example.com", 3600)
    records = {(r.owner, r.rtype): r for r in zone.records}
    assert records[("example.com", "MX")] == StaticRecord(
        "example.com", "MX", 600, "10 mail.example.com"
    )
    assert records[("_sip._tcp.example.com", "SRV")].ttl == 60  # explicit beats $TTL
    assert records[("_sip._tcp.example.com", "SRV")].line == 5
    assert records[("www.example.com", "CNAME")].content == "web.example.net"
    assert records[("ns.sub.example.com", "A")].line == 10
    assert zone.apex_ns == ("ns3.example.net",)  # added to the zone's NS set
    assert ("example.com", "NS") not in records
    assert zone.cuts == ("sub.example.com",)
    assert zone.cname_owners == {"www.example.com"}


def test_default_ttl_is_zones_ttl_without_ttl_directive(tmp_path: Path) -> None:
    zone = load_static_zone(_write(tmp_path, "mail A 192.0.2.25\n"), "example.com", 1234)
    assert [r.ttl for r in zone.records] == [1234]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("$TTL 300\n@ SOA ns1 host 1 2 3 4 5\n", 2, "an SOA record: pphook builds the SOA"),
        (
            "ok A 192.0.2.1\nwww.other.org. A 192.0.2.1\n",
            2,
            "www.other.org is not in zone example.com",
        ),
        ("$ORIGIN other.org.\nwww A 192.0.2.1\n", 2, "www.other.org is not in zone example.com"),
        ("@ CNAME elsewhere.example.net.\n", 1, "a CNAME at the zone apex example.com"),
        ("www A 192.0.2.1\nwww CNAME web\n", 2, "has a CNAME and other data (A)"),
        ("www CNAME a\nwww CNAME b\n", 2, "www.example.com has several CNAMEs"),
        ('a 60 TXT "x"\na 120 TXT "y"\n', 2, "different TTLs (60, 120)"),
        ('sub NS ns.sub\nx.sub TXT "no"\n', 2, "x.sub.example.com TXT is below the delegation"),
        ("sub NS ns.sub\nsub MX 10 mail\n", 2, "holds only NS and DS, not MX"),
        ("sub NS ns.sub\na.sub NS ns.a.sub\n", 2, "delegation a.sub.example.com is below"),
        ("ok A 192.0.2.1\n\nbad A 999.1.1.1\n", 3, "bad.example.com:"),
        ("ok A 192.0.2.1\nbad FOO bar\n", 2, "bad.example.com: unknown rdatatype 'FOO'"),
        ('a TXT ( "x"\n "y" )\nb A 1.2.3\n', 3, "b.example.com:"),
        ("$INCLUDE /etc/passwd\n", 1, "'$INCLUDE' is not allowed"),
        ('a CH TXT "x"\n', 1, "RR class is not zone's class"),
    ],
)
def test_each_refusal_names_file_line_and_what(
    tmp_path: Path, text: str, line: int, what: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(StaticFileError) as caught:
        load_static_zone(path, "example.com", 3600)
    assert caught.value.path == str(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert what in str(caught.value)


def test_a_file_that_is_not_text_or_not_a_file(tmp_path: Path) -> None:
    path = tmp_path / "example.com.zone"
    path.write_bytes(b'a A 192.0.2.1\nb TXT "\xff"\n')
    with pytest.raises(StaticFileError, match=r"example.com.zone:2: not UTF-8 text"):
        load_static_zone(path, "example.com", 3600)
    path.unlink()
    path.mkdir()
    with pytest.raises(StaticFileError, match="not a regular file"):
        load_static_zone(path, "example.com", 3600)


def test_a_classless_zone_file_name_has_a_dash_for_the_slash() -> None:
    assert file_name("64/26.2.0.192.in-addr.arpa") == "64-26.2.0.192.in-addr.arpa.zone"
    assert file_name("example.com") == "example.com.zone"


# -- the source `serve` re-reads -------------------------------------------------------

ZONES = ("example.com", "2.0.192.in-addr.arpa", "64/26.2.0.192.in-addr.arpa")


def test_a_stray_file_is_an_error_and_the_other_files_are_still_served(tmp_path: Path) -> None:
    (tmp_path / "example.com.zone").write_text("mail A 192.0.2.25\n")
    (tmp_path / "64-26.2.0.192.in-addr.arpa.zone").write_text("70 PTR host.example.com.\n")
    (tmp_path / "old.example.org.zone").write_text("x A 192.0.2.1\n")
    (tmp_path / "README").write_text("not a zone file: ignored\n")
    source = StaticSource(str(tmp_path), ZONES, 3600)
    assert source.refresh()
    assert set(source.data.zones) == {"example.com", "64/26.2.0.192.in-addr.arpa"}
    (problem,) = source.data.errors.values()
    assert "old.example.org.zone: no served zone is called 'old.example.org'" in problem


def test_a_broken_file_keeps_the_last_good_content_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "example.com.zone"
    path.write_text("mail A 192.0.2.25\n")
    source = StaticSource(str(tmp_path), ZONES, 3600)
    assert source.refresh()
    good = source.data.zones["example.com"]
    _rewrite(path, "mail A 192.0.2.25\nbad A 1.2.3\n")
    with caplog.at_level(logging.ERROR, logger="pphook.static"):
        assert not source.refresh()
        assert not source.refresh()  # the same broken file: not logged again
    assert source.data.zones["example.com"] == good
    assert list(source.data.errors) == ["example.com"]
    assert [r.getMessage().count("example.com.zone:2") for r in caplog.records] == [1]
    _rewrite(path, "mail A 192.0.2.26\n")
    assert source.refresh()
    assert source.data.errors == {}
    assert [r.content for r in source.data.zones["example.com"].records] == ["192.0.2.26"]
    path.unlink()
    assert source.refresh()
    assert source.data.zones == {}


def test_a_record_that_only_moves_within_its_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "example.com.zone"
    path.write_text("mail A 192.0.2.25\n")
    source = StaticSource(str(tmp_path), ZONES, 3600)
    source.refresh()
    _rewrite(path, "; a comment now\n\nmail A 192.0.2.25\n")
    assert not source.refresh()
    assert source.data.zones["example.com"].records[0].line == 1  # the content kept


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "example.com.zone"
    path.write_text(text)
    return path


def _rewrite(path: Path, text: str) -> None:
    """Write and make sure the change is seen even within the clock's resolution."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))
