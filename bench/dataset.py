"""The phpIPAM dataset and the pphook configuration that serves it.

``PhpipamData.generate(n)`` (tests/infra) writes ``n`` realistic rows: 90 % IPv4 in /24
subnets from 10.128.0.0 (hosts .1-.250), 10 % IPv6 in /64s from 2001:db8:8000::,
3 % without hostname, 2 % invalid names, 1 % duplicate names, duplicate MACs, some
upper-case names. It is fast enough for 1M rows (multi-row INSERTs, ~25 s).

Zones: ``example.com`` (every A/AAAA), one reverse zone per IPv4 /16 holding data (as
the perf anchor), and ``8.b.d.0.1.0.0.2.ip6.arpa`` for the IPv6 rows.
"""

from __future__ import annotations

import ipaddress
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


def generate(db: MariaDBServer, n: int, seed: int = 1) -> Dataset:
    import time

    data = PhpipamData(db.connect_admin())
    try:
        data.reset()
        t0 = time.monotonic()
        generated = data.generate(n, domain=FORWARD_ZONE, ipv6_share=IPV6_SHARE, seed=seed)
        data.execute("ANALYZE TABLE ipaddresses, subnets")
        seconds = time.monotonic() - t0
    finally:
        data.close()
    return Dataset(n, generated, seconds, reverse_networks(n))


def pphook_sections(
    db: MariaDBServer,
    workdir: Path,
    reverse: list[str],
    *,
    pdns_socket_dir: Path,
    refresh_interval: float,
    full_reload_interval: float,
) -> dict[str, Any]:
    """pphook.toml as in production (pphook.toml.example), on the bench's servers."""
    sections = default_sections(
        db.url(),
        f"sqlite:///{workdir}/state.db",
        workdir / "pphook.sock",
        forward=[FORWARD_ZONE],
        reverse=reverse,
        zones={"ttl": 3600},
        server={
            "refresh_interval": refresh_interval,
            "full_reload_interval": full_reload_interval,
            "pdns_control": "/usr/bin/pdns_control",
            "pdns_socket_dir": str(pdns_socket_dir),
        },
    )
    sections["logging"] = {"level": "INFO"}
    return sections
