"""Every finding code, once: its value, whether it is a problem, and how people read it.

A *problem* is something an administrator must fix (the notifier mails it, the metrics
count it); a *note* is a policy decision `explain` shows and nobody is mailed about.
Members are declared in the order problems are grouped in mails and reports, so the
enum's own order is that order (``Code.rank``). The texts are fixed: they end up in
mail subjects, which never carry phpIPAM strings.
"""

from __future__ import annotations

from enum import StrEnum


class Code(StrEnum):
    """Why a row is not (fully) published, or what else an operator must hear about."""

    group_title: str  # "Invalid hostnames": the heading of a group of problems
    label: str  # "Invalid hostname": one of them
    is_problem: bool  # mailed and counted; False: a policy note shown by `explain`

    def __new__(cls, value: str, group_title: str, label: str, is_problem: bool) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.group_title = group_title
        member.label = label
        member.is_problem = is_problem
        return member

    # problems, in report order
    HOSTNAME_INVALID = ("HOSTNAME_INVALID", "Invalid hostnames", "Invalid hostname", True)
    ZONE_NOT_FOUND = (
        "ZONE_NOT_FOUND",
        "Hostnames outside the served zones",
        "Hostname outside the served zones",
        True,
    )
    DELEGATED = (
        "DELEGATED",
        "Hostnames below a delegation (another server's zone)",
        "Name below a delegation",
        True,
    )
    STATIC_CONFLICT = (
        "STATIC_CONFLICT",
        "Hosts whose name a static CNAME holds",
        "Host hidden by a static CNAME",
        True,
    )
    ALIAS_CONFLICT = (
        "ALIAS_CONFLICT",
        "Aliases that cannot be published",
        "Alias conflict",
        True,
    )
    IP_INVALID = ("IP_INVALID", "Unreadable IP addresses", "Unreadable IP address", True)
    DUPLICATE_HOSTNAME = ("DUPLICATE_HOSTNAME", "Duplicate hostnames", "Duplicate hostname", True)
    DUPLICATE_IP = (
        "DUPLICATE_IP",
        "IP addresses with several hostnames (PTR conflicts)",
        "PTR conflict",
        True,
    )
    DUPLICATE_MAC = (
        "DUPLICATE_MAC",
        "MAC addresses shared by different hosts",
        "Shared MAC address",
        True,
    )
    MAC_INVALID = ("MAC_INVALID", "Invalid MAC addresses", "Invalid MAC address", True)
    # found by the notifier outside phpIPAM rows (the validators never give it)
    SECONDARY_BEHIND = (
        "SECONDARY_BEHIND",
        "DNS secondaries behind pphook",
        "Secondary behind",
        True,
    )
    # notes: policy decisions, never mailed
    NO_HOSTNAME = ("NO_HOSTNAME", "Rows without hostname", "No hostname", False)
    STATE_FILTERED = (
        "STATE_FILTERED",
        "Rows whose state is not published",
        "State not published",
        False,
    )
    SECTION_FILTERED = (
        "SECTION_FILTERED",
        "Rows in sections not published",
        "Section not published",
        False,
    )
    PTR_IGNORED = ("PTR_IGNORED", "Rows with PTRignore", "PTR ignored", False)
    PTR_DELEGATED = (
        "PTR_DELEGATED",
        "Rows in classless blocks whose PTRs another server publishes",
        "PTR published elsewhere",
        False,
    )
    PTR_SUBNET_FLAG_OFF = (
        "PTR_SUBNET_FLAG_OFF",
        "Rows in subnets without 'Autocreate reverse records'",
        "No PTR: subnet flag off",
        False,
    )

    @property
    def rank(self) -> int:
        """Position in report order (problems first, in the order declared above)."""
        return _RANK[self]


_RANK: dict[Code, int] = {code: i for i, code in enumerate(Code)}

PROBLEM_CODES: frozenset[Code] = frozenset(c for c in Code if c.is_problem)
