"""Several pphook nodes sharing one MariaDB state store serve the same serials."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, default_sections, soa_serial_via_socket

pytestmark = pytest.mark.integration

ZONES = ("example.com", "10.in-addr.arpa")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)


def test_two_nodes_agree_on_serials(mariadb: MariaDBServer, phpipam: PhpipamData) -> None:
    subnet = phpipam.add_subnet("10.20.0.0/24", phpipam.add_section("Nodes"))
    for i in range(1, 6):
        phpipam.add_address(f"10.20.0.{i}", subnet, hostname=f"n{i}.example.com")
    state_url = mariadb.create_database("pphook_state_nodes")
    nodes = []
    try:
        for name in ("a", "b"):
            base = Path(tempfile.mkdtemp(prefix=f"pphook-node-{name}-"))
            sections = default_sections(
                mariadb.url(), state_url, base / "pphook.sock", reverse=("10.0.0.0/8",)
            )
            nodes.append(PphookServe(sections).start())
            time.sleep(1.1)  # the second node starts in a later second: same serial anyway

        def serials(node: PphookServe) -> dict[str, int | None]:
            return {z: soa_serial_via_socket(node.socket, z) for z in ZONES}

        first = serials(nodes[0])
        assert all(first.values())
        assert serials(nodes[1]) == first

        phpipam.add_address("10.20.0.99", subnet, hostname="new.example.com")
        wait_for(
            lambda: all(serials(n)["example.com"] != first["example.com"] for n in nodes),
            10,
            "both nodes see the insert",
        )
        wait_for(
            lambda: serials(nodes[0]) == serials(nodes[1]),
            10,
            "both nodes serve one serial for the new content",
        )
        after = serials(nodes[0])
        assert after["example.com"] > first["example.com"]  # type: ignore[operator]
    finally:
        for node in nodes:
            node.cleanup()
