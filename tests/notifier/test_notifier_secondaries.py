"""SECONDARY_BEHIND: a secondary that stays behind pphook is mailed once, then resolved.

The pure parts first (tracking, identity, store, mails), then the real thing: phpIPAM
in MariaDB -> `pphook serve` -> pdns (primary, pipe --snapshot-dir) -> two BIND secondaries,
one notified and one that pdns never notifies (so it stays behind after a change until
`rndc retransfer`), and the notifier mailing an aiosmtpd server.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from infra.dnsclient import soa_serial
from infra.mariadb import MariaDBServer
from infra.named import NamedSecondary
from infra.pdns import PdnsServer
from infra.phpipam_data import PhpipamData
from infra.pphook import PphookServe, default_sections
from notifier_support import SmtpServer

from notifier.compose import Composer
from notifier.diff import StoredProblem
from notifier.errors import TemplateError
from notifier.problems import Problem
from notifier.render import Renderer
from notifier.runner import open_notifier
from notifier.secondaries import LagRow, lag_problems, secondary_problem, track
from notifier.settings import NotifierSettings
from notifier.store import NotifierStore
from remote_backend.build.builder import open_builder
from remote_backend.config import Config, parse_config
from remote_backend.secondaries.lag import SerialTimeline, lag_report
from remote_backend.secondaries.watch import SecondaryWatcher, secondary_lines
from remote_backend.state import StateStore
from validators.codes import Code

NOW = 1_750_000_000.0
LAG = 900.0


def row(theirs: int | None = 100, ours: int = 105, since: float = NOW - 1000, **kw: Any) -> LagRow:
    values: dict[str, Any] = {
        "secondary": "192.0.2.53",
        "zone": "example.com",
        "since": since,
        "theirs": theirs,
        "ours": ours,
        "error": None if theirs is not None else "timeout",
        "checked_at": NOW,
        **kw,
    }
    return LagRow(**values)


# -- pure parts ----------------------------------------------------------------------------


def test_track_keeps_since_and_forgets_caught_up_pairs() -> None:
    ours = {"example.com": 105, "10.in-addr.arpa": 7}
    states = lag_report(ours, {"192.0.2.53": {"example.com": 100, "10.in-addr.arpa": None}})
    timeline = SerialTimeline([("example.com", 101, NOW - 500), ("example.com", 105, NOW - 10)])
    previous = {("192.0.2.53", "10.in-addr.arpa"): row(None, 7, NOW - 3000, zone="10.in-addr.arpa")}
    errors = {("192.0.2.53", "10.in-addr.arpa"): "REFUSED"}
    rows = track(states, errors, previous, timeline, NOW)
    assert rows[("192.0.2.53", "example.com")] == row(100, 105, NOW - 500)
    assert rows[("192.0.2.53", "10.in-addr.arpa")] == row(
        None, 7, NOW - 3000, zone="10.in-addr.arpa", error="REFUSED"
    )
    in_sync = lag_report(ours, {"192.0.2.53": {"example.com": 105, "10.in-addr.arpa": 7}})
    assert track(in_sync, {}, rows, timeline, NOW) == {}


def test_lag_problems_past_the_lag_and_until_caught_up() -> None:
    late, fresh = row(since=NOW - LAG), row(since=NOW - 10, zone="10.in-addr.arpa")
    found = lag_problems([late, fresh], set(), LAG, NOW)
    assert [p.secondary.zone for p in found.values() if p.secondary] == ["example.com"]
    # already reported: a secondary that catches up partly (less stale) stays a problem
    found = lag_problems([late, fresh], {("192.0.2.53", "10.in-addr.arpa")}, LAG, NOW)
    assert len(found) == 2


def test_identity_is_secondary_and_zone() -> None:
    p = secondary_problem(row())
    assert p.code is Code.SECONDARY_BEHIND
    assert p.identity == {
        "code": "SECONDARY_BEHIND",
        "secondary": "192.0.2.53",
        "zone": "example.com",
    }
    assert p.rows == () and p.row_id == 0
    # other serials, no answer instead of an old serial: the same problem
    assert secondary_problem(row(None, 110, NOW - 5)).key == p.key
    assert secondary_problem(row(zone="10.in-addr.arpa")).key != p.key
    assert secondary_problem(row(secondary="192.0.2.54")).key != p.key
    assert Problem.from_json(p.to_json()) == p
    assert "serves serial 100 of example.com; pphook serves 105" in p.reason
    assert "no serial for example.com (timeout)" in secondary_problem(row(None)).reason


def test_store_keeps_lag_rows_and_reads_the_backend_serials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = NotifierStore(url)
    assert store.served_serials() == ({}, [])  # no backend has used this store yet
    a, b = row(), row(None, zone="10.in-addr.arpa")
    store.save_lag({a.pair: a, b.pair: b}, forget=[])
    assert store.load_lag() == {a.pair: a, b.pair: b}
    a2 = replace(a, theirs=104, checked_at=NOW + 60)
    store.save_lag({a2.pair: a2}, forget=[b.pair])
    assert store.load_lag() == {a2.pair: a2}
    backend = StateStore(url)
    serials = backend.serials_for({"example.com": "f1"}, now=NOW)
    backend.serials_for({"example.com": "f2"}, now=NOW + 5)
    backend.close()
    current, history = store.served_serials()
    assert current == {"example.com": serials["example.com"] + 5}
    assert sorted(history) == [
        ("example.com", serials["example.com"], NOW),
        ("example.com", serials["example.com"] + 5, NOW + 5),
    ]
    store.close()


def test_read_only_store_without_the_lag_table_is_still_ready(tmp_path: Path) -> None:
    """A state store written before secondaries were watched: dry runs still see the
    reported problems (and no lag rows)."""
    import sqlalchemy as sa

    from notifier import tables

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    tables.metadata.create_all(engine)
    engine.dispose()
    store = NotifierStore(url, create=False)
    assert store.ready and not store.lag_ready
    assert store.load_lag() == {}
    store.close()


def _composer(**settings: Any) -> Composer:
    return Composer(NotifierSettings(to=("a@example.com",), **settings), Renderer(), "node1")


def test_digest_shows_theirs_ours_and_since() -> None:
    p = secondary_problem(row(since=NOW - 1000))
    q = secondary_problem(row(None, 7, NOW - 4000, zone="10.in-addr.arpa", error="REFUSED"))
    (mail,) = _composer().compose(
        [p, q], [], changes={}, recipients=["a@example.com"], audit_head=None, now=NOW, limit=None
    )
    assert mail.message["Subject"] == "[pphook] DNS secondaries: 2 new DNS problems"
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "2 new problems: DNS secondaries that stay behind pphook." in text
    assert "== DNS secondaries behind pphook (2) ==" in text
    assert "* Secondary behind: 192.0.2.53, zone example.com" in text
    assert "Secondary's serial: 100" in text
    assert "pphook's serial:    105" in text
    assert "Behind since:       2025-06-15 14:50:00 UTC (16 min when checked" in text
    assert "Secondary's serial: none (REFUSED)" in text
    assert "1 h 6 min" in text
    assert "Row " not in text and "Row<" not in html  # no phpIPAM row blocks
    assert '<td style="padding:2px 8px;font-family:monospace">192.0.2.53</td>' in html
    assert "none (REFUSED)" in html


def test_mixed_digest_and_resolved_and_single_mails() -> None:
    p = secondary_problem(row())
    stored = StoredProblem(p, NOW - 3600, NOW - 3500, NOW)
    (mail,) = _composer().compose(
        [], [stored], changes={}, recipients=["a@example.com"], audit_head=None, now=NOW, limit=None
    )
    assert mail.message["Subject"] == "[pphook] DNS secondaries: 1 DNS problem resolved"
    text = mail.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "* Secondary behind: 192.0.2.53, zone example.com (reported" in text
    assert "in sync again at 2025-06-15 15:06:40 UTC" in text

    singles = _composer(per_problem_mails=True).compose(
        [p],
        [stored],
        changes={},
        recipients=["a@example.com"],
        audit_head=None,
        now=NOW,
        limit=None,
    )
    assert [m.message["Subject"] for m in singles] == [
        "[pphook] DNS: Secondary behind: 192.0.2.53",
        "[pphook] DNS: resolved: Secondary behind: 192.0.2.53",
    ]
    problem_text = singles[0].message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert problem_text.startswith("pphook found a new problem at ")
    resolved_html = singles[1].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "serves pphook's serial of\n<strong>example.com</strong> again" in resolved_html


def test_custom_template_without_secondaries_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "digest.txt.j2").write_text("{% for p in problems %}{{ p.row.id }}{% endfor %}\n")
    composer = Composer(
        NotifierSettings(to=("a@example.com",), templates_dir=str(tmp_path)),
        Renderer(str(tmp_path)),
        "node1",
    )
    with pytest.raises(TemplateError, match=r"digest.txt.j2 does not render.*no attribute 'row'"):
        composer.compose(
            [secondary_problem(row())],
            [],
            changes={},
            recipients=["a@example.com"],
            audit_head=None,
            now=NOW,
            limit=None,
        )


# -- the real thing --------------------------------------------------------------------------

ZONES = ("example.com", "10.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa")
CHANGED = ("example.com", "10.in-addr.arpa")  # what adding an IPv4 host moves
REAL_LAG = 3.0  # seconds: longer than a notified transfer takes, short for the suite


@dataclass
class Deployment:
    data: PhpipamData
    serve: PphookServe
    pdns: PdnsServer
    notified: NamedSecondary  # in pdns's also-notify
    lagging: NamedSecondary  # never notified; SOA refresh 3 h: stays behind after a change
    v4: int

    def serial(self, zone: str) -> int:
        serial = soa_serial(self.pdns.port, zone)
        assert serial is not None
        return serial

    def config(self, smtp_port: int = 25, **notifier: Any) -> Config:
        sections: dict[str, Any] = {
            **self.serve.sections,
            "notifier": {
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp_port,
                "to": ["dns-admins@example.com"],
                **notifier,
            },
        }
        path = str(self.serve.config_path)
        return parse_config(path, sections, require=("notifier",), environ={})

    def label(self, named: NamedSecondary) -> str:
        return f"127.0.0.1:{named.port}"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


@pytest.fixture(scope="module")
def deployment(mariadb: MariaDBServer) -> Iterator[Deployment]:
    data = PhpipamData(mariadb.connect_admin())
    data.reset()
    section = data.add_section("Servers")
    v4 = data.add_subnet("10.10.1.0/24", section)
    for i in range(1, 6):
        data.add_address(f"10.10.1.{i}", v4, hostname=f"host{i}.example.com")
    base = Path(tempfile.mkdtemp(prefix="pphook-secondaries-"))
    pdns = PdnsServer("placeholder", primary=True, xfr_cycle_interval=1)
    notified = NamedSecondary(pdns.port, ZONES)
    lagging = NamedSecondary(pdns.port, ZONES)
    secondaries = [f"127.0.0.1:{notified.port}", f"127.0.0.1:{lagging.port}"]
    sections = default_sections(
        mariadb.url(),
        f"sqlite:///{base}/state.db",
        base / "pphook.sock",
        zones={"secondaries": secondaries},
    )
    serve = PphookServe(sections).start()
    pdns.settings["remote-connection-string"] = serve.pipe_connection()
    pdns.add_also_notify(f"127.0.0.1:{notified.port}")
    try:
        pdns.start(wait_zone="example.com")
        notified.start()
        lagging.start()
        d = Deployment(data, serve, pdns, notified, lagging, v4)
        for zone in ZONES:
            notified.wait_serial(zone, d.serial(zone), timeout=30)
            lagging.wait_serial(zone, d.serial(zone), timeout=30)
        yield d
    finally:
        lagging.stop()
        notified.stop()
        pdns.stop()
        serve.cleanup()
        data.close()


def check_table(config: Config) -> dict[tuple[str, str], str]:
    """What `pphook check` prints about the secondaries, as (secondary, zone) -> status."""
    builder = open_builder(config)
    try:
        lines = secondary_lines(config, builder.build().snapshot)
    finally:
        builder.reader.engine.dispose()
        builder.store.close()
    table = {}
    for line in lines[2:]:
        secondary, zone, _theirs, _ours, status = line.split(maxsplit=4)
        table[(secondary, zone)] = status
    return table


@pytest.mark.integration
def test_check_shows_secondaries_in_sync(deployment: Deployment) -> None:
    d = deployment
    table = check_table(d.config())
    assert table == {(d.label(n), z): "in sync" for n in (d.notified, d.lagging) for z in ZONES}


@pytest.mark.integration
def test_secondary_behind_is_mailed_once_then_resolved(
    deployment: Deployment, smtp: SmtpServer
) -> None:
    d = deployment
    config = d.config(smtp.port, secondary_lag=REAL_LAG, resolved_mails=True)
    notifier = open_notifier(config)
    try:
        first = notifier.run_pass()
        assert (first.problems, first.new, first.mailed) == (0, 0, 0)

        before = {z: d.serial(z) for z in ZONES}
        d.data.add_address("10.10.1.50", d.v4, hostname="new50.example.com")
        wait_for(lambda: all(d.serial(z) > before[z] for z in CHANGED), 10, "serials move")
        published = time.time()
        after = {z: d.serial(z) for z in ZONES}

        # behind, but not for notifier.secondary_lag yet: nothing is a problem
        early = notifier.run_pass()
        assert (early.problems, early.new) == (0, 0)
        for zone in CHANGED:
            d.notified.wait_serial(zone, after[zone], timeout=10)
        assert {z: d.lagging.soa_serial(z) for z in ZONES} == before

        table = check_table(config)
        lagging, notified = d.label(d.lagging), d.label(d.notified)
        assert {z: table[(lagging, z)] for z in ZONES} == {
            "example.com": "behind",
            "10.in-addr.arpa": "behind",
            "8.b.d.0.1.0.0.2.ip6.arpa": "in sync",
        }
        assert {table[(notified, z)] for z in ZONES} == {"in sync"}

        # the metrics watcher sees the same
        watcher = SecondaryWatcher(config.zones.secondaries, lambda: after, timeout=1.0)
        watched = {(w.secondary, w.zone): w for w in watcher.poll()}
        assert watched[(lagging, "example.com")].status == "behind"
        assert watched[(lagging, "example.com")].theirs == before["example.com"]
        assert watched[(notified, "example.com")].behind_since is None

        time.sleep(max(0.0, published + REAL_LAG + 0.2 - time.time()))
        late = notifier.run_pass()
        assert (late.problems, late.new, late.mailed) == (2, 2, 1)
        (mail,) = smtp.inbox.take()
        assert mail.subject == "[pphook] DNS secondaries: 2 new DNS problems"
        for zone in CHANGED:
            assert f"* Secondary behind: {lagging}, zone {zone}" in mail.text
            assert f"Secondary's serial: {before[zone]}" in mail.text
            assert f"pphook's serial:    {after[zone]}" in mail.text
            assert f">{before[zone]}</td>" in mail.html
        assert notified not in mail.text
        assert "Behind since:" in mail.text

        again = notifier.run_pass()  # still behind: mailed once, not every pass
        assert (again.problems, again.new, again.mailed) == (2, 0, 0)
        assert smtp.inbox.take() == []

        for zone in CHANGED:
            d.lagging.rndc("retransfer", zone, check=True)
        for zone in CHANGED:
            d.lagging.wait_serial(zone, after[zone], timeout=10)
        caught_up = notifier.run_pass()
        assert (caught_up.problems, caught_up.resolved, caught_up.mailed) == (0, 2, 1)
        (resolved,) = smtp.inbox.take()
        assert resolved.subject == "[pphook] DNS secondaries: 2 DNS problems resolved"
        assert "in sync again at" in resolved.text

        quiet = notifier.run_pass()
        assert (quiet.problems, quiet.new, quiet.resolved, quiet.mailed) == (0, 0, 0, 0)
        assert notifier.store.load_lag() == {}
        entries = [
            (e.kind, e.data)
            for e in notifier.store.audit_entries()
            if e.kind in ("detected", "resolved")
        ]
        assert [k for k, _ in entries] == ["detected", "detected", "resolved", "resolved"]
        assert all('"code":"SECONDARY_BEHIND"' in data and lagging in data for _, data in entries)
    finally:
        notifier.close()


@pytest.mark.integration
def test_check_shows_a_stopped_secondary(deployment: Deployment) -> None:
    d = deployment
    d.lagging.stop()  # last test of the module: the fixture's stop is then a no-op
    table = check_table(d.config())
    lagging = d.label(d.lagging)
    assert {table[(lagging, z)] for z in ZONES} == {"no answer (port unreachable)"}
    assert {table[(d.label(d.notified), z)] for z in ZONES} == {"in sync"}
