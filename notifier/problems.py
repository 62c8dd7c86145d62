"""The problem set of one pass: which findings are mailed, and when two are "the same".

A problem is a validator finding whose code is a problem code (``Finding.is_problem``)
together with the facts an administrator needs to fix it: the phpIPAM row(s) involved,
shown safely, and what DNS does about it.

Identity (``Problem.key``) is the SHA-256 of the canonical JSON of the code, the row id
and the normalised values that *make* the problem (see ``_identity``). An edit that
changes one of those values is a different problem and is mailed again; an edit of
anything else (description, state, an unrelated column) is not.

Problems that are not about phpIPAM rows (a DNS secondary staying behind) have codes of
their own (``Code.SECONDARY_BEHIND``, which the validators never give), no rows, and their facts in
``Problem.secondary``; they go through the same diff, store, audit and mails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from notifier.canonical import canonical_json, sha256_hex
from validators import InvalidAddress, normalise_hostname, normalise_mac, parse_address
from validators.address import subnet_network
from validators.codes import Code
from validators.fqdn import comparison_name
from validators.model import AddressRow, Finding, IpamData, Policy, Publication, SubnetRow


def problem_code(value: str) -> Code:
    """The code stored as ``value``."""
    try:
        return Code[value]
    except KeyError:
        raise ValueError(f"unknown problem code {value!r}") from None


# Related rows shown per problem (a MAC shared by 50 rows names the first few).
MAX_RELATED_SHOWN = 5
# Longest IPAM string shown; longer text is cut and its length given.
MAX_SHOWN = 120

_ROLE_OF_RELATED: Mapping[Code, str] = {
    Code.DUPLICATE_HOSTNAME: "published with this name",
    Code.DUPLICATE_IP: "holds the PTR of this IP",
    Code.DUPLICATE_MAC: "same MAC",
    Code.ALIAS_CONFLICT: "holds this alias",
}


def printable(text: str, limit: int = MAX_SHOWN) -> str:
    """IPAM text made safe to show on one line: control and format characters
    (newlines, NUL, bidi overrides, zero-width) become ``<U+XXXX>``, long text is cut.
    """
    shown = text if len(text) <= limit else text[:limit]
    safe = "".join(ch if ch.isprintable() else f"<U+{ord(ch):04X}>" for ch in shown)
    return safe if len(text) <= limit else f"{safe}... ({len(text)} characters)"


@dataclass(frozen=True, slots=True)
class RowFacts:
    """One phpIPAM address row as a mail shows it; every string already printable()."""

    id: int
    ip: str
    hostname: str | None
    mac: str | None
    subnet: str | None
    subnet_id: int | None
    section: str | None
    section_id: int | None
    state: str | None
    role: str  # fixed text: "this row", "same MAC", ...
    exists: bool = True  # False: a related id no longer in phpIPAM

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ip": self.ip,
            "hostname": self.hostname,
            "mac": self.mac,
            "subnet": self.subnet,
            "subnet_id": self.subnet_id,
            "section": self.section,
            "section_id": self.section_id,
            "state": self.state,
            "role": self.role,
            "exists": self.exists,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RowFacts:
        return cls(
            id=int(data["id"]),
            ip=str(data["ip"]),
            hostname=data.get("hostname"),
            mac=data.get("mac"),
            subnet=data.get("subnet"),
            subnet_id=data.get("subnet_id"),
            section=data.get("section"),
            section_id=data.get("section_id"),
            state=data.get("state"),
            role=str(data.get("role", "")),
            exists=bool(data.get("exists", True)),
        )


@dataclass(frozen=True, slots=True)
class SecondaryFacts:
    """A secondary that does not serve pphook's serial of a zone, as last observed.

    Values come from the configuration (a parsed IP address, served zone names) and
    from DNS answers (integers), never from phpIPAM.
    """

    secondary: str  # label: "192.0.2.1", "192.0.2.1:5353", "[2001:db8::1]:5353"
    zone: str
    theirs: int | None  # None: no answer
    ours: int
    status: str  # "behind" or "no answer" (remote_backend.secondaries)
    error: str | None  # why there is no serial: timeout, REFUSED, ...
    since: float  # behind since (unix time)
    checked_at: float  # when this was observed

    def to_json(self) -> dict[str, Any]:
        return {
            "secondary": self.secondary,
            "zone": self.zone,
            "theirs": self.theirs,
            "ours": self.ours,
            "status": self.status,
            "error": self.error,
            "since": self.since,
            "checked_at": self.checked_at,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SecondaryFacts:
        theirs = data.get("theirs")
        return cls(
            secondary=str(data["secondary"]),
            zone=str(data["zone"]),
            theirs=None if theirs is None else int(theirs),
            ours=int(data["ours"]),
            status=str(data["status"]),
            error=data.get("error"),
            since=float(data["since"]),
            checked_at=float(data["checked_at"]),
        )


@dataclass(frozen=True, slots=True)
class Problem:
    """One reportable problem; ``rows[0]`` is the row the finding is about.

    A problem that is not about phpIPAM rows (``secondary`` set) has no rows and
    ``row_id`` 0.
    """

    key: str
    code: Code
    row_id: int
    reason: str
    dns: str  # what DNS does about it, one line
    identity: Mapping[str, Any]
    rows: tuple[RowFacts, ...]
    more_related: int = 0  # related rows not in ``rows``
    secondary: SecondaryFacts | None = None

    @property
    def title(self) -> str:
        return self.code.group_title

    @property
    def kind(self) -> str:
        return self.code.label

    @property
    def sort_key(self) -> tuple[int, int, str]:
        if self.secondary is not None:
            where = f"{self.secondary.secondary} {self.secondary.zone}"
            return (self.code.rank, 0, where)
        return (self.code.rank, self.row_id, self.key)

    def to_json(self) -> dict[str, Any]:
        extra = {} if self.secondary is None else {"secondary": self.secondary.to_json()}
        return {
            **extra,
            "key": self.key,
            "code": self.code.value,
            "row_id": self.row_id,
            "reason": self.reason,
            "dns": self.dns,
            "identity": dict(self.identity),
            "rows": [r.to_json() for r in self.rows],
            "more_related": self.more_related,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Problem:
        secondary = data.get("secondary")
        return cls(
            key=str(data["key"]),
            code=problem_code(data["code"]),
            row_id=int(data["row_id"]),
            reason=str(data["reason"]),
            dns=str(data["dns"]),
            identity=dict(data["identity"]),
            rows=tuple(RowFacts.from_json(r) for r in data["rows"]),
            more_related=int(data.get("more_related", 0)),
            secondary=None if secondary is None else SecondaryFacts.from_json(secondary),
        )


def find_problems(data: IpamData, publication: Publication, policy: Policy) -> dict[str, Problem]:
    """Every current problem by key, from the validators' verdict over ``data``."""
    view = _RowView(data, policy)
    result: dict[str, Problem] = {}
    for finding in publication.findings:
        if not finding.is_problem:
            continue
        problem = _problem(finding, view)
        result.setdefault(problem.key, problem)
    return result


def sorted_problems(problems: Iterable[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: p.sort_key)


class _RowView:
    """Lookups shared by every problem of one pass."""

    def __init__(self, data: IpamData, policy: Policy) -> None:
        self.data = data
        self.policy = policy
        self.rows = {r.id: r for r in data.addresses}

    def subnet(self, row: AddressRow) -> SubnetRow | None:
        return None if row.subnet_id is None else self.data.subnets.get(row.subnet_id)

    def address(self, row: AddressRow) -> str | None:
        try:
            return str(parse_address(row.ip_addr, self.subnet(row)))
        except InvalidAddress:
            return None

    def fqdn(self, row: AddressRow) -> str | None:
        """The name DNS compares the row by: normalised, single labels qualified."""
        return comparison_name(row.hostname, self.policy.default_domain)

    def facts(self, row_id: int, role: str) -> RowFacts:
        row = self.rows.get(row_id)
        if row is None:
            return RowFacts(row_id, "?", None, None, None, None, None, None, None, role, False)
        subnet = self.subnet(row)
        ip = self.address(row)
        if ip is None:
            ip = f"{printable(row.ip_addr or 'NULL')} (not an address)"
        section_id = subnet.section_id if subnet is not None else None
        section = self.data.sections.get(section_id) if section_id is not None else None
        state = None
        if row.state is not None:
            state = self.data.tags.get(row.state) or f"tag #{row.state}"
        return RowFacts(
            id=row.id,
            ip=ip,
            hostname=None if row.hostname is None else printable(row.hostname),
            mac=None if row.mac is None else printable(row.mac),
            subnet=_subnet_label(subnet, row.subnet_id),
            subnet_id=row.subnet_id if subnet is not None else None,
            section=None if section is None else printable(section),
            section_id=section_id,
            state=None if state is None else printable(state),
            role=role,
        )


def _subnet_label(subnet: SubnetRow | None, subnet_id: int | None) -> str | None:
    if subnet is None:
        return None if subnet_id is None else f"subnet #{subnet_id} (not in phpIPAM)"
    described = f" ({printable(subnet.description, 60)})" if subnet.description else ""
    if subnet.is_folder:
        return f"folder{described}"
    network = subnet_network(subnet)
    return f"{network or f'subnet #{subnet.id}'}{described}"


def _problem(finding: Finding, view: _RowView) -> Problem:
    row = view.rows.get(finding.row_id)
    identity = _identity(finding, row, view)
    related = finding.related_ids
    role = _ROLE_OF_RELATED.get(finding.code, "related")
    rows = (
        view.facts(finding.row_id, "this row"),
        *(view.facts(rid, role) for rid in related[:MAX_RELATED_SHOWN]),
    )
    return Problem(
        key=sha256_hex(canonical_json(identity)),
        code=finding.code,
        row_id=finding.row_id,
        reason=printable(finding.reason, 400),
        dns=_dns_effect(finding, row, view),
        identity=identity,
        rows=rows,
        more_related=max(0, len(related) - MAX_RELATED_SHOWN),
    )


def _identity(finding: Finding, row: AddressRow | None, view: _RowView) -> dict[str, Any]:
    """The values that make the problem what it is (raw normalised values, not display)."""
    identity: dict[str, Any] = {"code": finding.code.value, "row": finding.row_id}
    if row is None:  # cannot happen with validator output; keep the key stable anyway
        return identity
    code = finding.code
    if finding.subject:
        # about one alias of the row (policy.alias_field): each bad alias is a problem
        # of its own, mailed once whatever happens to the row's other aliases
        identity["alias"] = finding.subject
        if code is Code.ALIAS_CONFLICT:
            identity["other"] = list(finding.related_ids[:1])  # the row holding it
        return identity
    if code in (Code.HOSTNAME_INVALID, Code.ZONE_NOT_FOUND):
        identity["hostname"] = normalise_hostname(row.hostname)
    elif code is Code.IP_INVALID:
        # the family (hence validity) also depends on the parent subnet
        identity["ip_addr"] = row.ip_addr
        identity["subnet"] = row.subnet_id
    elif code in (Code.DUPLICATE_HOSTNAME, Code.DUPLICATE_IP):
        # who wins is part of the problem: another winner is another message
        identity["fqdn"] = view.fqdn(row)
        identity["ip"] = view.address(row)
        identity["other"] = list(finding.related_ids[:1])
    elif code is Code.DUPLICATE_MAC:
        # not the other rows: a fourth host joining the MAC is its own new problem,
        # and must not re-report the rows already mailed
        identity["mac"] = normalise_mac(row.mac)
        identity["host"] = view.fqdn(row)
    elif code is Code.MAC_INVALID:
        identity["mac"] = normalise_mac(row.mac)
    elif code in (Code.DELEGATED, Code.STATIC_CONFLICT):
        # the name that meets the delegation or the static CNAME
        identity["fqdn"] = view.fqdn(row)
    return identity


def _dns_effect(finding: Finding, row: AddressRow | None, view: _RowView) -> str:
    code, rid = finding.code, finding.row_id
    if code in (Code.DUPLICATE_MAC, Code.MAC_INVALID):
        return (
            "no effect on DNS (MACs are never published); DHCP and inventory tools "
            "that key on the MAC may pick the wrong host"
        )
    if row is None:
        return f"nothing is published for row {rid}"
    ip = view.address(row) or "its address"
    fqdn = printable(view.fqdn(row) or "")
    if finding.subject:
        which = (
            "none of the row's aliases is published"
            if finding.subject == "*"  # the whole field (too many names)
            else f"the alias {printable(finding.subject)} is not published (no CNAME to {fqdn})"
        )
        return f"{which}; row {rid}'s own records are published as they are"
    other = view.rows.get(finding.related_ids[0]) if finding.related_ids else None
    if code is Code.DUPLICATE_HOSTNAME and other is not None:
        return (
            f"{view.address(other)} keeps {fqdn} (row {other.id}); row {rid} ({ip}) "
            "with the same name is not published"
        )
    if code is Code.DUPLICATE_IP and other is not None:
        holder = printable(view.fqdn(other) or "")
        return (
            f"the PTR of {ip} names {holder} (row {other.id}); {fqdn} -> {ip} is "
            f"published without a PTR"
        )
    return f"nothing is published for row {rid}: no A/AAAA record and no PTR from it"
