"""The phpIPAM dataset and the pphook configuration that serves it.

``PhpipamData.generate(n)`` (tests/infra) writes ``n`` realistic rows: 90 % IPv4 in /24
subnets from 10.128.0.0 (hosts .1-.250), 10 % IPv6 in /64s from 2001:db8:8000::,
3 % without hostname, 2 % invalid names, 1 % duplicate names, duplicate MACs, some
upper-case names. It is fast enough for 1M rows (multi-row INSERTs, ~25 s).

On top of that, the whole-zone features an operator uses (SPEC §10):

- the phpIPAM custom field ``custom_aliases`` (added as phpIPAM's admin page adds it)
  holding 1-2 aliases on 10 % of the rows, a few of them conflicting (a published
  host's name, a static record's name, one alias claimed by several rows);
- ``static_dir/example.com.zone`` with 1,000 static records (MX, TXT, SRV, CAA, CNAME,
  A, AAAA, and the delegation ``sub.example.com`` with glue);
- ``zones.nameserver_addresses`` for ns1/ns2.

Zones: ``example.com`` (every A/AAAA), one reverse zone per IPv4 /16 holding data (as
the perf anchor), and ``8.b.d.0.1.0.0.2.ip6.arpa`` for the IPv6 rows.
"""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.mariadb import MariaDBServer
from infra.phpipam_data import Generated, PhpipamData
from infra.pphook import default_sections

FORWARD_ZONE = "example.com"
IPV4_BASE = "10.128.0.0"
IPV6_NET = "2001:db8::/32"
IPV6_SHARE = 0.1
V4_PER_SUBNET = 250  # generate(): hosts .1-.250 of each /24
ALIAS_FIELD = "custom_aliases"
STATIC_RECORDS = 1000
NAMESERVER_ADDRESSES = {
    "ns1.example.com": ["192.0.2.53", "2001:db8:ffff::53"],
    "ns2.example.com": ["192.0.2.54"],
}
# generate()'s valid names: role by row id, site by id // 7 (infra.phpipam_data._NameMaker)
_ROLES = ("srv", "web", "db", "app", "ws", "vm", "prn", "sw", "ap", "cam", "k8s-node")
_SITES = ("dc1", "dc2", "office", "lab", "branch-nord")


class BenchMariaDB(MariaDBServer):
    """The test MariaDB with a buffer pool big enough for the data (gmysql at 1M
    addresses holds ~2M records rows; the tests' 64 MiB pool would send every
    gmysql lookup to the page cache and make the anchor look worse than it is)."""

    def __init__(self, buffer_pool: str = "1G", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.buffer_pool = buffer_pool

    def _server_args(self) -> list[str]:
        args = [a for a in super()._server_args() if not a.startswith("--innodb-buffer-pool-size")]
        return [
            f"--innodb-buffer-pool-size={self.buffer_pool}",
            "--max-connections=200",
            "--local-infile=1",
            *args,
        ]


def reverse_networks(n: int) -> list[str]:
    """The IPv4 /16s generate(n) fills, then the IPv6 /32."""
    n4 = n - round(n * IPV6_SHARE)
    subnets = -(-n4 // V4_PER_SUBNET)
    sixteens = max(1, -(-subnets // 256))
    base = int(ipaddress.IPv4Address(IPV4_BASE))
    nets = [str(ipaddress.IPv4Network((base + (k << 16), 16))) for k in range(sixteens)]
    return [*nets, IPV6_NET]


@dataclass
class Dataset:
    size: int
    generated: Generated
    seconds: float
    reverse: list[str]
    aliases: dict[str, int]


def generate(db: MariaDBServer, n: int, seed: int = 1) -> Dataset:
    data = PhpipamData(db.connect_admin())
    try:
        data.reset()
        # phpIPAM's Administration > Custom fields: a nullable VARCHAR on ipaddresses
        # (instant in MariaDB; kept across sizes, emptied by reset's TRUNCATE)
        data.execute(
            f"ALTER TABLE ipaddresses ADD COLUMN IF NOT EXISTS `{ALIAS_FIELD}` "
            "VARCHAR(255) DEFAULT NULL"
        )
        t0 = time.monotonic()
        generated = data.generate(n, domain=FORWARD_ZONE, ipv6_share=IPV6_SHARE, seed=seed)
        aliases = add_aliases(data, generated)
        data.execute("ANALYZE TABLE ipaddresses, subnets")
        seconds = time.monotonic() - t0
    finally:
        data.close()
    return Dataset(n, generated, seconds, reverse_networks(n), aliases)


def _valid_name(row_id: int) -> str:
    """The name generate() gives row ``row_id`` when it draws a valid one."""
    role = _ROLES[row_id % len(_ROLES)]
    site = _SITES[(row_id // 7) % len(_SITES)]
    return f"{role}-{row_id:07d}.{site}.{FORWARD_ZONE}"


def add_aliases(data: PhpipamData, generated: Generated) -> dict[str, int]:
    """Aliases on 10 % of the rows (by id: deterministic, spread over every subnet):
    one single label (qualified with the row's zone) on 5 %, a label plus an FQDN under
    the row's site on 5 %; then a few conflicting ones. Returns counts by kind."""
    first, last = generated.first_id, generated.last_id
    one = data.execute(
        f"UPDATE ipaddresses SET `{ALIAS_FIELD}` = CONCAT('al-', id) "
        "WHERE id BETWEEN %s AND %s AND id %% 20 = 3",
        (first, last),
    )
    two = data.execute(
        f"UPDATE ipaddresses SET `{ALIAS_FIELD}` = CONCAT('al-', id, ', al2-', id, "
        f"'.dc1.{FORWARD_ZONE}') WHERE id BETWEEN %s AND %s AND id %% 20 = 13",
        (first, last),
    )
    # conflicts, ~0.3 % of the rows: ALIAS_CONFLICT in the snapshot, as in real data
    conflicts: list[tuple[str, int]] = []
    for row_id in range(first + 101, last + 1, 1000):
        # the name another row holds (a published host, when generate drew a valid one)
        conflicts.append((_valid_name(row_id - 100), row_id))
    for row_id in range(first + 401, last + 1, 1000):
        conflicts.append(("mail", row_id))  # a static record's name
    for row_id in range(first + 701, last + 1, 1000):
        conflicts.append((f"shared-alias-{row_id // 10_000}", row_id))  # claimed by ~10 rows
    with data.conn.cursor() as cur:
        cur.executemany(
            f"UPDATE ipaddresses SET `{ALIAS_FIELD}` = %s WHERE id = %s AND hostname IS NOT NULL",
            conflicts,
        )
    return {"one alias": one, "two aliases": two, "conflicting": len(conflicts)}


def static_zone_text(count: int = STATIC_RECORDS) -> str:
    """``count`` static records for example.com (BIND master-file syntax): what a DNS
    admin keeps beside the phpIPAM hosts. Names never collide with generate()'s."""
    head = [
        "; static records beside the phpIPAM hosts (bench/dataset.py)",
        "$TTL 600",
        "@            IN MX    10 mail",
        "@            IN MX    20 mail2",
        '@       3600 IN TXT   "v=spf1 mx -all"',
        '_dmarc       IN TXT   "v=DMARC1; p=reject"',
        '@            IN CAA   0 issue "letsencrypt.org"',
        "mail         IN A     192.0.2.25",
        "mail2        IN A     192.0.2.26",
        "mail         IN AAAA  2001:db8:ffff::25",
        "; a delegated subzone with glue",
        "sub          IN NS    ns.sub",
        "sub          IN NS    ns2.sub",
        "ns.sub       IN A     192.0.2.60",
        "ns2.sub      IN A     192.0.2.61",
    ]
    records = [line for line in head if not line.startswith((";", "$"))]
    body: list[str] = []
    kinds = ("A", "AAAA", "TXT", "SRV", "CNAME", "A", "MX", "CNAME")
    i = 0
    while len(records) + len(body) < count:
        kind = kinds[i % len(kinds)]
        if kind == "A":
            body.append(f"st-{i:04d}       IN A     198.51.100.{i % 250 + 1}")
        elif kind == "AAAA":
            body.append(f"st-{i:04d}       IN AAAA  2001:db8:5::{i:x}")
        elif kind == "TXT":
            body.append(f'txt-{i:04d}  300 IN TXT   "owner=team-{i % 17}" "cost-centre {i}"')
        elif kind == "SRV":
            body.append(f"_svc{i:04d}._tcp  120 IN SRV  10 60 {5000 + i} st-{i - 3:04d}")
        elif kind == "MX":
            body.append(f"mx-{i:04d}       IN MX    10 mail")
        else:
            body.append(f"cn-{i:04d}       IN CNAME st-{i - (i % 8):04d}")
        i += 1
    return "\n".join(head + body) + "\n"


def write_static_dir(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{FORWARD_ZONE}.zone").write_text(static_zone_text())
    return directory


def pphook_sections(
    db: MariaDBServer,
    workdir: Path,
    reverse: list[str],
    *,
    pdns_socket_dir: Path,
    refresh_interval: float,
    full_reload_interval: float,
    state_name: str = "state.db",
    snapshot_dir: Path | None = None,
) -> dict[str, Any]:
    """pphook.toml as in production (pphook.toml.example), on the bench's servers, with
    the whole-zone features on (static_dir, nameserver_addresses, alias_field)."""
    sections = default_sections(
        db.url(),
        f"sqlite:///{workdir}/{state_name}",
        workdir / "pphook.sock",
        forward=[FORWARD_ZONE],
        reverse=reverse,
        zones={
            "ttl": 3600,
            "static_dir": str(write_static_dir(workdir / "zones")),
            "nameserver_addresses": NAMESERVER_ADDRESSES,
        },
        policy={"alias_field": ALIAS_FIELD},
        server={
            "snapshot_dir": str(snapshot_dir or workdir / "snapshot"),
            "refresh_interval": refresh_interval,
            "full_reload_interval": full_reload_interval,
            "pdns_control": "/usr/bin/pdns_control",
            "pdns_socket_dir": str(pdns_socket_dir),
        },
    )
    sections["logging"] = {"level": "INFO"}
    return sections
