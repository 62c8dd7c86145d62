"""Pure parts of the notifier: problem identity, the diff, recipients, composing, lease."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from notifier import compose
from notifier.compose import Composer
from notifier.diff import StoredProblem, compute_changes
from notifier.mailer import recipients
from notifier.problems import Problem, find_problems, printable, sorted_problems
from notifier.render import Renderer
from notifier.settings import NotifierSettings
from notifier.store import NotifierStore
from validators import validate
from validators.codes import Code
from validators.model import AddressRow, IpamData, Policy, SubnetRow

POLICY = Policy(forward_zones=("example.com",))
NET = SubnetRow(1, str(int(ipaddress.IPv4Address("10.0.0.0"))), "24", 1, description="LAN")


def ip(last: int) -> str:
    return str(int(ipaddress.IPv4Address(f"10.0.0.{last}")))


def problems(*rows: AddressRow) -> dict[str, Problem]:
    data = IpamData(rows, {1: NET}, {1: "Servers"}, {2: "Used"})
    return find_problems(data, validate(data, POLICY), POLICY)


def only(found: dict[str, Problem], code: Code) -> Problem:
    (p,) = [p for p in found.values() if p.code is code]
    return p


# -- identity --------------------------------------------------------------------------


def test_identity_ignores_unrelated_columns_and_follows_the_problem() -> None:
    bad = AddressRow(1, 1, ip(1), "bad_name.example.com", description="a")
    key = only(problems(bad), Code.HOSTNAME_INVALID).key
    # description, state or a trailing dot/case change of the same name: same problem
    assert only(problems(replace(bad, description="b", state=3)), Code.HOSTNAME_INVALID).key == key
    assert (
        only(problems(replace(bad, hostname="BAD_NAME.example.com.")), Code.HOSTNAME_INVALID).key
        == key
    )
    # another wrong name is another problem, and so is the same name on another row
    assert (
        only(problems(replace(bad, hostname="bad_other.example.com")), Code.HOSTNAME_INVALID).key
        != key
    )
    assert only(problems(replace(bad, id=2)), Code.HOSTNAME_INVALID).key != key


def test_duplicate_identity_names_the_winner() -> None:
    a = AddressRow(1, 1, ip(1), "a.example.com")
    b = AddressRow(5, 1, ip(5), "a.example.com")
    c = AddressRow(3, 1, ip(3), "a.example.com")
    first = only(problems(a, b), Code.DUPLICATE_HOSTNAME)
    assert first.row_id == 5 and first.identity["other"] == [1]
    # row 1 deleted, row 3 now wins: row 5's problem is a different one (new winner)
    later = [p for p in problems(b, c).values() if p.row_id == 5]
    assert later and later[0].key != first.key


def test_mac_group_growth_does_not_change_existing_problems() -> None:
    a = AddressRow(1, 1, ip(1), "a.example.com", mac="02:00:00:00:00:01")
    b = AddressRow(2, 1, ip(2), "b.example.com", mac="02:00:00:00:00:01")
    c = AddressRow(3, 1, ip(3), "c.example.com", mac="02-00-00-00-00-01")
    before = {p.key for p in problems(a, b).values()}
    after = {p.key for p in problems(a, b, c).values()}
    assert before < after and len(after - before) == 1


def test_each_bad_alias_of_a_row_is_a_problem_of_its_own() -> None:
    policy = replace(POLICY, alias_field="custom_aliases")
    rows = (
        AddressRow(1, 1, ip(1), "app.example.com"),
        AddressRow(2, 1, ip(2), "db.example.com"),
    )

    def alias_problems(text: str) -> dict[str, Problem]:
        data = IpamData(rows, {1: NET}, {1: "Servers"}, {2: "Used"}, aliases={1: text})
        return find_problems(data, validate(data, policy), policy)

    two = alias_problems("db, bad_alias, ok")
    assert sorted(p.code.value for p in two.values()) == ["ALIAS_CONFLICT", "HOSTNAME_INVALID"]
    assert {p.identity.get("alias") for p in two.values()} == {
        "db.example.com",
        "bad_alias.example.com",
    }
    # the other alias fixed, or another one added: the remaining problem keeps its key
    one = alias_problems("db, ok, more")
    assert set(one) < set(two)
    conflict = next(iter(one.values()))
    assert conflict.dns == (
        "the alias db.example.com is not published (no CNAME to app.example.com); "
        "row 1's own records are published as they are"
    )
    many = alias_problems(", ".join(f"a{i}" for i in range(70)))
    (field,) = many.values()
    assert field.dns.startswith("none of the row's aliases is published")


def test_problem_round_trips_through_json() -> None:
    for p in problems(
        AddressRow(1, 1, ip(1), "a.example.com", mac="zz"),
        AddressRow(2, 1, ip(2), "a.example.com"),
        AddressRow(3, 7, "x", "b.example.com"),
    ).values():
        assert Problem.from_json(p.to_json()) == p


def test_printable_escapes_control_and_format_characters() -> None:
    assert printable("a\r\nb\x00\u202e") == "a<U+000D><U+000A>b<U+0000><U+202E>"
    assert printable("é") == "é"
    assert printable("x" * 200, 10) == "xxxxxxxxxx... (200 characters)"


# -- diff ------------------------------------------------------------------------------


def _stored(p: Problem, reported: float | None, resolved: float | None = None) -> StoredProblem:
    return StoredProblem(p, 1.0, reported, resolved)


def test_changes_new_pending_resolved_and_reopened() -> None:
    ps = sorted_problems(
        problems(
            AddressRow(1, 1, ip(1), "a_1.example.com"),
            AddressRow(2, 1, ip(2), "a_2.example.com"),
            AddressRow(3, 1, ip(3), "a_3.example.com"),
            AddressRow(4, 1, ip(4), "a_4.example.com"),
            AddressRow(5, 1, ip(5), "a_5.example.com"),
        ).values()
    )
    p1, p2, p3, p4, p5 = ps
    stored = {
        p2.key: _stored(p2, reported=2.0),  # mailed, still there
        p3.key: _stored(p3, reported=None),  # detected, mail failed
        p4.key: _stored(p4, reported=2.0),  # mailed, now gone
        p5.key: _stored(p5, reported=2.0, resolved=3.0),  # was gone, is back
    }
    current = {p.key: p for p in (p1, p2, p3, p5)}
    ch = compute_changes(stored, current, resolved_mails=True, now=9.0)
    assert ch.new == (p1,)
    assert ch.to_mail == (p1, p3)
    assert [s.key for s in ch.resolved] == [p4.key]
    assert [s.key for s in ch.reopened] == [p5.key]
    assert [(s.key, s.resolved_at) for s in ch.resolved_to_mail] == [(p4.key, 9.0)]
    # never-mailed problems that go away get no "resolved" mail
    gone = compute_changes(stored, {}, resolved_mails=True, now=9.0)
    assert {s.key for s in gone.resolved_to_mail} == {p2.key, p4.key, p5.key}
    off = compute_changes(stored, {}, resolved_mails=False, now=9.0)
    assert off.resolved_to_mail == ()
    assert [s.key for s in off.dropped] == [p5.key]  # its resolved mail will never go out


# -- recipients ------------------------------------------------------------------------


def test_recipients_are_deduplicated_and_unsafe_ones_dropped() -> None:
    got = recipients(
        ["ops@example.com"],
        ["Ops@Example.com", "a@b.example", "x@y>\r\nBcc: z@z", "no-at", "a b@c.d", "é@x.org"],
    )
    assert got == ["ops@example.com", "a@b.example"]


# -- composing -------------------------------------------------------------------------


def _many(n: int) -> list[Problem]:
    rows = [AddressRow(i, 1, ip(i), f"bad_{i}.example.com") for i in range(1, n + 1)]
    return sorted_problems(problems(*rows).values())


def _composer(**kw: object) -> Composer:
    settings = NotifierSettings(sender="pphook@example.com", to=("a@example.com",), **kw)  # type: ignore[arg-type]
    return Composer(settings, Renderer(), "node\r\nX-Evil: 1")


def test_big_digests_are_cut_into_parts_and_the_limit_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(compose, "MAX_ITEMS_PER_MAIL", 2)
    ps = _many(5)
    mails = _composer().compose(
        ps, [], changes={}, recipients=["a@example.com"], audit_head=None, now=0.0, limit=None
    )
    assert [m.message["Subject"] for m in mails] == [
        "[pphook] phpIPAM: 2 new DNS problems (part 1 of 3)",
        "[pphook] phpIPAM: 2 new DNS problems (part 2 of 3)",
        "[pphook] phpIPAM: 1 new DNS problem (part 3 of 3)",
    ]
    assert [len(m.problems) for m in mails] == [2, 2, 1]
    assert "3 more items follow in another mail" in _text(mails[0].message)
    limited = _composer().compose(
        ps, [], changes={}, recipients=["a@example.com"], audit_head=None, now=0.0, limit=1
    )
    assert len(limited) == 1


def test_headers_never_carry_ipam_or_host_text() -> None:
    (mail,) = _composer().compose(
        _many(1), [], changes={}, recipients=["a@example.com"], audit_head=None, now=0.0, limit=None
    )
    msg = mail.message
    assert msg["X-Evil"] is None
    assert set(msg.keys()) == {
        "Subject", "From", "To", "Date", "Message-ID", "Auto-Submitted",
        "X-Auto-Response-Suppress", "MIME-Version", "Content-Type",
    }  # fmt: skip
    assert str(msg["Message-ID"]).endswith("@example.com>")
    assert "node<U+000D><U+000A>X-Evil: 1" in _text(msg)


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


# -- lease -----------------------------------------------------------------------------


def test_one_pass_at_a_time(tmp_path: Path) -> None:
    store = NotifierStore(f"sqlite:///{tmp_path / 'state.db'}")
    other = NotifierStore(f"sqlite:///{tmp_path / 'state.db'}")
    assert store.acquire_lease("a", 60, now=100.0) is None
    assert store.acquire_lease("a", 60, now=110.0) is None  # renew
    assert other.acquire_lease("b", 60, now=120.0) == "a"
    store.release_lease("a")
    assert other.acquire_lease("b", 60, now=121.0) is None
    assert store.acquire_lease("a", 60, now=182.0) is None  # b's lease expired (crash)
    store.close()
    other.close()
