"""The shared snapshot: what `serve` publishes is exactly what a reader answers, the
difference from the last publication is all that is written, and a reader that cannot
trust what it finds answers nothing (SERVFAIL), never something wrong."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from infra.rb_support import HOSTS, SETTINGS, MemoryNotified, make_snapshot

from remote_backend.build.publisher import Publisher
from remote_backend.errors import SnapshotUnavailableError
from remote_backend.protocol.handler import BackendHandler
from remote_backend.shared.layout import META_DB, META_ZONES, ZoneMeta, name_key
from remote_backend.shared.notified import SharedNotified
from remote_backend.shared.reader import SharedReader
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.snapshot import Snapshot
from remote_backend.snapshot.assemble import with_serials
from remote_backend.snapshot.encoded import fingerprints
from remote_backend.state import StateStore


@pytest.fixture
def shared(tmp_path: Path) -> SharedSnapshot:
    return SharedSnapshot(tmp_path / "snap")


@pytest.fixture
def publisher(shared: SharedSnapshot, tmp_path: Path) -> Publisher:
    return Publisher(shared, StateStore(f"sqlite:///{tmp_path}/state.db"), SETTINGS)


def served(draft: Snapshot, store: StateStore) -> Snapshot:
    """The in-memory snapshot the same serials make (what one-shot verbs build)."""
    prints = fingerprints(draft, SETTINGS)
    return with_serials(draft, store.serials_for(prints), prints, SETTINGS)


LOOKUPS = [
    (name, qtype)
    for name in (
        "www.example.com",
        "WWW.Example.COM",
        "example.com",
        "sub.example.com",
        "deep.sub.example.com",
        "nx.example.com",
        "5.1.1.10.in-addr.arpa",
        "1.10.in-addr.arpa",
        "10.in-addr.arpa",
        "8.b.d.0.1.0.0.2.ip6.arpa",
        "other.org",
    )
    for qtype in ("ANY", "SOA", "A", "AAAA", "PTR", "NS")
]


def replies(handler: BackendHandler, zones: list[tuple[str, int]]) -> list[bytes]:
    out = []
    for name, qtype in LOOKUPS:
        line = {"method": "lookup", "parameters": {"qname": name + ".", "qtype": qtype}}
        out.append(handler.handle_line(json.dumps(line).encode()))
    for zone, zone_id in zones:
        line = {"method": "list", "parameters": {"zonename": zone + ".", "domain_id": zone_id}}
        out.append(handler.handle_line(json.dumps(line).encode()))
    for method in ("getAllDomains", "getUpdatedMasters"):
        out.append(handler.handle_line(json.dumps({"method": method}).encode()))
    return out


def test_readers_answer_exactly_what_memory_would(
    shared: SharedSnapshot, publisher: Publisher
) -> None:
    draft = make_snapshot()
    published = publisher.publish(draft)
    memory = served(draft, publisher.store)
    reader = SharedReader(shared.directory, shared.env)
    zones = [(z.name, z.id) for z in memory.zones]
    from_memory = replies(BackendHandler(lambda: memory, MemoryNotified()), zones)
    from_shared = replies(BackendHandler(reader.current, MemoryNotified()), zones)
    assert from_shared == from_memory
    assert [(z.name, z.serial) for z in published.zones] == [
        (z.name, z.serial) for z in memory.zones
    ]
    assert b'"content":"10.1.1.5"' in from_shared[0]  # sanity: real answers compared


def test_only_the_difference_is_written(shared: SharedSnapshot, publisher: Publisher) -> None:
    first = publisher.publish(make_snapshot())
    again = publisher.publish(make_snapshot())
    assert again.changed_names == frozenset() and again.changed_zones == frozenset()
    assert [z.serial for z in again.zones] == [z.serial for z in first.zones]
    kept = tuple(h for h in HOSTS if h[0] != "v6only.example.com")
    moved = (*kept, ("new.example.com", "10.9.9.9", True))
    third = publisher.publish(make_snapshot(hosts=moved))
    assert third.changed_names == {
        "v6only.example.com",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa",
        "new.example.com",
        "9.9.9.10.in-addr.arpa",
        "example.com",  # the apex: its SOA serial moved
        "10.in-addr.arpa",
        "8.b.d.0.1.0.0.2.ip6.arpa",
        # empty non-terminals that appeared or went
        "9.10.in-addr.arpa",
        "9.9.10.in-addr.arpa",
    } | {n for n in third.changed_names if n.endswith("1.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")}
    assert third.changed_zones == {"example.com", "10.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa"}
    reader = SharedReader(shared.directory, shared.env)
    assert reader.current().value("v6only.example.com") is None
    assert reader.current().value("new.example.com") is not None


def test_a_reader_follows_each_generation(
    shared: SharedSnapshot, publisher: Publisher, tmp_path: Path
) -> None:
    publisher.publish(make_snapshot())
    reader = SharedReader(shared.directory, shared.env)
    handler = BackendHandler(reader.current, MemoryNotified())
    ask = json.dumps(
        {"method": "lookup", "parameters": {"qname": "x.example.com.", "qtype": "ANY"}}
    )
    assert json.loads(handler.handle_line(ask.encode()))["result"] is False
    publisher.publish(make_snapshot(hosts=(*HOSTS, ("x.example.com", "10.7.7.7", False))))
    reply = json.loads(handler.handle_line(ask.encode()))["result"]
    assert reply == [
        {
            "qtype": "A",
            "qname": "x.example.com.",
            "content": "10.7.7.7",
            "ttl": 3600,
            "domain_id": 1,
            "auth": 1,
        }
    ]


def test_no_snapshot_yet_means_servfail_never_nxdomain(tmp_path: Path) -> None:
    handler = BackendHandler(SharedReader(tmp_path / "missing").current, MemoryNotified())
    for line in (
        b'{"method":"lookup","parameters":{"qname":"www.example.com.","qtype":"ANY"}}',
        b'{"method":"getAllDomains","parameters":{}}',
        b'{"method":"list","parameters":{"zonename":"example.com.","domain_id":1}}',
    ):
        assert "result" not in json.loads(handler.handle_line(line))


def test_damaged_meta_is_refused(shared: SharedSnapshot, publisher: Publisher) -> None:
    publisher.publish(make_snapshot())
    meta = shared.env.open_db(META_DB)
    with shared.env.begin(write=True, db=meta) as txn:
        txn.put(META_ZONES, b'[{"id":1,"name":"example.com\\",\\"evil","serial":1}]')
    os.pwrite(os.open(shared.directory / "generation", os.O_RDWR), (99).to_bytes(8, "little"), 0)
    reader = SharedReader(shared.directory, shared.env)
    with pytest.raises(SnapshotUnavailableError):
        reader.current()


def test_notified_serials_persist_across_coprocesses(shared: SharedSnapshot) -> None:
    first = SharedNotified(shared.directory)
    assert first.get_all() == {}
    first.set("example.com", 42)
    first.set("example.com", 43)
    assert first.get_all() == {"example.com": 43}
    # another coprocess (a new process: pdns restarts them) sees it
    code = (
        "import sys; from remote_backend.shared.notified import SharedNotified; "
        "print(SharedNotified(sys.argv[1]).get_all())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(shared.directory)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "{'example.com': 43}"


def test_the_shipped_pdns_conf_command_line_answers(
    shared: SharedSnapshot, publisher: Publisher, tmp_path: Path
) -> None:
    """pdns-config/pdns.conf's coprocess command as pdns runs it (split on single
    spaces, no shell, no config file): it answers from the published snapshot."""
    from infra.pphook import pphook_command

    conf = Path(__file__).resolve().parents[3] / "pdns-config" / "pdns.conf"
    line = next(
        ln for ln in conf.read_text().splitlines() if ln.startswith("remote-connection-string=")
    )
    command, _, options = line.partition("pipe:command=")[2].partition(",")
    assert options == "timeout=0"  # pdns waits: the coprocess never blocks on anything else
    argv = command.split(" ")
    assert argv[:4] == [
        "/opt/pphook/venv/bin/pphook",
        "pipe",
        "--snapshot-dir",
        "/var/lib/pphook/snapshot",
    ]
    publisher.publish(make_snapshot())
    argv = [*pphook_command(), *argv[1:3], str(shared.directory)]
    lookup = {"method": "lookup", "parameters": {"qname": "www.example.com.", "qtype": "A"}}
    done = subprocess.run(
        argv,
        input=b'{"method":"initialize","parameters":{}}\n' + json.dumps(lookup).encode() + b"\n",
        capture_output=True,
        timeout=30,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PPHOOK_CONFIG"},
    )
    first, second = (json.loads(reply) for reply in done.stdout.splitlines())
    assert first == {"result": True}
    assert [r["content"] for r in second["result"]] == ["10.1.1.5"]


def _mapped_kb(path: Path) -> int:
    """Resident kB of this process's mappings of ``path`` (/proc/self/smaps)."""
    total, inside = 0, False
    target = " " + str(path.resolve())
    with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
        for line in smaps:
            first = line.split(" ", 1)[0]
            if "-" in first and not first.endswith(":"):
                inside = line.rstrip("\n").endswith(target)
            elif inside and line.startswith("Rss:"):
                total += int(line.split()[1])
    return total


def test_serve_does_not_keep_the_pages_it_wrote_mapped(shared: SharedSnapshot) -> None:
    """`serve` writes through LMDB's writable map; the pages it wrote would stay in its
    resident memory (~300 MiB at 1M addresses) though only the coprocesses read them.
    After a publication they are unmapped, and every value is still there: for a
    reader in this process and for another process."""
    zone = ZoneMeta(1, "example.com", 1, "ns1.example.com. h.example.com. 1 1 1 1 1", "0", 2000)
    value = b'{"result":[]}' + b" " * 4000
    puts = [(name_key(1, f"h{i:05d}.example.com"), value) for i in range(2000)]
    shared.publish([zone], puts, append=True)
    data_file = shared.directory / "data.mdb"
    assert _mapped_kb(data_file) < 1024, "the written pages are still mapped"
    with shared.env.begin(db=shared.names) as txn:
        assert txn.get(name_key(1, "h01999.example.com")) == value
    reread = subprocess.run(
        [
            sys.executable,
            "-c",
            "import lmdb,sys; e=lmdb.open(sys.argv[1], readonly=True, lock=False, max_dbs=4);"
            "d=e.open_db(b'names'); t=e.begin(db=d); print(sum(len(v) for _, v in t.cursor()))",
            str(shared.directory),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(reread.stdout) == len(value) * len(puts)


def test_serve_polls_stored_list_replies_without_mapping_them(shared: SharedSnapshot) -> None:
    """The lists thread asks every poll whether each zone's stored reply is still
    usable. Reading a stored reply maps all its pages (lmdb's binding touches every
    page of a value it returns): ~100 MiB of `serve`'s memory at 1M addresses. A reply
    seen usable at the zone's current stamp is not read again."""
    zone = ZoneMeta(1, "example.com", 1, "ns1.example.com. h.example.com. 1 1 1 1 1", "0", 20000)
    puts = [
        (
            name_key(1, f"h{i:05d}.example.com"),
            b'{"result":[{"qtype":"A","qname":\x00,"content":"10.0.%d.%d","ttl":300,'
            b'"domain_id":1,"auth":1}]}\n' % (i // 250 % 250, i % 250),
        )
        for i in range(20000)
    ]
    shared.publish([zone], puts, append=True)
    assert shared.store_lists(60.0) == 1
    data_file = shared.directory / "data.mdb"
    assert _mapped_kb(data_file) < 512, "the stored reply's pages are still mapped"
    for _ in range(3):  # the next polls: nothing to store, nothing read
        assert shared.store_lists(60.0) == 0
    assert _mapped_kb(data_file) < 512, "a poll read the stored reply again"
    # a publication that writes the zone's names moves its stamp: built and stored again
    shared.publish([zone], puts[:5000])
    assert shared.store_lists(60.0) == 1
