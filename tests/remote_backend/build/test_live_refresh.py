"""The refresh loop on a real MariaDB: a second edit committed in the same second as
the one a rebuild just picked up (invisible to the second-granular change token) is
still published promptly, and once nothing changes the loop stops rebuilding."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData

from remote_backend.build.builder import open_builder
from remote_backend.build.live import LiveSnapshot
from remote_backend.config import parse_config

pytestmark = pytest.mark.integration


def _live(url: str, tmp_path: Path) -> LiveSnapshot:
    config = parse_config(
        str(tmp_path / "pphook.toml"),
        {
            "ipam": {"url": url},
            "state": {"url": f"sqlite:///{tmp_path}/state.db"},
            "zones": {
                "forward": ["example.com"],
                "reverse": ["10.0.0.0/8"],
                "nameservers": ["ns1.example.com"],
                "hostmaster": "hostmaster.example.com",
            },
            # no safety-net full rebuild during the test: only the token logic counts
            "server": {"refresh_interval": 0.2, "full_reload_interval": 3600},
        },
        environ={},
    )
    return LiveSnapshot(open_builder(config), persist=False)


def test_an_edit_in_the_same_second_as_the_last_read_is_published(
    mariadb: MariaDBServer, phpipam: PhpipamData, tmp_path: Path
) -> None:
    section = phpipam.add_section("Lab")
    subnet = phpipam.add_subnet("10.5.0.0/24", section)
    first = phpipam.add_address("10.5.0.1", subnet, hostname="one.example.com")
    second = phpipam.add_address("10.5.0.2", subnet, hostname="two.example.com")
    live = _live(mariadb.url(), tmp_path)
    live.tick()
    while time.time() % 1 > 0.2:  # start early in a second: both edits land in it
        time.sleep(0.01)
    phpipam.update_address(first, hostname="one-renamed.example.com")
    live.tick()  # the token moved: this rebuild sees the first edit
    snap = live.get()
    assert snap.rrs("one-renamed.example.com") == (("A", "10.5.0.1"),)
    phpipam.update_address(second, hostname="two-renamed.example.com")
    same_second = int(time.time()) == int(snap.built_at)
    deadline = time.monotonic() + 3
    while live.get().rrs("two-renamed.example.com") == () and time.monotonic() < deadline:
        time.sleep(0.2)
        live.tick()
    assert live.get().rrs("two-renamed.example.com") == (("A", "10.5.0.2"),), (
        f"second edit not published within 3 s (same second as the read: {same_second})"
    )

    # nothing changes any more: after the settling second the loop stops rebuilding
    time.sleep(2.5)
    for _ in range(3):
        live.tick()
    refreshes = live.refreshes
    for _ in range(5):
        time.sleep(0.2)
        live.tick()
    assert live.refreshes == refreshes, "rebuilt although phpIPAM did not change"
