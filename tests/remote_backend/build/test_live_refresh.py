"""The refresh loop on a real MariaDB: a second edit committed in the same second as
the one a rebuild just picked up (invisible to the second-granular change token) is
still published promptly, and once nothing changes the loop stops rebuilding."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from infra.mariadb import MariaDBServer
from infra.phpipam_data import PhpipamData

from remote_backend.build.builder import open_builder
from remote_backend.build.live import LiveSnapshot
from remote_backend.config import parse_config
from remote_backend.shared.reader import SharedReader
from remote_backend.shared.writer import SharedSnapshot

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
    return LiveSnapshot(open_builder(config), SharedSnapshot(tmp_path / "snapshot"))


def served(live: LiveSnapshot, name: str) -> set[str]:
    """The A contents the shared snapshot answers for ``name`` (what pdns would get)."""
    value = SharedReader(live.shared.directory, live.shared.env).current().value(name)
    if value is None:
        return set()
    reply = json.loads(value.replace(b"\x00", b'"q"'))["result"]
    return {r["content"] for r in reply if r["qtype"] == "A"}


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
    assert served(live, "one-renamed.example.com") == {"10.5.0.1"}
    published_at = live.published_at or 0.0
    phpipam.update_address(second, hostname="two-renamed.example.com")
    same_second = int(time.time()) == int(published_at)
    deadline = time.monotonic() + 3
    while not served(live, "two-renamed.example.com") and time.monotonic() < deadline:
        time.sleep(0.2)
        live.tick()
    assert served(live, "two-renamed.example.com") == {"10.5.0.2"}, (
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


def test_a_publication_that_failed_half_way_is_done_again(
    mariadb: MariaDBServer, phpipam: PhpipamData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh that read a new row but could not publish it (state store down) must
    not leave the row out: the next refresh publishes it, although phpIPAM's change
    token does not move again."""
    section = phpipam.add_section("Lab")
    subnet = phpipam.add_subnet("10.79.0.0/24", section)
    live = _live(mariadb.url(), tmp_path)
    live.tick()
    phpipam.add_address("10.79.0.1", subnet, hostname="late.example.com")

    def store_down(fingerprints: object) -> object:
        raise RuntimeError("state store down")

    with monkeypatch.context() as patch:
        patch.setattr(live.publisher.store, "serials_for", store_down)
        live.tick()
    assert live.last_error is not None and "state store down" in live.last_error
    assert served(live, "late.example.com") == set()
    live.tick()
    assert served(live, "late.example.com") == {"10.79.0.1"}


def test_a_full_publication_is_served_before_the_group_index_is_built(
    mariadb: MariaDBServer, phpipam: PhpipamData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group index only serves later changes: at 1M addresses it takes seconds,
    which a cold start must not wait for. When it is built, the generation is already
    announced (what pdns's coprocesses watch), and the next change is still published
    incrementally."""
    section = phpipam.add_section("Lab")
    subnet = phpipam.add_subnet("10.80.0.0/24", section)
    phpipam.add_address("10.80.0.1", subnet, hostname="first.example.com")
    live = _live(mariadb.url(), tmp_path)
    seen: list[tuple[int, set[str]]] = []
    build_index = live.incremental.build_index

    def spy(data: object) -> None:
        counter = (live.shared.directory / "generation").read_bytes()[:8]
        seen.append((int.from_bytes(counter, "little"), served(live, "first.example.com")))
        build_index(data)  # type: ignore[arg-type]

    monkeypatch.setattr(live.incremental, "build_index", spy)
    live.tick()
    assert seen == [(1, {"10.80.0.1"})], "the index was built before generation 1 was served"
    assert live.incremental.ready
    phpipam.add_address("10.80.0.2", subnet, hostname="second.example.com")
    time.sleep(1.1)  # past the change token's one-second resolution
    live.tick()
    assert served(live, "second.example.com") == {"10.80.0.2"}
    assert len(seen) == 1, "the change was published by a full build, not incrementally"
