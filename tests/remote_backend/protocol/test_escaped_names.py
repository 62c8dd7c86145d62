"""Names with master-file escapes (a static file may hold ``a\\032b`` or ``odd\\.dot``,
legal DNS names) reach pdns as valid JSON in every reply, and the shared snapshot's
validation accepts what serve wrote."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from infra.rb_support import SETTINGS, MemoryNotified

from remote_backend.build.publisher import Publisher
from remote_backend.protocol.handler import BackendHandler
from remote_backend.shared.reader import SharedReader
from remote_backend.shared.validate import validate_environment
from remote_backend.shared.writer import SharedSnapshot
from remote_backend.snapshot import assemble, compute_zone_contents
from remote_backend.state import StateStore
from remote_backend.zones.static import StaticData, StaticRecord, StaticZone
from validators.model import Publication

STATIC = StaticData(
    {
        "example.com": StaticZone(
            "example.com",
            (
                StaticRecord("a\\032b.example.com", "A", 3600, "192.0.2.7"),
                StaticRecord("odd\\.dot.example.com", "CNAME", 3600, "a\\032b.example.com"),
                StaticRecord("q.example.com", "TXT", 3600, '"say \\"hi\\""'),
            ),
        ),
        "10.in-addr.arpa": StaticZone(
            "10.in-addr.arpa",
            (StaticRecord("9.9.9.10.in-addr.arpa", "PTR", 3600, "a\\032b.example.com"),),
        ),
    }
)


def test_escaped_names_are_valid_json_everywhere(tmp_path: Path) -> None:
    settings = replace(SETTINGS)
    contents = compute_zone_contents(Publication((), (), ()), settings, STATIC)
    draft = assemble(contents, None, settings)
    shared = SharedSnapshot(tmp_path / "snap")
    Publisher(shared, StateStore(f"sqlite:///{tmp_path}/state.db"), settings).publish(draft)
    validate_environment(shared.env, shared.directory)  # raises when it would be refused
    handler = BackendHandler(SharedReader(shared.directory, shared.env).current, MemoryNotified())
    zones = json.loads(handler.handle_line(b'{"method":"getAllDomains"}'))["result"]
    records = []
    for zone in zones:
        line = {"method": "list", "parameters": {"zonename": zone["zone"], "domain_id": zone["id"]}}
        records += json.loads(handler.handle_line(json.dumps(line).encode()))["result"]
    seen = {(r["qname"], r["qtype"], r["content"]) for r in records}
    assert ("a\\032b.example.com.", "A", "192.0.2.7") in seen
    assert ("odd\\.dot.example.com.", "CNAME", "a\\032b.example.com") in seen
    assert ("9.9.9.10.in-addr.arpa.", "PTR", "a\\032b.example.com") in seen
    for qname, qtype in (("odd\\.dot.example.com.", "ANY"), ("9.9.9.10.in-addr.arpa.", "PTR")):
        line = {"method": "lookup", "parameters": {"qname": qname, "qtype": qtype}}
        reply = json.loads(handler.handle_line(json.dumps(line).encode()))
        assert reply["result"] and all("\\" in r["content"] for r in reply["result"])
    shared.close()
