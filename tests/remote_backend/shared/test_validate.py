"""What a valid generation of the shared snapshot is, and every way a file on disk is
refused before anything serves it (issue 14: "the persisted snapshot is trusted
blindly"). The crafted content is written the way anything else could write it:
through the lmdb module, into the file `serve` published."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import lmdb
import pytest
from infra.rb_support import SETTINGS, make_snapshot

from remote_backend.build.publisher import Publisher
from remote_backend.errors import SharedSnapshotError, SnapshotRefusedError
from remote_backend.shared.layout import (
    MAX_VALUE,
    META_DB,
    META_FORMAT,
    META_GENERATION,
    META_ZONES,
    NAMES_DB,
    key_zone,
    name_key,
)
from remote_backend.shared.notified import SharedNotified
from remote_backend.shared.packing import NotPackable, pack, unpack
from remote_backend.shared.validate import validate_environment
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.state import StateStore

Craft = Callable[[lmdb.Transaction, lmdb._Database, lmdb._Database], None]
WWW = name_key(1, "www.example.com")


@pytest.fixture
def shared(tmp_path: Path) -> SharedSnapshot:
    snap = SharedSnapshot(tmp_path / "snap")
    Publisher(snap, StateStore(f"sqlite:///{tmp_path}/state.db"), SETTINGS).publish(make_snapshot())
    return snap


def craft(shared: SharedSnapshot, change: Craft) -> None:
    env = shared.env
    names, meta = env.open_db(NAMES_DB), env.open_db(META_DB)
    with env.begin(write=True) as txn:
        change(txn, names, meta)


def zones_meta(txn: lmdb.Transaction, meta: lmdb._Database) -> list[dict[str, object]]:
    data = json.loads(txn.get(META_ZONES, db=meta))
    assert isinstance(data, list)
    return data


def set_zone(field: str, value: object) -> Craft:
    def change(txn: lmdb.Transaction, names: lmdb._Database, meta: lmdb._Database) -> None:
        zones = zones_meta(txn, meta)
        zones[0][field] = value
        txn.put(META_ZONES, json.dumps(zones).encode(), db=meta)

    return change


def replace_in(key: bytes, old: bytes, new: bytes) -> Craft:
    """An edit of the value at ``key`` as served, stored back as `serve` would store it
    (whole when it cannot be packed)."""

    def change(txn: lmdb.Transaction, names: lmdb._Database, meta: lmdb._Database) -> None:
        stored = txn.get(key, db=names)
        assert stored is not None
        value = unpack(stored, key_zone(key))
        assert old in value
        txn.put(key, stored_form(value.replace(old, new, 1), key_zone(key)), db=names)

    return change


def stored_form(value: bytes, zone_id: int) -> bytes:
    try:
        return pack(value, zone_id)
    except NotPackable:
        return value


def put(key: bytes, value: bytes) -> Craft:
    def change(txn: lmdb.Transaction, names: lmdb._Database, meta: lmdb._Database) -> None:
        txn.put(key, value, db=names)

    return change


def delete(key: bytes) -> Craft:
    def change(txn: lmdb.Transaction, names: lmdb._Database, meta: lmdb._Database) -> None:
        assert txn.delete(key, db=names)

    return change


def put_meta(key: bytes, value: bytes) -> Craft:
    def change(txn: lmdb.Transaction, names: lmdb._Database, meta: lmdb._Database) -> None:
        txn.put(key, value, db=meta)

    return change


def serial(value: int) -> Craft:
    """The serial of example.com in its meta and its SOA alike (so only the bound is
    wrong, not the agreement)."""

    def change(txn: lmdb.Transaction, names: lmdb._Database, meta: lmdb._Database) -> None:
        zones = zones_meta(txn, meta)
        old = str(zones[0]["serial"])
        zones[0]["serial"] = value
        zones[0]["soa_content"] = str(zones[0]["soa_content"]).replace(old, str(value))
        txn.put(META_ZONES, json.dumps(zones).encode(), db=meta)
        apex = name_key(1, "example.com")
        stored = unpack(txn.get(apex, db=names), 1)
        txn.put(apex, stored_form(stored.replace(old.encode(), str(value).encode()), 1), db=names)

    return change


A_RECORD = b'"content":"10.1.1.5"'
REFUSALS: dict[str, tuple[Craft, str]] = {
    "a head mark inside a stored value": (
        put(WWW, b'\x01A10.1.1.5","ttl":3600,\x01A10.6.6.6","ttl":3600\x02'),
        "a mark byte inside a stored value",
    ),
    "a type letter packing never writes": (
        put(WWW, b'\x01Z10.1.1.5","ttl":3600\x02'),
        "an unknown type letter in a stored value",
    ),
    "an injected key": (
        replace_in(WWW, b'"auth":1}', b'"auth":1,"injected":"x"}'),
        "'www.example.com': not records as pphook writes them",
    ),
    "a raw ESC byte": (
        replace_in(WWW, A_RECORD, b'"content":"10.1.1.5\x1b[2J"'),
        "'www.example.com': not valid JSON",
    ),
    "a quote that ends the content early": (
        replace_in(WWW, A_RECORD, b'"content":"10.1.1.5","x":"'),
        "'www.example.com': not valid JSON",
    ),
    "a second key of the same name": (
        replace_in(WWW, A_RECORD, b'"content":"10.1.1.5","content":"10.6.6.6"'),
        "'www.example.com': not records as pphook writes them",
    ),
    "a name instead of the qname placeholder": (
        replace_in(WWW, b'"qname":\x00', b'"qname":"evil.example.org."'),
        "'www.example.com': not records as pphook writes them",
    ),
    "another zone's id": (
        replace_in(WWW, b'"domain_id":1', b'"domain_id":2'),
        "'www.example.com': not records as pphook writes them",
    ),
    "an SOA away from the apex": (
        replace_in(WWW, b'{"qtype":"A"', b'{"qtype":"SOA"'),
        "'www.example.com': not records as pphook writes them",
    ),
    "an escape json.dumps never writes": (
        put(
            name_key(1, "txt.example.com"),
            b'{"result":[{"qtype":"TXT","qname":\x00,"content":"\\u0041",'
            b'"ttl":3600,"domain_id":1,"auth":1}]}\n',
        ),
        "'txt.example.com': not records as pphook writes them",
    ),
    "a changed address (fingerprint)": (
        replace_in(WWW, A_RECORD, b'"content":"10.1.1.6"'),
        "zone example.com: its content does not match its fingerprint",
    ),
    "a name removed (fingerprint)": (
        delete(WWW),
        "zone example.com: its content does not match its fingerprint",
    ),
    "serial 2^32": (serial(1 << 32), "serial 4294967296 out of range"),
    "a serial the SOA does not carry": (set_zone("serial", 5), ", its meta 5"),
    "a wrong record count": (set_zone("record_count", 99), "records, its meta says 99"),
    "a fingerprint that is no digest": (
        set_zone("fingerprint", "x" * 32),
        "fingerprint 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx' is not 32 hex digits",
    ),
    "an upper-case zone": (set_zone("name", "Example.com"), "not a lower-case DNS name"),
    "zones meta that is no JSON": (put_meta(META_ZONES, b"[{"), "zones meta:"),
    "zones meta with a quote": (
        set_zone("soa_content", 'a"b'),
        "is not plain ASCII text",
    ),
    "another format": (put_meta(META_FORMAT, b"pphook-shared-0"), "format b'pphook-shared-0'"),
    "a generation that is no number": (put_meta(META_GENERATION, b"12x"), "generation b'12x'"),
    "an oversized value": (
        put(name_key(1, "big.example.com"), b"x" * (MAX_VALUE + 1)),
        f"'big.example.com': a value of {MAX_VALUE + 1} bytes",
    ),
    "a key of no served zone": (
        put(name_key(99, "www.example.com"), b"{}"),
        "names of zone id 99, not a served zone",
    ),
    "a key outside its zone": (
        put(name_key(1, "www.example.org"), b"{}"),
        "key b'www.example.org' is not a name in the zone",
    ),
    "an upper-case key": (
        put(name_key(1, "WWW2.example.com"), b"{}"),
        "key b'WWW2.example.com' is not a name in the zone",
    ),
    "a key with a newline": (
        put(name_key(1, "a\nb.example.com"), b"{}"),
        "is not a name in the zone",
    ),
    "no apex": (delete(name_key(1, "example.com")), "zone example.com: no apex"),
    "an apex SOA the meta does not say": (
        replace_in(name_key(1, "example.com"), b"hostmaster.example.com", b"evil.example.com"),
        "the apex: not an SOA record as the zone's meta says",
    ),
}


def test_a_published_generation_is_valid(shared: SharedSnapshot) -> None:
    verdict = validate_environment(shared.env, shared.directory)
    assert verdict.zones is not None and len(verdict.zones) == 3
    assert verdict.names == 64  # every name read, ENTs included
    assert verdict.generation == shared.generation() == shared.validated() == 1


@pytest.mark.parametrize("what", list(REFUSALS))
def test_refused(shared: SharedSnapshot, what: str) -> None:
    change, message = REFUSALS[what]
    craft(shared, change)
    with pytest.raises(SnapshotRefusedError) as refused:
        validate_environment(shared.env, shared.directory)
    assert message in str(refused.value)
    assert str(refused.value).startswith(f"{shared.directory}/data.mdb: ")


def test_the_writer_never_stores_what_readers_would_refuse(shared: SharedSnapshot) -> None:
    zones = shared.stored_zones() or ()
    huge = (name_key(1, "huge.example.com"), b"x" * (MAX_VALUE + 1))
    with pytest.raises(SharedSnapshotError, match=r"huge\.example\.com: an answer of"):
        shared.publish(zones, [huge])
    assert shared.generation() == 1
    assert shared.get(huge[0]) is None


def test_an_oversized_value_deep_in_a_publication_refuses_all_of_it(
    shared: SharedSnapshot,
) -> None:
    """The values are checked a batch at a time: one too large in a later batch still
    refuses the whole publication, the batches before it included."""
    zones = shared.stored_zones() or ()
    items = [(name_key(1, f"h{i:06d}.example.com"), b"v") for i in range(70_000)]
    items[66_000] = (items[66_000][0], b"x" * (MAX_VALUE + 1))
    with pytest.raises(SharedSnapshotError, match=r"h066000\.example\.com: an answer of"):
        shared.publish(zones, items)
    assert shared.generation() == 1
    assert shared.get(items[0][0]) is None


def test_generations_only_move_forward(tmp_path: Path) -> None:
    """A new file (the old one refused and moved aside) starts above every generation
    readers were told about, so they see it move and open it."""
    first = SharedSnapshot(tmp_path / "snap")
    for _ in range(3):
        first.publish(())
    first.close()
    (tmp_path / "snap" / "data.mdb").unlink()
    (tmp_path / "snap" / "lock.mdb").unlink()
    second = SharedSnapshot(tmp_path / "snap")
    assert second.generation() == 0
    assert second.discard() == 4
    assert second.publish(()) == 5
    counter = (tmp_path / "snap" / "generation").read_bytes()
    assert int.from_bytes(counter[:8], "little") == 5


def test_notified_serials_skip_what_set_never_writes(shared: SharedSnapshot) -> None:
    notified = SharedNotified(shared.directory)
    env = lmdb.open(str(notified.directory), max_dbs=1)
    with env.begin(write=True) as txn:
        txn.put(b"example.com", b"7")
        txn.put(b"10.in-addr.arpa", str(1 << 32).encode())
        txn.put(b"8.b.d.0.1.0.0.2.ip6.arpa", b"-3")
        txn.put("ü.example".encode(), b"4")
    env.close()
    assert notified.get_all() == {"example.com": 7}
    assert notified.floors() == {"example.com": 7}
    assert SharedNotified(shared.directory / "missing").floors() == {}
