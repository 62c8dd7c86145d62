"""``StaticSource``: what `serve` does with the files of ``zones.static_dir`` while it
runs. Each file stands alone: one that cannot be served keeps its zone at the last good
content and spoils no other zone; each problem is logged once, not at every refresh."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from remote_backend.zones.static import StaticSource

GOOD = "@ IN MX 10 mail\nmail IN A 192.0.2.25\n"


def contents(source: StaticSource, zone: str) -> set[tuple[str, str, str]]:
    static = source.data.get(zone)
    assert static is not None, f"no static content for {zone}"
    return {(r.owner, r.rtype, r.content) for r in static.records}


def test_a_file_of_an_unserved_zone_spoils_no_other(tmp_path: Path) -> None:
    (tmp_path / "example.com.zone").write_text(GOOD)
    (tmp_path / "example.org.zone").write_text(GOOD)  # left behind: no longer served
    source = StaticSource(str(tmp_path), ["example.com"], 300)
    assert source.refresh()
    assert ("mail.example.com", "A", "192.0.2.25") in contents(source, "example.com")
    assert list(source.data.errors) == [str(tmp_path / "example.org.zone")]
    assert "no served zone is called 'example.org'" in next(iter(source.data.errors.values()))


def test_a_broken_file_keeps_the_last_good_content_and_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "example.com.zone"
    path.write_text(GOOD)
    source = StaticSource(str(tmp_path), ["example.com"], 300)
    source.refresh()
    good = contents(source, "example.com")
    path.write_text(GOOD + "oops IN MX not-a-number\n")
    with caplog.at_level(logging.ERROR, logger="pphook.static"):
        for _ in range(5):
            assert not source.refresh()
    assert contents(source, "example.com") == good
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 1, logged
    assert logged[0].startswith(f"{path}:3: ")
    assert logged[0].endswith("(serving the last good content of example.com)")
    path.write_text(GOOD.replace("192.0.2.25", "192.0.2.26"))
    assert source.refresh()
    assert ("mail.example.com", "A", "192.0.2.26") in contents(source, "example.com")
    assert not source.data.errors


def test_a_broken_file_at_start_serves_no_static_records_of_that_zone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "example.com.zone").write_text("@ IN SOA a b 1 2 3 4 5\n")
    (tmp_path / "example.net.zone").write_text(GOOD)
    source = StaticSource(str(tmp_path), ["example.com", "example.net"], 300)
    with caplog.at_level(logging.ERROR, logger="pphook.static"):
        source.refresh()
    assert source.data.get("example.com") is None
    assert contents(source, "example.net")
    (message,) = [r.getMessage() for r in caplog.records]
    assert "an SOA record" in message and "last good content" not in message
