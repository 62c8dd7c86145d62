"""Incremental builds (only changed rows re-read) equal full builds, on a real MariaDB.

A refresh after a moved change token calls ``build(full=False)``; whatever happened in
phpIPAM in between (inserts, edits, deletes, subnet changes, rows inserted with
explicit ids below the highest one), the result must be what a full read gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData, ip_to_decimal

from remote_backend.build.builder import Build, SnapshotBuilder, open_builder
from remote_backend.build.merge import merge_columns
from remote_backend.config import Config, parse_config
from remote_backend.ipam import reader as ipam_reader
from remote_backend.ipam import transaction as reader_module
from validators.model import AddressColumns, AddressRow

pytestmark = pytest.mark.integration


def make_config(url: str, tmp_path: Path, **policy: Any) -> Config:
    return parse_config(
        str(tmp_path / "pphook.toml"),
        {
            "ipam": {"url": url},
            "state": {"url": f"sqlite:///{tmp_path}/state.db"},
            "zones": {
                "forward": ["example.com"],
                "reverse": ["10.0.0.0/8", "2001:db8::/32"],
                "nameservers": ["ns1.example.com"],
                "hostmaster": "hostmaster.example.com",
                "default_domain": "example.com",
            },
            "policy": policy,
        },
        environ={},
    )


@pytest.fixture(params=["one scan", "two scans"])
def builders(
    request: pytest.FixtureRequest,
    mariadb: MariaDBServer,
    phpipam: PhpipamData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Any]:
    """(incremental builder, full builder) over the same database and state store; the
    changed rows found by one scan of the table, or (as from 100k rows) by two scans
    of its halves at once on two connections."""
    monkeypatch.setattr(
        ipam_reader, "PARALLEL_SCAN_ROWS", 1 if request.param == "two scans" else 1 << 62
    )
    phpipam.generate(3000, seed=7)
    config = make_config(mariadb.url(), tmp_path)
    incremental, full = open_builder(config), open_builder(config)
    incremental.build(full=True)
    yield incremental, full
    for b in (incremental, full):
        b.reader.engine.dispose()


def columns_of(build: Build) -> list[tuple[Any, ...]]:
    c = build.data.columns
    return list(
        zip(c.ids, c.subnet_ids, c.ip_addrs, c.hostnames, c.macs, c.states, c.ptr_ignores,
            c.edit_dates, strict=True)
    )  # fmt: skip


def assert_same(inc: Build, full: Build) -> None:
    assert not inc.full, "the incremental path was not taken"
    assert columns_of(inc) == columns_of(full)
    assert inc.publication == full.publication
    a, b = inc.snapshot, full.snapshot
    assert dict(a.names) == dict(b.names)
    assert a.ents == b.ents
    assert [(z.name, z.fingerprint, z.serial, z.record_count) for z in a.zones] == [
        (z.name, z.fingerprint, z.serial, z.record_count) for z in b.zones
    ]


def step(builders: tuple[SnapshotBuilder, SnapshotBuilder]) -> tuple[Build, Build]:
    incremental, full = builders
    inc = incremental.build(full=False)
    ref = full.build(full=True)
    assert_same(inc, ref)
    return inc, ref


def subnet_of(phpipam: PhpipamData, cidr: str) -> int:
    section = phpipam.add_section(f"S {cidr}")
    return phpipam.add_subnet(cidr, section)


def test_inserts_edits_and_deletes(builders: Any, phpipam: PhpipamData) -> None:
    subnet = subnet_of(phpipam, "10.77.0.0/24")
    new = [
        phpipam.add_address(f"10.77.0.{i}", subnet, hostname=f"new{i}.example.com")
        for i in range(1, 6)
    ]
    inc, _ = step(builders)
    assert inc.snapshot.rrs("new3.example.com") == (("A", "10.77.0.3"),)

    phpipam.update_address(new[0], hostname="renamed.example.com")
    phpipam.update_address(new[1], mac="02:00:00:00:00:99", state=3)
    phpipam.update_address(1, hostname="Bad_Name.example.com")  # a generated row
    inc, _ = step(builders)
    assert inc.snapshot.rrs("renamed.example.com") == (("A", "10.77.0.1"),)

    phpipam.delete_address(new[2])
    phpipam.delete_address(5)
    inc, _ = step(builders)
    assert inc.snapshot.rrs("new3.example.com") == ()

    # an edit, a delete and an insert in one refresh; a row count that stays the same
    phpipam.update_address(new[3], ip="10.77.0.200")
    phpipam.delete_address(new[4])
    phpipam.add_address("10.77.0.50", subnet, hostname="fifty.example.com")
    step(builders)

    # nothing changed: still identical (and nothing re-read but the recent edits)
    step(builders)


def test_duplicates_and_conflicts_follow_the_changes(builders: Any, phpipam: PhpipamData) -> None:
    subnet = subnet_of(phpipam, "10.78.0.0/24")
    a = phpipam.add_address("10.78.0.1", subnet, hostname="dup.example.com")
    b = phpipam.add_address("10.78.0.2", subnet, hostname="dup.example.com")
    phpipam.add_address("10.78.0.1", None, hostname="other.example.com")  # same IP
    step(builders)
    phpipam.delete_address(a)  # b now wins the name
    inc, _ = step(builders)
    assert inc.snapshot.rrs("dup.example.com") == (("A", "10.78.0.2"),)
    phpipam.update_address(b, PTRignore=1)
    step(builders)


def test_subnet_changes(builders: Any, phpipam: PhpipamData) -> None:
    subnet = subnet_of(phpipam, "10.79.0.0/24")
    phpipam.add_address("10.79.0.1", subnet, hostname="s1.example.com")
    step(builders)
    # the parent becomes IPv6: the same decimal now means another address
    phpipam.update_subnet(subnet, mask="64")
    step(builders)
    phpipam.delete_subnet(subnet, with_addresses=False)  # rows keep a dangling subnetId
    step(builders)
    phpipam.add_section("Another")
    phpipam.execute("INSERT INTO ipTags (type) VALUES ('Extra')")  # reset() removes it
    inc, _ = step(builders)
    assert "Extra" in inc.data.tags.values()


def test_rows_inserted_below_the_highest_id_are_found(builders: Any, phpipam: PhpipamData) -> None:
    subnet = subnet_of(phpipam, "10.80.0.0/24")
    # explicit ids, editDate NULL: neither "id > last max" nor editDate shows them,
    # the row count and the id sum do
    phpipam.delete_address(10)
    phpipam.delete_address(20)
    step(builders)
    phpipam.add_address("10.80.0.10", subnet, hostname="reused.example.com", id=10)
    inc, _ = step(builders)
    assert inc.snapshot.rrs("reused.example.com") == (("A", "10.80.0.10"),)
    # one deleted and one inserted below the max: the same count, another id sum
    phpipam.delete_address(30)
    phpipam.add_address("10.80.0.20", subnet, hostname="refill.example.com", id=20)
    inc, _ = step(builders)
    assert inc.snapshot.rrs("refill.example.com") == (("A", "10.80.0.20"),)


def test_changes_that_hide_from_editdate_wait_for_the_full_build(
    builders: Any, phpipam: PhpipamData
) -> None:
    """Direct SQL can change a row without moving editDate: an UPDATE setting editDate
    itself to an old value, or a row deleted and inserted again under the same id.
    Incremental builds do not see that; the periodic full build does."""
    incremental, _ = builders
    subnet = subnet_of(phpipam, "10.82.0.0/24")
    phpipam.update_address(30, hostname="sneaky.example.com", editDate="2020-01-01 00:00:00")
    phpipam.delete_address(40)
    phpipam.add_address("10.82.0.40", subnet, hostname="same-id.example.com", id=40)
    inc = incremental.build(full=False)
    assert not inc.full
    assert inc.snapshot.rrs("sneaky.example.com") == ()
    assert inc.snapshot.rrs("same-id.example.com") == ()
    again = incremental.build(full=True)
    assert again.snapshot.rrs("sneaky.example.com") != ()
    assert again.snapshot.rrs("same-id.example.com") == (("A", "10.82.0.40"),)
    step(builders)


def test_many_changes_fall_back_to_a_full_read(builders: Any, phpipam: PhpipamData) -> None:
    incremental, full = builders
    phpipam.execute("UPDATE ipaddresses SET state = 3 WHERE id <= 2000")
    inc = incremental.build(full=False)
    ref = full.build(full=True)
    assert inc.full  # more than a quarter of the rows changed: read them all
    assert inc.publication == ref.publication


def test_merge_columns() -> None:
    def cols(*ids: int, tag: str = "old") -> AddressColumns:
        return AddressColumns.from_rows(AddressRow(i, 1, str(i), f"{tag}{i}") for i in ids)

    old = cols(2, 4, 6, 8)
    merged = merge_columns(old, cols(1, 4, 7, 9, tag="new"), frozenset({6, 5}))
    assert list(merged.ids) == [1, 2, 4, 7, 8, 9]
    assert list(merged.hostnames) == ["new1", "old2", "new4", "new7", "old8", "new9"]
    assert list(old.ids) == [2, 4, 6, 8]  # untouched
    many = merge_columns(cols(*range(0, 2000, 2)), cols(*range(1, 2000, 2), tag="n"), set())
    assert list(many.ids) == list(range(2000))


def test_hostile_text_reads_the_same_in_chunks_and_row_by_row(
    mariadb: MariaDBServer,
    phpipam: PhpipamData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Values holding the chunk separator, invalid UTF-8, NULL and '' side by side."""
    phpipam.generate(600, seed=3)
    subnet = subnet_of(phpipam, "10.81.0.0/24")
    hostile: list[tuple[Any, Any, Any]] = [
        (b"a\x1fb.example.com", b"02:00:00:00:00:01", ip_to_decimal("10.81.0.1")),
        (b"x\xff\xfe.example.com", None, ip_to_decimal("10.81.0.2")),
        (b"", b"", ip_to_decimal("10.81.0.3")),
        (None, b"", ip_to_decimal("10.81.0.4")),
        (b"e\x1fe\x1f", b"\x1f", b"1\x1f2"),
        (b"\xc3", b"\x1f\x1f", b"9"),  # a sequence cut by the separator
    ]
    # a binary column keeps invalid UTF-8 as it is (a utf8mb4 one would store '?')
    phpipam.execute("ALTER TABLE ipaddresses MODIFY COLUMN hostname VARBINARY(255) NULL")
    try:
        for host, mac, ip in hostile:
            phpipam.execute(
                "INSERT INTO ipaddresses (subnetId, ip_addr, hostname, mac)"
                " VALUES (%s, %s, %s, %s)",  # bytes go as _binary literals
                (subnet, ip, host, mac),
            )
        builder = open_builder(make_config(mariadb.url(), tmp_path))
        row_by_row = []
        plain = reader_module.columns_of_rows

        def spy(rows: Any) -> AddressColumns:
            columns = plain(rows)
            row_by_row.extend(columns.ids)
            return columns

        try:
            monkeypatch.setattr(reader_module, "columns_of_rows", spy)
            fast = builder.reader.read().columns
            assert 0 < len(row_by_row) <= 300, "only the chunk with separators is read by rows"
            monkeypatch.undo()
            everything = builder.reader.read_addresses(fast.ids)  # plain rows, by id
        finally:
            builder.reader.engine.dispose()
    finally:
        phpipam.execute("TRUNCATE TABLE ipaddresses")  # invalid UTF-8 cannot go back
        phpipam.execute("ALTER TABLE ipaddresses MODIFY COLUMN hostname VARCHAR(255) NULL")
    assert list(fast.ids) == list(everything.ids)
    for name in ("subnet_ids", "ip_addrs", "hostnames", "macs", "states", "ptr_ignores"):
        assert list(getattr(fast, name)) == list(getattr(everything, name)), name
    assert list(fast.edit_dates) == list(everything.edit_dates)
    by_id = dict(zip(fast.ids, fast.hostnames, strict=True))
    last = max(fast.ids)
    assert by_id[last - 5] == "a\x1fb.example.com"
    assert by_id[last - 4] == "x\ufffd\ufffd.example.com"
    assert by_id[last - 3] == "" and by_id[last - 2] is None
    assert dict(zip(fast.ids, fast.macs, strict=True))[last - 2] == ""
    assert by_id[last] == "\ufffd"


def test_a_refresh_that_finds_no_change_builds_nothing(builders: Any, phpipam: PhpipamData) -> None:
    incremental, _ = builders
    subnet = subnet_of(phpipam, "10.78.0.0/24")
    row = phpipam.add_address("10.78.0.1", subnet, hostname="fresh.example.com")
    inc, _ = step(builders)
    # the edit is recent, so the next refresh reads the row again: same values, so
    # there is nothing to build (no merge, validation or assembly)
    assert incremental.draft(full=False) is None
    phpipam.update_address(row, hostname="fresher.example.com")
    changed, _ = step(builders)
    assert changed.snapshot is not inc.snapshot
    assert changed.snapshot.rrs("fresher.example.com") == (("A", "10.78.0.1"),)


def test_a_deletion_reads_the_ids_of_its_bucket_only(
    builders: Any, phpipam: PhpipamData, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the per-bucket counts tell where ids differ: only that bucket's ids are read,
    # not the table's
    calls: list[tuple[int, int]] = []
    ids_between = reader_module.ReadTransaction.ids_between

    def spy(self: Any, lo: int, hi: int) -> list[int]:
        calls.append((lo, hi))
        return ids_between(self, lo, hi)

    monkeypatch.setattr(reader_module.ReadTransaction, "ids_between", spy)
    phpipam.delete_address(5)
    inc, _ = step(builders)
    assert 5 not in inc.data.columns.ids
    assert len(calls) == 1 and calls[0][0] < 5 <= calls[0][1], calls


def test_a_reader_without_edit_dates_still_finds_edits(
    mariadb: MariaDBServer, phpipam: PhpipamData, tmp_path: Path
) -> None:
    # `serve` keeps no editDate of a million rows; changes are still found by it in SQL
    phpipam.generate(200, seed=3)
    config = make_config(mariadb.url(), tmp_path)
    lean, dated = open_builder(config, edit_dates=False), open_builder(config)
    try:
        first = lean.build(full=True)
        assert set(first.data.columns.edit_dates) == {None}
        assert any(dated.build(full=True).data.columns.edit_dates)
        phpipam.update_address(7, hostname="edited7.example.com")
        inc = lean.build(full=False)
        assert not inc.full
        assert inc.snapshot.rrs("edited7.example.com")
        assert set(inc.data.columns.edit_dates) == {None}
    finally:
        for b in (lean, dated):
            b.reader.engine.dispose()
