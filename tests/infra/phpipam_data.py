"""Write phpIPAM rows the way phpIPAM stores them, for tests.

Goes through the admin account (pphook itself only ever gets the read-only one).
Addresses are stored as phpIPAM does: ``ip_addr``/``subnet`` hold the unsigned
integer as a decimal string for both families, ``mask`` is a string, folders are
subnet '0' with mask ''. Every write is autocommitted so a running pphook sees it at
once.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pymysql
import pymysql.connections
import pymysql.cursors

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPLike = str | int | IPAddress

# Tables a test may fill; reset() empties them. ipTags keeps its four default rows
# and settings its single row.
DATA_TABLES = ("ipaddresses", "subnets", "sections", "changelog", "vrf", "users", "nameservers")

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def ip_to_decimal(ip: IPLike) -> str:
    """phpIPAM's ``ip_addr`` form: ``10.10.1.3`` -> ``'168427779'``.

    Ints and strings of digits are taken as already-decimal values.
    """
    if isinstance(ip, int):
        return str(ip)
    if isinstance(ip, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(int(ip))
    if ip.isdigit():
        return ip
    return str(int(ipaddress.ip_address(ip)))


def decimal_to_ip(value: str, *, v6: bool = False) -> IPAddress:
    """The inverse, family by value unless ``v6`` (IPv6 values below 2**32 exist)."""
    n = int(value)
    return ipaddress.IPv6Address(n) if v6 or n > 0xFFFFFFFF else ipaddress.IPv4Address(n)


def network_columns(cidr: str) -> tuple[str, str]:
    """``'10.10.1.0/24'`` -> (subnet, mask) as phpIPAM stores them: ('168427776', '24')."""
    net = ipaddress.ip_network(cidr)
    return str(int(net.network_address)), str(net.prefixlen)


def _quote_ident(name: str) -> str:
    # Column names come from test code, but an f-string into SQL still deserves a check.
    if not _IDENT.match(name):
        raise ValueError(f"not a plain column name: {name!r}")
    return f"`{name}`"


@dataclass
class Generated:
    """What ``generate()`` wrote, so a test knows what to expect from pphook."""

    domain: str
    section_id: int
    subnet_ids: list[int] = field(default_factory=list)
    first_id: int = 0
    last_id: int = -1
    ipv4: int = 0
    ipv6: int = 0
    no_hostname: int = 0  # NULL hostname: inventory rows, never published
    invalid: int = 0  # syntax errors or names outside ``domain``
    duplicate_hostnames: int = 0  # rows repeating an earlier name of the same family
    duplicate_macs: int = 0  # rows with a hostname that reuse an earlier row's MAC
    published_a: int = 0  # distinct valid IPv4 names = expected A records
    published_aaaa: int = 0  # distinct valid IPv6 names = expected AAAA records

    @property
    def total(self) -> int:
        return self.ipv4 + self.ipv6

    @property
    def address_ids(self) -> range:
        return range(self.first_id, self.last_id + 1)


class PhpipamData:
    """Row-level helpers over one autocommit pymysql connection (admin account)."""

    def __init__(self, conn: pymysql.connections.Connection) -> None:
        self.conn = conn

    def close(self) -> None:
        """Close the connection (again is fine: outage tests close it before stopping)."""
        if self.conn.open:
            self.conn.close()

    # -- raw SQL ----------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> int:
        """Run one statement; returns the affected row count."""
        with self.conn.cursor() as cur:
            return int(cur.execute(sql, params))

    def query(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run a SELECT; rows as dicts keyed by column name."""
        with self.conn.cursor(pymysql.cursors.DictCursor) as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def _insert(self, table: str, columns: dict[str, Any]) -> int:
        names = ", ".join(_quote_ident(c) for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO {_quote_ident(table)} ({names}) VALUES ({marks})",
                list(columns.values()),
            )
            return int(cur.lastrowid)

    def _update(self, table: str, key: str, key_value: int, columns: dict[str, Any]) -> int:
        if not columns:
            raise ValueError("nothing to update")
        sets = ", ".join(f"{_quote_ident(c)} = %s" for c in columns)
        return self.execute(
            f"UPDATE {_quote_ident(table)} SET {sets} WHERE {_quote_ident(key)} = %s",
            [*columns.values(), key_value],
        )

    # -- sections, subnets ------------------------------------------------------

    def add_section(self, name: str, description: str | None = None, **columns: Any) -> int:
        """Insert a section; returns its id (sections are keyed by name, id is unique)."""
        return self._insert("sections", {"name": name, "description": description, **columns})

    def section_id(self, section: int | str) -> int:
        """Accept a section id or name; returns the id."""
        if isinstance(section, int):
            return section
        rows = self.query("SELECT id FROM sections WHERE name = %s", (section,))
        if not rows:
            raise LookupError(f"no section named {section!r}")
        return int(rows[0]["id"])

    def add_subnet(
        self,
        cidr: str | None,
        section: int | str,
        *,
        description: str | None = None,
        dns_recursive: bool = False,
        is_folder: bool = False,
        master_subnet_id: int = 0,
        vrf_id: int | None = None,
        **columns: Any,
    ) -> int:
        """Insert a subnet (or a folder when ``is_folder``; ``cidr`` is then ignored).

        ``section`` is a section id or name. Returns the subnet id.
        """
        if is_folder:
            subnet, mask = "0", ""
        else:
            if cidr is None:
                raise ValueError("a subnet needs a cidr (or is_folder=True)")
            subnet, mask = network_columns(cidr)
        row: dict[str, Any] = {
            "subnet": subnet,
            "mask": mask,
            "sectionId": self.section_id(section),
            "description": description if description is not None else (cidr or "Folder"),
            "DNSrecursive": int(dns_recursive),
            "isFolder": int(is_folder),
            "masterSubnetId": master_subnet_id,
            "vrfId": vrf_id,
        }
        row.update(columns)
        return self._insert("subnets", row)

    def update_subnet(self, subnet_id: int, **columns: Any) -> int:
        return self._update("subnets", "id", subnet_id, columns)

    def truncate_subnet(self, subnet_id: int) -> int:
        """What phpIPAM's "truncate subnet" does: one DELETE, no per-address changelog."""
        return self.execute("DELETE FROM ipaddresses WHERE subnetId = %s", (subnet_id,))

    def delete_subnet(self, subnet_id: int, *, with_addresses: bool = True) -> int:
        if with_addresses:
            self.truncate_subnet(subnet_id)
        return self.execute("DELETE FROM subnets WHERE id = %s", (subnet_id,))

    def add_vrf(self, name: str, rd: str | None = None, **columns: Any) -> int:
        return self._insert("vrf", {"name": name, "rd": rd, **columns})

    # -- addresses --------------------------------------------------------------

    def add_address(
        self,
        ip: IPLike,
        subnet_id: int | None,
        *,
        hostname: str | None = None,
        mac: str | None = None,
        state: int | None = 2,
        ptr_ignore: bool = False,
        is_gateway: bool = False,
        description: str | None = None,
        **columns: Any,
    ) -> int:
        """Insert an address; returns its id.

        Any other column can be given by its real name (``editDate=...``, ``id=...``,
        ``owner=...``); ``ip_addr=...`` stores a raw, possibly broken, value as is.
        editDate stays NULL unless given, exactly like an insert through phpIPAM.
        """
        row: dict[str, Any] = {
            "subnetId": subnet_id,
            "ip_addr": ip_to_decimal(ip),
            "hostname": hostname,
            "mac": mac,
            "state": state,
            "PTRignore": int(ptr_ignore),
            "is_gateway": int(is_gateway),
            "description": description,
        }
        row.update(columns)
        return self._insert("ipaddresses", row)

    def update_address(self, address_id: int, **columns: Any) -> int:
        """UPDATE columns by real name (``hostname=``, ``mac=``, ``state=``, ``PTRignore=``...).

        ``ip=`` is accepted as a convenience and stored as ``ip_addr`` in decimal.
        editDate moves by itself (ON UPDATE) when a value really changes.
        """
        if "ip" in columns:
            columns["ip_addr"] = ip_to_decimal(columns.pop("ip"))
        return self._update("ipaddresses", "id", address_id, columns)

    def delete_address(self, address_id: int) -> int:
        """Hard DELETE, as phpIPAM does (no soft-delete flag exists)."""
        return self.execute("DELETE FROM ipaddresses WHERE id = %s", (address_id,))

    def address(self, address_id: int) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM ipaddresses WHERE id = %s", (address_id,))
        return rows[0] if rows else None

    # -- users, changelog -------------------------------------------------------

    def add_user(
        self,
        username: str,
        *,
        real_name: str | None = None,
        email: str | None = None,
        role: str = "User",
        mail_notify: bool = False,
        **columns: Any,
    ) -> int:
        """Insert a phpIPAM user; returns users.id."""
        return self._insert(
            "users",
            {
                "username": username,
                "real_name": real_name if real_name is not None else username,
                "email": email,
                "role": role,
                "mailNotify": "Yes" if mail_notify else "No",
                **columns,
            },
        )

    def add_changelog(
        self,
        coid: int,
        cuser: int,
        caction: str = "edit",
        *,
        ctype: str = "ip_addr",
        cdiff: str | None = None,
        cdate: datetime | None = None,
    ) -> int:
        """Insert a changelog row as phpIPAM writes one for an address change."""
        return self._insert(
            "changelog",
            {
                "ctype": ctype,
                "coid": coid,
                "cuser": cuser,
                "caction": caction,
                "cresult": "success",
                "cdate": cdate or datetime.now().replace(microsecond=0),
                "cdiff": cdiff,
            },
        )

    # -- whole database ---------------------------------------------------------

    def reset(self) -> None:
        """Empty every data table; ipTags keeps its 4 defaults, settings its row (with
        phpIPAM's defaults for what tests change).

        TRUNCATE also resets AUTO_INCREMENT, so ids start at 1 in every test.
        """
        with self.conn.cursor() as cur:
            for table in DATA_TABLES:
                cur.execute(f"TRUNCATE TABLE `{table}`")
            cur.execute("UPDATE settings SET prettyLinks = 'No'")  # phpIPAM's default
            cur.execute("DELETE FROM ipTags WHERE id > 4")
            cur.execute("ALTER TABLE ipTags AUTO_INCREMENT = 5")

    def count(self, table: str = "ipaddresses") -> int:
        rows = self.query(f"SELECT COUNT(*) AS n FROM {_quote_ident(table)}")
        return int(rows[0]["n"])

    # -- bulk -------------------------------------------------------------------

    def generate(
        self,
        n: int,
        *,
        domain: str = "example.com",
        section: str = "Generated",
        ipv6_share: float = 0.1,
        no_hostname_share: float = 0.03,
        invalid_share: float = 0.02,
        duplicate_share: float = 0.01,
        mac_duplicate_share: float = 0.005,
        ipv4_base: str = "10.128.0.0",
        ipv6_base: str = "2001:db8:8000::",
        seed: int = 1,
        batch_size: int = 10_000,
    ) -> Generated:
        """Bulk-load ``n`` realistic addresses under ``domain``; deterministic per seed.

        IPv4 rows fill /24 subnets from ``ipv4_base`` (hosts .1-.250), IPv6 rows /64
        subnets from ``ipv6_base`` (1000 hosts each). Mixed in, by share of ``n``:
        hostname-less inventory rows (some DHCP, state 4), invalid names (underscore,
        non-ASCII, short, outside ``domain``, trailing hyphen), rows repeating an
        earlier name of the same family, rows repeating an earlier MAC. Some valid
        names are upper-case (still valid), half the rows have an editDate.
        Batched multi-row INSERTs: 100k rows take a few seconds.
        """
        rng = random.Random(seed)
        sec_rows = self.query("SELECT id FROM sections WHERE name = %s", (section,))
        section_id = int(sec_rows[0]["id"]) if sec_rows else self.add_section(section)
        result = Generated(domain=domain, section_id=section_id)

        n6 = round(n * ipv6_share)
        n4 = n - n6
        v4_per_subnet, v6_per_subnet = 250, 1000
        base4 = int(ipaddress.IPv4Address(ipv4_base))
        base6 = int(ipaddress.IPv6Address(ipv6_base))

        # (network address as int, prefix length, host count, family)
        subnets: list[tuple[int, int, int, str]] = []
        for k in range(-(-n4 // v4_per_subnet)):
            subnets.append((base4 + (k << 8), 24, min(v4_per_subnet, n4 - k * v4_per_subnet), "4"))
        for k in range(-(-n6 // v6_per_subnet)):
            subnets.append((base6 + (k << 64), 64, min(v6_per_subnet, n6 - k * v6_per_subnet), "6"))

        next_subnet = self._next_id("subnets")
        self._insert_many(
            "subnets",
            ("id", "subnet", "mask", "sectionId", "description"),
            [
                (
                    next_subnet + i,
                    str(network),
                    str(prefix),
                    section_id,
                    f"generated {ipaddress.ip_network((network, prefix))}",
                )
                for i, (network, prefix, _, _) in enumerate(subnets)
            ],
            batch_size,
        )
        result.subnet_ids = list(range(next_subnet, next_subnet + len(subnets)))

        first_id = self._next_id("ipaddresses")
        result.first_id = first_id
        names = _NameMaker(rng, domain)
        seen: dict[str, list[str]] = {"4": [], "6": []}  # valid names first used, per family
        macs: list[str] = []
        base_time = datetime(2025, 1, 1)
        rows: list[tuple[Any, ...]] = []
        next_id = first_id
        for i, (network, _, count, family) in enumerate(subnets):
            for h in range(1, count + 1):
                ip = str(network + h)
                r = rng.random()
                state = 2
                if r < no_hostname_share:
                    hostname = None
                    result.no_hostname += 1
                    state = 4 if rng.random() < 0.5 else 2
                elif r < no_hostname_share + invalid_share:
                    hostname = names.invalid(next_id)
                    result.invalid += 1
                elif r < no_hostname_share + invalid_share + duplicate_share and seen[family]:
                    hostname = rng.choice(seen[family])
                    if rng.random() < 0.3:
                        hostname = hostname.upper()  # same FQDN once normalised
                    result.duplicate_hostnames += 1
                else:
                    hostname = names.valid(next_id)
                    seen[family].append(hostname)
                    if rng.random() < 0.05:
                        hostname = hostname.upper()
                    state = rng.choice((2, 2, 2, 2, 2, 2, 1, 3))
                mac: str | None = None
                if rng.random() < 0.5:
                    if macs and rng.random() < mac_duplicate_share * 2 and hostname:
                        mac = rng.choice(macs)
                        result.duplicate_macs += 1
                    else:
                        mac = _mac(next_id)
                        macs.append(mac)
                edit = base_time + timedelta(seconds=rng.randrange(30_000_000))
                rows.append(
                    (
                        next_id,
                        result.subnet_ids[i],
                        ip,
                        hostname,
                        mac,
                        state,
                        edit if rng.random() < 0.5 else None,
                    )
                )
                next_id += 1
                if len(rows) >= batch_size:
                    self._insert_address_rows(rows)
                    rows.clear()
        if rows:
            self._insert_address_rows(rows)
        result.last_id = next_id - 1
        result.ipv4, result.ipv6 = n4, n6
        result.published_a = len(seen["4"])
        result.published_aaaa = len(seen["6"])
        return result

    def _next_id(self, table: str) -> int:
        rows = self.query(f"SELECT COALESCE(MAX(id), 0) + 1 AS n FROM {_quote_ident(table)}")
        return int(rows[0]["n"])

    def _insert_address_rows(self, rows: list[tuple[Any, ...]]) -> None:
        self._insert_many(
            "ipaddresses",
            ("id", "subnetId", "ip_addr", "hostname", "mac", "state", "editDate"),
            rows,
            len(rows),
        )

    def _insert_many(
        self,
        table: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        batch_size: int,
    ) -> None:
        # pymysql turns executemany() of a plain INSERT ... VALUES into multi-row
        # INSERTs (bounded by max_allowed_packet): one round trip per ~batch.
        sql = (
            f"INSERT INTO {_quote_ident(table)} ({', '.join(_quote_ident(c) for c in columns)})"
            f" VALUES ({', '.join(['%s'] * len(columns))})"
        )
        chunk: list[Sequence[Any]] = []
        with self.conn.cursor() as cur:
            for row in rows:
                chunk.append(row)
                if len(chunk) >= batch_size:
                    cur.executemany(sql, chunk)
                    chunk.clear()
            if chunk:
                cur.executemany(sql, chunk)


def _mac(i: int) -> str:
    """A locally administered, unique MAC for row ``i``."""
    return "02:" + ":".join(f"{(i >> s) & 0xFF:02x}" for s in (32, 24, 16, 8, 0))


class _NameMaker:
    """Realistic host names: role prefix, number, site label, domain."""

    _ROLES = ("srv", "web", "db", "app", "ws", "vm", "prn", "sw", "ap", "cam", "k8s-node")
    _SITES = ("dc1", "dc2", "office", "lab", "branch-nord")

    def __init__(self, rng: random.Random, domain: str) -> None:
        self.rng = rng
        self.domain = domain

    def valid(self, i: int) -> str:
        role = self._ROLES[i % len(self._ROLES)]
        site = self._SITES[(i // 7) % len(self._SITES)]
        return f"{role}-{i:07d}.{site}.{self.domain}"

    def invalid(self, i: int) -> str:
        kind = self.rng.randrange(5)
        if kind == 0:
            return f"bad_name-{i}.{self.domain}"  # underscore
        if kind == 1:
            return f"hôte-{i}.{self.domain}"  # non-ASCII
        if kind == 2:
            return f"short{i}"  # single label
        if kind == 3:
            return f"host-{i}.elsewhere.invalid"  # outside the zone
        return f"host-{i}-.{self.domain}"  # label ends with a hyphen
