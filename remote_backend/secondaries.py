"""Secondaries are watched (SPEC §4): the SOA serial each secondary serves, per zone,
against pphook's.

``zones.secondaries`` holds addresses, never names, so watching does not depend on the
DNS being watched. One round sends every SOA query at once (one UDP socket per
secondary) and waits at most ``timeout`` seconds in all, however many zones there are
and however many secondaries are down.

Users: `pphook check` (``secondary_lines``), the metrics of `pphook serve`
(``SecondaryWatcher``) and the notifier (``query_soa``, ``lag_report``,
``behind_since``), which mails secondaries that stay behind.
"""

from __future__ import annotations

import ipaddress
import logging
import random
import selectors
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Self

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
from dns.serial import Serial

from remote_backend.errors import SecondaryAddressError

if TYPE_CHECKING:
    from remote_backend.config import Config
    from remote_backend.snapshot import Snapshot

log = logging.getLogger("pphook.secondaries")

DEFAULT_PORT = 53
QUERY_TIMEOUT = 2.0  # seconds for a whole round
WATCH_INTERVAL = 30.0  # seconds between rounds of the metrics watcher

IN_SYNC = "in sync"
BEHIND = "behind"
AHEAD = "ahead"
NO_ANSWER = "no answer"


# -- addresses -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Secondary:
    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int = DEFAULT_PORT

    @property
    def label(self) -> str:
        """How the secondary is named everywhere (check, metrics, mails, state store):
        the address, with the port only when it is not 53."""
        if self.port == DEFAULT_PORT:
            return str(self.address)
        if self.address.version == 6:
            return f"[{self.address}]:{self.port}"
        return f"{self.address}:{self.port}"


def parse_secondary(text: str) -> Secondary:
    """``"192.0.2.1"``, ``"192.0.2.1:5353"``, ``"2001:db8::1"`` or ``"[2001:db8::1]:5353"``."""
    value = text.strip()
    host, port_text = value, ""
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise SecondaryAddressError(
                f"{text!r}: write an IPv6 address with a port as [2001:db8::1]:5353"
            )
        port_text = rest[1:]
        if rest and not port_text:
            raise SecondaryAddressError(f"{text!r}: the port after ':' is missing")
    elif value.count(":") == 1:  # IPv4:port (a bare IPv6 address has several colons)
        host, _, port_text = value.partition(":")
        if not port_text:
            raise SecondaryAddressError(f"{text!r}: the port after ':' is missing")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise SecondaryAddressError(
            f'{text!r} is not an IP address: give the secondary as "IP" or "IP:port" '
            "(not a host name: watching must not depend on DNS)"
        ) from None
    if value.startswith("[") and address.version != 6:
        raise SecondaryAddressError(f"{text!r}: brackets are for IPv6 addresses only")
    port = DEFAULT_PORT
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise SecondaryAddressError(f"{text!r}: the port must be a number from 1 to 65535")
        port = int(port_text)
    return Secondary(address, port)


def _as_secondary(value: str | Secondary) -> Secondary:
    return value if isinstance(value, Secondary) else parse_secondary(value)


# -- SOA queries -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SoaAnswer:
    """What a secondary said about one zone: a serial, or why there is none."""

    serial: int | None
    error: str | None = None  # timeout, REFUSED, SERVFAIL, not authoritative, ...


_TIMED_OUT = SoaAnswer(None, "timeout")


def query_soa(
    secondaries: Iterable[str | Secondary], zones: Sequence[str], timeout: float = QUERY_TIMEOUT
) -> dict[str, dict[str, SoaAnswer]]:
    """Ask every secondary for the SOA of every zone (UDP, no recursion), all at once.

    Only an authoritative NOERROR answer holding the zone's SOA counts; anything else
    (timeout, port unreachable, REFUSED for a zone it does not serve, SERVFAIL for an
    expired zone, a non-authoritative answer) is a None serial with the reason.
    """
    exchanges = [_Exchange(_as_secondary(s), zones) for s in secondaries]
    try:
        _run(exchanges, timeout)
    finally:
        for ex in exchanges:
            ex.close()
    result: dict[str, dict[str, SoaAnswer]] = {}
    for ex in exchanges:
        result[ex.target.label] = {z: ex.answers.get(z, _TIMED_OUT) for z in zones}
    return result


def query_serials(
    secondaries: Iterable[str | Secondary], zones: Sequence[str], timeout: float = QUERY_TIMEOUT
) -> dict[str, dict[str, int | None]]:
    """``query_soa`` without the reasons: secondary label -> zone -> serial or None."""
    answers = query_soa(secondaries, zones, timeout)
    return {
        label: {z: a.serial for z, a in per_zone.items()} for label, per_zone in answers.items()
    }


class _Exchange:
    """The queries of one round to one secondary, over one connected UDP socket
    (connected: only its replies arrive, and ICMP port unreachable is reported)."""

    def __init__(self, target: Secondary, zones: Sequence[str]) -> None:
        self.target = target
        self.answers: dict[str, SoaAnswer] = {}
        self.queries: dict[int, tuple[str, dns.message.Message]] = {}
        first = random.randrange(65536)  # sequential ids from a random start: unique per socket
        for i, zone in enumerate(zones[:65536]):
            query = dns.message.make_query(zone, dns.rdatatype.SOA)
            query.flags &= ~dns.flags.RD  # we want the secondary's own data, not a resolver's
            query.id = (first + i) & 0xFFFF
            self.queries[query.id] = (zone, query)
        self.sock: socket.socket | None = None
        family = socket.AF_INET6 if target.address.version == 6 else socket.AF_INET
        try:
            self.sock = socket.socket(family, socket.SOCK_DGRAM)
            self.sock.setblocking(False)
            self.sock.connect((str(target.address), target.port))
        except OSError as exc:
            self.fail(exc)

    @property
    def pending(self) -> list[tuple[str, dns.message.Message]]:
        return [(z, q) for z, q in self.queries.values() if z not in self.answers]

    def send_pending(self) -> None:
        if self.sock is None:
            return
        for _zone, query in self.pending:
            try:
                self.sock.send(query.to_wire())
            except BlockingIOError:
                return  # send buffer full: the retry sends the rest
            except OSError as exc:
                self.fail(exc)
                return

    def receive(self) -> None:
        while self.sock is not None:
            try:
                wire = self.sock.recv(65535)
            except BlockingIOError:
                return
            except OSError as exc:
                self.fail(exc)
                return
            self._handle(wire)

    def _handle(self, wire: bytes) -> None:
        try:
            response = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return  # garbage: the query may still get a real answer
        entry = self.queries.get(response.id)
        if entry is None or entry[0] in self.answers or not entry[1].is_response(response):
            return
        self.answers[entry[0]] = _soa_answer(entry[0], response)

    def fail(self, exc: OSError) -> None:
        """The secondary cannot be reached at all: every unanswered zone gets the reason."""
        if isinstance(exc, ConnectionRefusedError):
            reason = "port unreachable"
        else:
            reason = exc.strerror or type(exc).__name__
        for zone, _query in self.pending:
            self.answers[zone] = SoaAnswer(None, reason)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def _soa_answer(zone: str, response: dns.message.Message) -> SoaAnswer:
    rcode = response.rcode()
    if rcode != dns.rcode.NOERROR:
        # REFUSED: the secondary does not serve the zone; SERVFAIL: expired or not loaded
        return SoaAnswer(None, dns.rcode.to_text(rcode))
    if not response.flags & dns.flags.AA:
        return SoaAnswer(None, "not authoritative")
    name = dns.name.from_text(zone)
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == name:
            return SoaAnswer(int(rrset[0].serial))
    return SoaAnswer(None, "no SOA in the answer")


def _run(exchanges: Sequence[_Exchange], timeout: float) -> None:
    with selectors.DefaultSelector() as selector:
        for ex in exchanges:
            ex.send_pending()
            if ex.sock is not None and ex.pending:
                selector.register(ex.sock, selectors.EVENT_READ, ex)
        start = time.monotonic()
        retry_at, deadline = start + timeout / 2, start + timeout
        retried = False
        while selector.get_map():
            now = time.monotonic()
            if now >= deadline:
                return
            if not retried and now >= retry_at:
                # UDP may lose a query or its reply: send what is unanswered once more
                for ex in exchanges:
                    ex.send_pending()
                retried = True
            for key, _events in selector.select((deadline if retried else retry_at) - now):
                ex = key.data
                ex.receive()
                if not ex.pending:
                    selector.unregister(key.fileobj)


# -- comparing -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SecondaryZoneState:
    """One secondary's serial of one zone against the serial pphook serves."""

    secondary: str
    zone: str
    theirs: int | None  # None: no answer
    ours: int
    behind: bool  # older than ours (RFC 1982), or no answer

    @property
    def status(self) -> str:
        if self.theirs is None:
            return NO_ANSWER
        if self.theirs == self.ours:
            return IN_SYNC
        return BEHIND if self.behind else AHEAD


def is_older(theirs: int, ours: int) -> bool:
    """RFC 1982: is serial ``theirs`` before ``ours``? (4294967295 is before 5.)

    At a distance of exactly 2^31 the order is undefined; a secondary then refuses to
    transfer (it only moves to a greater serial), so that counts as not older.
    """
    return bool(Serial(theirs) < Serial(ours))  # dnspython's operators are untyped


def lag_report(
    pphook_serials: Mapping[str, int], secondary_serials: Mapping[str, Mapping[str, int | None]]
) -> list[SecondaryZoneState]:
    """Each secondary against each zone pphook serves, in the given orders.

    A secondary "ahead" of pphook (a newer serial by RFC 1982) is not behind: with
    several nodes it happens while one node's phpIPAM replica lags. It is shown as such
    by `pphook check`; if it lasts, the state store was reset or the secondary
    transfers from another primary, and it will not take pphook's zone until pphook's
    serial passes its own.
    """
    states = []
    for secondary, serials in secondary_serials.items():
        for zone, ours in pphook_serials.items():
            theirs = serials.get(zone)
            behind = theirs is None or is_older(theirs, ours)
            states.append(SecondaryZoneState(secondary, zone, theirs, ours, behind))
    return states


class SerialTimeline:
    """When pphook started serving each serial of each zone.

    Staleness is measured from there: a secondary holding serial S has missed data
    since pphook first served a serial newer than S. Counting from the first time the
    secondary was *seen* behind would add up the few seconds each transfer takes under
    steady churn and report a secondary that keeps up as behind for good.
    """

    KEEP = 64  # serials per zone (a lagging secondary further back is behind anyway)

    def __init__(self, entries: Iterable[tuple[str, int, float]] = ()) -> None:
        self._seen: dict[str, dict[int, float]] = {}
        for zone, serial, at in entries:
            self.record(zone, serial, at)

    def record(self, zone: str, serial: int, at: float) -> None:
        seen = self._seen.setdefault(zone, {})
        if serial in seen and seen[serial] <= at:
            return
        seen[serial] = at
        if len(seen) > self.KEEP:
            del seen[min(seen, key=seen.__getitem__)]

    def first_newer(self, zone: str, serial: int) -> float | None:
        """When pphook first served a serial of ``zone`` newer than ``serial``, if known."""
        times = [at for s, at in self._seen.get(zone, {}).items() if is_older(serial, s)]
        return min(times) if times else None


def behind_since(
    state: SecondaryZoneState, previous: float | None, timeline: SerialTimeline, now: float
) -> float | None:
    """Since when ``state`` has been behind (None: it is not).

    ``previous`` is what the last round said. A secondary that answers is behind since
    pphook first served a serial it lacks, when the timeline knows that time; an
    unanswering one since it was first seen so (or since it was behind before).
    """
    if not state.behind:
        return None
    if state.theirs is not None:
        published = timeline.first_newer(state.zone, state.theirs)
        if published is not None:
            return min(published, now)
    return previous if previous is not None else now


# -- pphook check ----------------------------------------------------------------------


def secondary_lines(
    config: Config, snapshot: Snapshot, timeout: float = QUERY_TIMEOUT
) -> list[str]:
    """`pphook check`'s table: each secondary's serial per zone against pphook's.

    Empty when ``zones.secondaries`` is. Never raises for an unreachable secondary:
    that is a line saying so.
    """
    if not config.zones.secondaries:
        return []
    ours = {z.name: z.serial for z in snapshot.zones}
    answers = query_soa(config.zones.secondaries, list(ours), timeout)
    serials = {label: {z: a.serial for z, a in zs.items()} for label, zs in answers.items()}
    lines = ["secondaries (SOA serial per zone: theirs vs pphook's):"]
    lines.append(f"  {'secondary':24} {'zone':40} {'theirs':>12} {'ours':>12}  status")
    for s in lag_report(ours, serials):
        theirs = "-" if s.theirs is None else str(s.theirs)
        status = s.status
        if s.theirs is None:
            status = f"{NO_ANSWER} ({answers[s.secondary][s.zone].error})"
        elif status == AHEAD:
            status = f"{AHEAD} (a newer serial: it will not transfer pphook's zone)"
        lines.append(f"  {s.secondary:24} {s.zone:40} {theirs:>12} {s.ours:>12}  {status}")
    return lines


# -- the metrics watcher ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WatchedZone:
    """The latest round's view of one secondary and zone."""

    secondary: str
    zone: str
    theirs: int | None
    ours: int
    status: str
    behind_since: float | None  # None: not behind
    checked_at: float

    def behind_seconds(self, now: float | None = None) -> float:
        if self.behind_since is None:
            return 0.0
        return max(0.0, (time.time() if now is None else now) - self.behind_since)


class SecondaryWatcher:
    """Asks the secondaries every ``interval`` seconds, in a daemon thread, and keeps
    the latest states (``states()``, for the metrics collector) and since when each
    (secondary, zone) has been behind.

    ``serials`` gives the zone serials pphook serves now (empty while there is no
    snapshot: the round is skipped).
    """

    def __init__(
        self,
        secondaries: Sequence[str],
        serials: Callable[[], Mapping[str, int]],
        *,
        interval: float = WATCH_INTERVAL,
        timeout: float = QUERY_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.secondaries = tuple(_as_secondary(s) for s in secondaries)
        self.serials = serials
        self.interval = interval
        self.timeout = min(timeout, interval)
        self.clock = clock
        self.timeline = SerialTimeline()
        self._states: dict[tuple[str, str], WatchedZone] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll(self) -> list[WatchedZone]:
        """One round; returns (and keeps) the new states."""
        ours = dict(self.serials())
        if not ours:
            return self.states()
        now = self.clock()
        for zone, serial in ours.items():
            self.timeline.record(zone, serial, now)
        theirs = query_serials(self.secondaries, list(ours), self.timeout)
        with self._lock:
            previous = self._states
        states: dict[tuple[str, str], WatchedZone] = {}
        for s in lag_report(ours, theirs):
            before = previous.get((s.secondary, s.zone))
            since = behind_since(s, before.behind_since if before else None, self.timeline, now)
            states[(s.secondary, s.zone)] = WatchedZone(
                s.secondary, s.zone, s.theirs, s.ours, s.status, since, now
            )
        with self._lock:
            self._states = states
        return list(states.values())

    def states(self) -> list[WatchedZone]:
        """The latest round (empty before the first one)."""
        with self._lock:
            return list(self._states.values())

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._loop, name="pphook-secondaries", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 1)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # never let a watcher problem touch serving
                log.exception(
                    "watching the secondaries failed (next round in %.0f s)", self.interval
                )
            self._stop.wait(self.interval)


def watch_secondaries(
    config: Config, snapshot: Callable[[], Snapshot | None], interval: float = WATCH_INTERVAL
) -> SecondaryWatcher | None:
    """A started watcher of ``zones.secondaries`` against the served snapshot, or None
    when no secondary is configured."""
    if not config.zones.secondaries:
        return None

    def serials() -> dict[str, int]:
        current = snapshot()
        return {z.name: z.serial for z in current.zones} if current is not None else {}

    return SecondaryWatcher(config.zones.secondaries, serials, interval=interval).start()
