"""Change propagation: a phpIPAM row changes in MariaDB -> pdns answers the new data.

pdns runs with its default caches (20/20/60) and `pphook serve` purges changed names
through ``pdns_control`` (server.pdns_control / pdns_socket_dir). Changes come as a
stream: insert (new name, polled while absent, so pdns holds a cached NXDOMAIN),
hostname edit (the PTR of the address, cached before the edit, must show the new
name), delete (the A of the name, cached before, must become NXDOMAIN). The gap
between two changes is random, so changes land at every phase of the refresh tick;
several may be in flight. Every pending change is polled with dnspython every
``poll_ms``; its latency is commit -> first response showing the new data.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.reversename
from infra.phpipam_data import PhpipamData


@dataclass
class Victim:
    row_id: int
    ip: str
    name: str


@dataclass
class Change:
    kind: str  # insert | edit | delete
    qname: str
    rdtype: str
    expect: str | None  # rdata text expected, None = NXDOMAIN
    committed: float = 0.0
    seen: float | None = None


@dataclass
class PropagationResult:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    timeouts: int = 0
    changes: int = 0
    seconds: float = 0.0
    polls: int = 0


class Poller:
    """One UDP socket, dnspython messages, no retries: cheap enough for ms polling."""

    def __init__(self, port: int) -> None:
        self.addr = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(0.5)

    def ask(self, qname: str, rdtype: str) -> tuple[int, set[str]] | None:
        q = dns.message.make_query(qname, rdtype)
        q.flags &= ~dns.flags.RD
        try:
            self.sock.sendto(q.to_wire(), self.addr)
            while True:
                data, _ = self.sock.recvfrom(65535)
                msg = dns.message.from_wire(data)
                if msg.id == q.id:
                    break
        except (TimeoutError, OSError, dns.exception.DNSException):
            return None
        want = dns.rdatatype.from_text(rdtype)
        values = {rd.to_text() for rr in msg.answer if rr.rdtype == want for rd in rr}
        return msg.rcode(), values

    def close(self) -> None:
        self.sock.close()


def visible(change: Change, answer: tuple[int, set[str]] | None) -> bool:
    if answer is None:
        return False
    rcode, values = answer
    if change.expect is None:
        return rcode == dns.rcode.NXDOMAIN
    return rcode == dns.rcode.NOERROR and change.expect in values


def pick_victims(data: PhpipamData, records_tsv: Path, count: int, seed: int) -> list[Victim]:
    """Published IPv4 names backed by exactly one phpIPAM row, whose PTR is that name."""
    a_of: dict[str, list[str]] = {}
    ptr_of: dict[str, str] = {}
    with open(records_tsv, encoding="utf-8") as src:
        for line in src:
            _, owner, qtype, content = line.rstrip("\n").split("\t")[:4]
            if qtype == "A":
                a_of.setdefault(owner, []).append(content)
            elif qtype == "PTR" and owner.endswith(".in-addr.arpa"):
                ptr_of[owner] = content
    rng = random.Random(seed)
    candidates = [n for n, ips in a_of.items() if len(ips) == 1 and n.count(".") >= 3]
    rng.shuffle(candidates)
    victims: list[Victim] = []
    for start in range(0, len(candidates), 500):
        chunk = candidates[start : start + 500]
        marks = ", ".join(["%s"] * len(chunk))
        # utf8mb4_unicode_ci: IN matches case-insensitively, like the validators
        rows = data.query(
            f"SELECT id, ip_addr, hostname FROM ipaddresses WHERE hostname IN ({marks})", chunk
        )
        per_name: dict[str, list[dict[str, object]]] = {}
        for row in rows:
            per_name.setdefault(str(row["hostname"]).lower().rstrip("."), []).append(row)
        for name in chunk:
            found = per_name.get(name, [])
            if len(found) != 1:
                continue
            ip = str(ipaddress.ip_address(int(str(found[0]["ip_addr"]))))
            if a_of[name] != [ip] or ptr_of.get(_rev(ip)) != name:
                continue
            victims.append(Victim(int(str(found[0]["id"])), ip, name))
            if len(victims) >= count:
                return victims
    return victims


def _rev(ip: str) -> str:
    return dns.reversename.from_address(ip).to_text(omit_final_dot=True)


def free_insert_slots(data: PhpipamData, count: int) -> list[tuple[int, str]]:
    """Free (subnet id, address) pairs: hosts .251-.254 of /24s, which generate() never
    uses (and an earlier propagation run has not taken)."""
    rows = data.query("SELECT id, subnet FROM subnets WHERE mask = '24' ORDER BY id LIMIT 500")
    taken = {
        str(r["ip_addr"])
        for r in data.query("SELECT ip_addr FROM ipaddresses WHERE hostname LIKE 'bench-%%'")
    }
    slots = []
    for host in (251, 252, 253, 254):
        for row in rows:
            ip = int(row["subnet"]) + host
            if str(ip) not in taken:
                slots.append((int(row["id"]), str(ipaddress.IPv4Address(ip))))
    return slots[:count]


def run(
    data: PhpipamData,
    port: int,
    records_tsv: Path,
    *,
    changes: int,
    gap: tuple[float, float],
    poll_ms: float,
    change_timeout: float,
    seed: int = 7,
    tag: str = "p",
    max_seconds: float | None = None,
) -> PropagationResult:
    """Apply ``changes`` changes (fewer when ``max_seconds`` runs out first: no change
    is started after it; those in flight are still followed to the end)."""
    rng = random.Random(seed)
    per_kind = -(-changes // 3)
    victims = pick_victims(data, records_tsv, 2 * per_kind, seed)
    slots = free_insert_slots(data, per_kind)
    if len(victims) < 2 * per_kind or len(slots) < per_kind:
        raise RuntimeError("dataset too small for the propagation phase")
    edits, deletes = victims[:per_kind], victims[per_kind:]
    poller = Poller(port)
    # put the current answers into pdns's caches, so the purge is what is measured
    for v in victims:
        poller.ask(v.name, "A")
        poller.ask(_rev(v.ip), "PTR")

    plan: list[tuple[str, int]] = []
    for k in range(per_kind):
        plan += [("insert", k), ("edit", k), ("delete", k)]
    plan = plan[:changes]
    result = PropagationResult(changes=len(plan))
    pending: list[Change] = []
    done: list[Change] = []
    t_start = time.monotonic()
    next_at = t_start
    interval = poll_ms / 1000
    applied = 0
    try:
        while plan or pending:
            now = time.monotonic()
            if plan and max_seconds is not None and now - t_start > max_seconds:
                plan.clear()  # out of time: no new change
            if plan and now >= next_at:
                applied += 1
                kind, k = plan.pop(0)
                change = _apply(data, kind, k, edits, deletes, slots, tag)
                change.committed = time.monotonic()
                pending.append(change)
                next_at = change.committed + rng.uniform(*gap)
            loop_start = time.monotonic()
            for change in list(pending):
                answer = poller.ask(change.qname, change.rdtype)
                result.polls += 1
                now = time.monotonic()
                if visible(change, answer):
                    change.seen = now
                elif now - change.committed > change_timeout:
                    result.timeouts += 1
                else:
                    continue
                pending.remove(change)
                done.append(change)
            spent = time.monotonic() - loop_start
            time.sleep(max(0.0, interval - spent))
    finally:
        poller.close()
    result.seconds = time.monotonic() - t_start
    result.changes = applied
    for change in done:
        if change.seen is None:
            continue
        latency = change.seen - change.committed
        result.latencies.append(latency)
        result.by_kind.setdefault(change.kind, []).append(latency)
    return result


def _apply(
    data: PhpipamData,
    kind: str,
    k: int,
    edits: list[Victim],
    deletes: list[Victim],
    slots: list[tuple[int, str]],
    tag: str,
) -> Change:
    if kind == "insert":
        subnet_id, ip = slots[k]
        name = f"bench-{tag}-new-{k:04d}.lab.example.com"
        data.add_address(ip, subnet_id, hostname=name, state=2)
        return Change(kind, name, "A", ip)
    if kind == "edit":
        v = edits[k]
        name = f"bench-{tag}-edit-{k:04d}.dc2.example.com"
        data.update_address(v.row_id, hostname=name)
        return Change(kind, _rev(v.ip), "PTR", name + ".")
    v = deletes[k]
    data.delete_address(v.row_id)
    return Change(kind, v.name, "A", None)
