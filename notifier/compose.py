"""From pending problems to ready-to-send messages (views, templates, headers).

Headers hold only configuration values, validated addresses, fixed text and numbers:
nothing read from phpIPAM ever reaches a header, so a hostname such as
``evil\\r\\nBcc: x@y`` is body text, where it is shown escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any

from notifier.diff import StoredProblem
from notifier.problems import (
    Problem,
    RowFacts,
    SecondaryFacts,
    printable,
)
from notifier.render import Renderer
from notifier.settings import NotifierSettings
from remote_backend.ipam.people import ChangeInfo
from validators.codes import Code

# A first pass over a neglected database can find thousands of problems: digests are
# cut into parts of this many items so each stays readable (and under size limits).
MAX_ITEMS_PER_MAIL = 500

_DOMAIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class RowView:
    """A row as templates see it: RowFacts plus link and last change."""

    id: int
    ip: str
    hostname: str | None
    mac: str | None
    subnet: str | None
    section: str | None
    state: str | None
    role: str
    exists: bool
    link: str | None
    changed_by: str | None
    changed_by_email: str | None
    changed_at: str | None
    change_action: str | None


@dataclass(frozen=True, slots=True)
class SecondaryView:
    """A secondary behind pphook as templates see it (config and DNS values only)."""

    secondary: str
    zone: str
    theirs: int | None
    ours: int
    status: str  # "behind" or "no answer"
    error: str | None
    since: str  # YYYY-MM-DD HH:MM:SS UTC
    duration: str  # how long it had been behind when observed, e.g. "17 min"
    checked_at: str


@dataclass(frozen=True, slots=True)
class ProblemView:
    key: str
    code: str
    title: str
    kind: str
    reason: str
    dns: str
    rows: tuple[RowView, ...]
    more_related: int
    detected_at: str | None = None
    resolved_at: str | None = None
    secondary: SecondaryView | None = None  # set for SECONDARY_BEHIND, which has no rows

    @property
    def row(self) -> RowView:
        if not self.rows:
            # AttributeError: Jinja then reports an undefined `row` with file and line
            # (a custom template that predates problems without rows)
            raise AttributeError("this problem is about no phpIPAM row (see `secondary`)")
        return self.rows[0]


@dataclass(frozen=True, slots=True)
class Group:
    code: str
    title: str
    problems: tuple[ProblemView, ...]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message and what it reports (marked in the store once it is accepted)."""

    kind: str  # digest | problem | resolved
    message: EmailMessage
    problems: tuple[Problem, ...]
    resolved: tuple[StoredProblem, ...]
    recipients: tuple[str, ...]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


def when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: float) -> str:
    """``45 s``, ``17 min``, ``3 h 5 min``, ``2 d 4 h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def secondary_view(facts: SecondaryFacts) -> SecondaryView:
    return SecondaryView(
        secondary=facts.secondary,
        zone=facts.zone,
        theirs=facts.theirs,
        ours=facts.ours,
        status=facts.status,
        error=None if facts.error is None else printable(facts.error, 64),
        since=when(facts.since) or "",
        duration=duration(facts.checked_at - facts.since),
        checked_at=when(facts.checked_at) or "",
    )


def address_link(base: str | None, row: RowFacts, pretty: bool = False) -> str | None:
    """phpIPAM's address page, in the form its ``settings.prettyLinks`` says:
    ``{base}/subnets/{section}/{subnet}/address-details/{id}/`` (Yes) or
    ``{base}/index.php?page=subnets&section=..&subnetId=..&sPage=address-details&ipaddrid=..``
    (No, phpIPAM's default)."""
    if not base or not row.exists or row.section_id is None or row.subnet_id is None:
        return None
    root = base.rstrip("/")
    if pretty:
        return f"{root}/subnets/{row.section_id}/{row.subnet_id}/address-details/{row.id}/"
    return (
        f"{root}/index.php?page=subnets&section={row.section_id}&subnetId={row.subnet_id}"
        f"&sPage=address-details&ipaddrid={row.id}"
    )


class Composer:
    def __init__(self, settings: NotifierSettings, renderer: Renderer, node: str) -> None:
        self.settings = settings
        self.renderer = renderer
        self.node = printable(node, 80)

    # -- views -------------------------------------------------------------------------

    def row_view(
        self, row: RowFacts, changes: Mapping[int, ChangeInfo], pretty_links: bool = False
    ) -> RowView:
        change = changes.get(row.id)
        return RowView(
            id=row.id,
            ip=row.ip,
            hostname=row.hostname,
            mac=row.mac,
            subnet=row.subnet,
            section=row.section,
            state=row.state,
            role=row.role,
            exists=row.exists,
            link=address_link(self.settings.phpipam_url, row, pretty_links),
            changed_by=_shown(change.user) if change else None,
            changed_by_email=_shown(change.email) if change else None,
            changed_at=(
                change.date.strftime("%Y-%m-%d %H:%M:%S") if change and change.date else None
            ),
            change_action=_shown(change.action) if change else None,
        )

    def view(
        self,
        p: Problem,
        changes: Mapping[int, ChangeInfo],
        stored: StoredProblem | None = None,
        pretty_links: bool = False,
    ) -> ProblemView:
        return ProblemView(
            key=p.key,
            code=p.code.value,
            title=p.title,
            kind=p.kind,
            reason=p.reason,
            dns=p.dns,
            rows=tuple(self.row_view(r, changes, pretty_links) for r in p.rows),
            more_related=p.more_related,
            detected_at=when(stored.detected_at) if stored else None,
            resolved_at=when(stored.resolved_at) if stored else None,
            secondary=None if p.secondary is None else secondary_view(p.secondary),
        )

    # -- messages ----------------------------------------------------------------------

    def compose(
        self,
        to_mail: Sequence[Problem],
        resolved: Sequence[StoredProblem],
        *,
        changes: Mapping[int, ChangeInfo],
        recipients: Sequence[str],
        audit_head: tuple[int, str] | None,
        now: float,
        limit: int | None,
        pretty_links: bool = False,
    ) -> list[Outgoing]:
        """The messages of this pass, at most ``limit`` (None: no limit).

        ``pretty_links``: phpIPAM's ``settings.prettyLinks`` is "Yes" (the form of the
        links to its address pages)."""
        common = {
            "node": self.node,
            "generated_at": when(now),
            "phpipam_url": self.settings.phpipam_url,
            "audit_head": None
            if audit_head is None
            else {"seq": audit_head[0], "hash": audit_head[1]},
        }
        args = (to_mail, resolved, changes, recipients, common, now, limit, pretty_links)
        if self.settings.per_problem_mails:
            return self._singles(*args)
        return self._digests(*args)

    def _digests(
        self,
        to_mail: Sequence[Problem],
        resolved: Sequence[StoredProblem],
        changes: Mapping[int, ChangeInfo],
        recipients: Sequence[str],
        common: Mapping[str, Any],
        now: float,
        limit: int | None,
        pretty: bool,
    ) -> list[Outgoing]:
        items: list[Problem | StoredProblem] = [*to_mail, *resolved]
        chunks = [
            items[i : i + MAX_ITEMS_PER_MAIL] for i in range(0, len(items), MAX_ITEMS_PER_MAIL)
        ]
        out = []
        for index, chunk in enumerate(chunks[:limit] if limit is not None else chunks):
            new = [p for p in chunk if isinstance(p, Problem)]
            fixed = [s for s in chunk if isinstance(s, StoredProblem)]
            new_views = [self.view(p, changes, None, pretty) for p in new]
            fixed_views = [self.view(s.problem, changes, s, pretty) for s in fixed]
            shown = sum(len(c) for c in chunks[: index + 1])
            context = {
                **common,
                "problems": new_views,
                "groups": _groups(new_views),
                "resolved": fixed_views,
                "resolved_groups": _groups(fixed_views),
                "new_count": len(new),
                "resolved_count": len(fixed),
                "part": index + 1,
                "parts": len(chunks),
                "remaining": len(items) - shown,
            }
            about_rows = any(p.secondary is None for p in new) or any(
                s.problem.secondary is None for s in fixed
            )
            source = "phpIPAM" if about_rows else "DNS secondaries"
            subject = _digest_subject(len(new), len(fixed), index + 1, len(chunks), source)
            text, html = self.renderer.pair("digest", context)
            message = self.message(subject, text, html, recipients, now)
            out.append(Outgoing("digest", message, tuple(new), tuple(fixed), tuple(recipients)))
        return out

    def _singles(
        self,
        to_mail: Sequence[Problem],
        resolved: Sequence[StoredProblem],
        changes: Mapping[int, ChangeInfo],
        recipients: Sequence[str],
        common: Mapping[str, Any],
        now: float,
        limit: int | None,
        pretty: bool,
    ) -> list[Outgoing]:
        out: list[Outgoing] = []
        for p in to_mail:
            if limit is not None and len(out) >= limit:
                return out
            view = self.view(p, changes, None, pretty)
            text, html = self.renderer.pair("problem", {**common, "problem": view})
            subject = _single_subject(p, resolved=False)
            message = self.message(subject, text, html, recipients, now)
            out.append(Outgoing("problem", message, (p,), (), tuple(recipients)))
        for s in resolved:
            if limit is not None and len(out) >= limit:
                return out
            view = self.view(s.problem, changes, s, pretty)
            text, html = self.renderer.pair("resolved", {**common, "problem": view})
            subject = _single_subject(s.problem, resolved=True)
            message = self.message(subject, text, html, recipients, now)
            out.append(Outgoing("resolved", message, (), (s,), tuple(recipients)))
        return out

    def message(
        self, subject: str, text: str, html: str, recipients: Sequence[str], now: float
    ) -> EmailMessage:
        """A multipart/alternative message; every header value is ours, not IPAM's."""
        msg = EmailMessage(policy=SMTP)
        msg["Subject"] = subject
        msg["From"] = self.settings.sender
        msg["To"] = ", ".join(recipients)
        msg["Date"] = format_datetime(datetime.fromtimestamp(now, UTC))
        domain = self.settings.sender.rpartition("@")[2]
        msg["Message-ID"] = make_msgid("pphook", domain if _DOMAIN.match(domain) else None)
        # RFC 3834: no vacation replies or bounces-to-sender loops from robots
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(text, subtype="plain", charset="utf-8", cte=_transfer_encoding(text))
        msg.add_alternative(html, subtype="html", charset="utf-8", cte=_transfer_encoding(html))
        return msg


def _transfer_encoding(body: str) -> str:
    """7bit keeps plain ASCII mails (and dry-run output) readable as they are; anything
    else is quoted-printable, which every mail server accepts (no 8BITMIME needed)."""
    if body.isascii() and all(len(line) <= 998 for line in body.splitlines()):
        return "7bit"
    return "quoted-printable"


def _shown(text: str | None) -> str | None:
    return None if text is None else printable(text, 80)


PROBLEM_ORDER = tuple(c for c in Code if c.is_problem)  # the enum's order is report order


def _groups(views: Sequence[ProblemView]) -> list[Group]:
    groups = []
    for code in PROBLEM_ORDER:
        members = tuple(v for v in views if v.code == code.value)
        if members:
            groups.append(Group(code.value, code.group_title, members))
    return groups


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _single_subject(p: Problem, *, resolved: bool) -> str:
    done = "resolved: " if resolved else ""
    if p.secondary is not None:
        # the label is a parsed IP address from the configuration, never phpIPAM text
        return f"[pphook] DNS: {done}{p.code.label}: {p.secondary.secondary}"
    return f"[pphook] phpIPAM: {done}{p.code.label} (row {p.row_id})"


def _digest_subject(new: int, fixed: int, part: int, parts: int, source: str) -> str:
    pieces = []
    if new:
        pieces.append(f"{_plural(new, 'new DNS problem')}")
    if fixed:
        pieces.append(f"{fixed} resolved" if new else f"{_plural(fixed, 'DNS problem')} resolved")
    suffix = f" (part {part} of {parts})" if parts > 1 else ""
    return f"[pphook] {source}: {', '.join(pieces)}{suffix}"
