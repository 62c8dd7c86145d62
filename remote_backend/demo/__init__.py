"""A small, realistic phpIPAM database in SQLite for the embedded demo.

``create_demo_database(path)`` writes the phpIPAM tables (``phpipam-sqlite.sql`` beside
this file, same names and columns as a real phpIPAM 1.6-1.8 MariaDB) and a sample the
demo serves with these zones: forward ``example.com``; reverse ``10.0.0.0/8``,
``192.168.0.0/16`` and ``2001:db8::/32``.

Sections: ``Customers`` (id 1) and ``Lab`` (id 2). Subnets (id: network, section):

- 1: 10.10.1.0/24, Customers: servers.
- 2: 10.10.2.0/24, Customers: clients, DNSrecursive=1 ("Autocreate reverse records").
- 3: 10.10.2.0/26, Customers: printers, nested in 2; holds the IP conflict.
- 4: 192.168.50.0/24, Lab.
- 5: 2001:db8:10::/64, Customers: IPv6 servers.
- 6: folder "Legacy", Lab (subnet '0', mask ''), one address in it.

Published as they are: server1/server2/www/mail/db1/ns1/ns2.example.com,
``Backup.Example.COM`` (case is normalised), ``dual.example.com`` (A 10.10.1.10 and
AAAA 2001:db8:10::10), ``noptr.example.com`` (PTRignore=1: A only, no PTR),
``reserved.example.com`` (state Reserved), ``testbox.example.com`` (state Offline),
``xn--bcher-kva.example.com`` (punycode), the laptops and lab hosts, ``v6only`` and
``legacy.example.com`` (in the folder: family taken from the value).
Inventory rows with no hostname (not published, not a problem): the gateways and the
two DHCP rows (state 4) in 10.10.2.0/24.

Rows meant to be rejected or reported, and why:

- 10.10.1.20 ``bad_name.example.com``: underscore (HOSTNAME_INVALID).
- 10.10.1.21 ``höst.example.com``: non-ASCII, needs punycode (HOSTNAME_INVALID).
- 10.10.1.22 ``server1.example.com``: same FQDN as 10.10.1.3 (id 2), which has the lower
  id and wins; this row is DUPLICATE_HOSTNAME.
- 10.10.1.23 ``printer7``: short name and the demo sets no default_domain
  (ZONE_NOT_FOUND).
- 10.10.1.24 ``db.other.org``: not under a served forward zone (ZONE_NOT_FOUND).
- 10.10.2.50 ``conflict-a.example.com`` (subnet 2, id 22) and ``conflict-b.example.com``
  (subnet 3, id 23): one IP, two names (DUPLICATE_IP). Both A records are published;
  the PTR goes to the lower id, conflict-a.
- 10.10.2.10 ``laptop-alice`` and 10.10.2.11 ``laptop-bob``: one MAC written two ways
  (``aa:bb:cc:00:00:01`` / ``AA-BB-CC-00-00-01``) on different hostnames
  (DUPLICATE_MAC). MACs never affect DNS: both names are published.
- 10.10.1.25 ``trailing.example.com.``: *valid*; the one trailing dot is dropped.
"""

from __future__ import annotations

import ipaddress
import os
import sqlite3
from importlib import resources
from typing import NamedTuple

SCHEMA_RESOURCE = "phpipam-sqlite.sql"


class _Subnet(NamedTuple):
    id: int
    cidr: str | None  # None: a folder
    section_id: int
    description: str
    dns_recursive: bool = False
    master_subnet_id: int = 0


class _Address(NamedTuple):
    id: int
    ip: str
    subnet_id: int
    hostname: str | None
    mac: str | None = None
    state: int = 2  # ipTags: 1 Offline, 2 Used, 3 Reserved, 4 DHCP
    is_gateway: bool = False
    ptr_ignore: bool = False
    description: str | None = None
    edit_date: str | None = None  # NULL = never edited since insert, as in phpIPAM


_SECTIONS = ((1, "Customers", "Customer-facing networks"), (2, "Lab", "Test lab"))

_SUBNETS = (
    _Subnet(1, "10.10.1.0/24", 1, "Servers"),
    _Subnet(2, "10.10.2.0/24", 1, "Clients", dns_recursive=True),
    _Subnet(3, "10.10.2.0/26", 1, "Printers", master_subnet_id=2),
    _Subnet(4, "192.168.50.0/24", 2, "Lab LAN"),
    _Subnet(5, "2001:db8:10::/64", 1, "Servers v6"),
    _Subnet(6, None, 2, "Legacy"),
)

_ADDRESSES = (
    # 10.10.1.0/24: servers
    _Address(1, "10.10.1.1", 1, None, is_gateway=True, description="Gateway"),
    _Address(
        2,
        "10.10.1.3",
        1,
        "server1.example.com",
        "52:54:00:12:34:01",
        edit_date="2025-01-14 09:12:44",
    ),
    _Address(3, "10.10.1.4", 1, "server2.example.com", "52:54:00:12:34:02"),
    _Address(4, "10.10.1.5", 1, "www.example.com", edit_date="2025-02-03 16:40:02"),
    _Address(5, "10.10.1.6", 1, "mail.example.com"),
    _Address(6, "10.10.1.7", 1, "db1.example.com", "52:54:00:12:34:07"),
    _Address(7, "10.10.1.8", 1, "Backup.Example.COM"),
    _Address(8, "10.10.1.10", 1, "dual.example.com", "52:54:00:12:34:10"),
    _Address(9, "10.10.1.11", 1, "ns1.example.com"),
    _Address(10, "10.10.1.12", 1, "ns2.example.com"),
    _Address(11, "10.10.1.30", 1, "reserved.example.com", state=3),
    _Address(12, "10.10.1.31", 1, "noptr.example.com", ptr_ignore=True),
    _Address(13, "10.10.1.20", 1, "bad_name.example.com"),
    _Address(14, "10.10.1.21", 1, "höst.example.com"),
    _Address(15, "10.10.1.22", 1, "server1.example.com", edit_date="2025-03-01 11:00:00"),
    _Address(16, "10.10.1.23", 1, "printer7"),
    _Address(17, "10.10.1.24", 1, "db.other.org"),
    _Address(18, "10.10.1.25", 1, "trailing.example.com."),
    # 10.10.2.0/24: clients (Autocreate reverse records on)
    _Address(19, "10.10.2.1", 2, None, is_gateway=True, description="Gateway"),
    _Address(20, "10.10.2.10", 2, "laptop-alice.example.com", "aa:bb:cc:00:00:01"),
    _Address(21, "10.10.2.11", 2, "laptop-bob.example.com", "AA-BB-CC-00-00-01"),
    _Address(22, "10.10.2.50", 2, "conflict-a.example.com"),
    _Address(24, "10.10.2.12", 2, "desk-carol.example.com", "aa:bb:cc:00:00:12"),
    _Address(25, "10.10.2.100", 2, None, state=4, description="DHCP range"),
    _Address(26, "10.10.2.101", 2, None, state=4, description="DHCP range"),
    # 10.10.2.0/26 nested in 10.10.2.0/24: the same IP as id 22 under another name
    _Address(23, "10.10.2.50", 3, "conflict-b.example.com"),
    # 192.168.50.0/24: lab
    _Address(27, "192.168.50.1", 4, None, is_gateway=True, description="Gateway"),
    _Address(28, "192.168.50.10", 4, "lab-switch.example.com", "00:11:22:33:44:55"),
    _Address(29, "192.168.50.11", 4, "lab-ap.example.com", "00:11:22:33:44:56"),
    _Address(30, "192.168.50.12", 4, "testbox.example.com", state=1),
    _Address(31, "192.168.50.20", 4, "xn--bcher-kva.example.com"),
    # 2001:db8:10::/64
    _Address(32, "2001:db8:10::1", 5, None, is_gateway=True, description="Gateway"),
    _Address(33, "2001:db8:10::10", 5, "dual.example.com", "52:54:00:12:34:10"),
    _Address(34, "2001:db8:10::20", 5, "v6only.example.com"),
    # the "Legacy" folder
    _Address(35, "10.10.9.9", 6, "legacy.example.com", description="Old box, no subnet"),
)

_USERS = (
    # (id, username, real_name, email, role, mailNotify)
    (1, "admin", "IPAM Admin", "ipam-admin@example.com", "Administrator", "Yes"),
    (2, "jdoe", "Jane Doe", "jane.doe@example.com", "User", "No"),
)

# Who added the rows that will be reported: lets the notifier name a person.
_CHANGELOG_ADDS = ((13, 2), (14, 2), (15, 2), (16, 1), (17, 2), (21, 2), (23, 1))


def _decimal(ip: str) -> str:
    """phpIPAM's storage form: the address as an unsigned decimal string."""
    return str(int(ipaddress.ip_address(ip)))


def create_demo_database(path: str, *, overwrite: bool = False) -> None:
    """Create the SQLite phpIPAM database at ``path`` and load the demo sample.

    Refuses to touch an existing file unless ``overwrite`` is true, so a wrong path
    cannot clobber someone's data.
    """
    if os.path.exists(path):
        if not overwrite:
            raise FileExistsError(f"demo database already exists: {path}")
        os.remove(path)
    schema = resources.files(__name__).joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    conn = sqlite3.connect(path)
    try:
        conn.executescript(schema)
        _load_sample(conn)
        conn.commit()
    finally:
        conn.close()


def _load_sample(conn: sqlite3.Connection) -> None:
    conn.executemany("INSERT INTO sections (id, name, description) VALUES (?, ?, ?)", _SECTIONS)
    for s in _SUBNETS:
        if s.cidr is None:
            subnet, mask, is_folder = "0", "", 1
        else:
            net = ipaddress.ip_network(s.cidr)
            subnet, mask, is_folder = _decimal(str(net.network_address)), str(net.prefixlen), 0
        conn.execute(
            "INSERT INTO subnets (id, subnet, mask, sectionId, description, DNSrecursive,"
            " masterSubnetId, isFolder) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                s.id,
                subnet,
                mask,
                s.section_id,
                s.description,
                int(s.dns_recursive),
                s.master_subnet_id,
                is_folder,
            ),
        )
    conn.executemany(
        "INSERT INTO ipaddresses (id, subnetId, ip_addr, is_gateway, description, hostname,"
        " mac, state, PTRignore, editDate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                a.id,
                a.subnet_id,
                _decimal(a.ip),
                int(a.is_gateway),
                a.description,
                a.hostname,
                a.mac,
                a.state,
                int(a.ptr_ignore),
                a.edit_date,
            )
            for a in _ADDRESSES
        ],
    )
    conn.executemany(
        "INSERT INTO users (id, username, real_name, email, role, mailNotify)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        _USERS,
    )
    conn.executemany(
        "INSERT INTO changelog (ctype, coid, cuser, caction, cresult, cdate, cdiff)"
        " VALUES ('ip_addr', ?, ?, 'add', 'success', '2025-03-01 10:00:00', NULL)",
        _CHANGELOG_ADDS,
    )
