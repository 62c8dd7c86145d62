"""The PowerDNS remote-backend JSON protocol, as pdns 4.7 speaks it.

One request line in, exactly one reply line out. :meth:`BackendHandler.handle_line`
never raises: whatever arrives (broken JSON, wrong types, unknown methods, huge
values), the reply is a JSON object with a ``result`` key, because a reply without it,
or no reply at all, desynchronises or resets pdns's connector. Bad input and failures
are answered ``false``; the one exception is an internal failure of ``getAllDomains``
(no snapshot at all), answered without ``result`` on purpose (see there).

Every request reads one snapshot (``snapshot_source()`` is called once per request),
so an answer is never assembled from two refreshes.

``lookup`` is the hot path (pdns makes ~3.5 of them per DNS query with caches off), so
its replies are built from pre-formatted JSON fragments cached per snapshot: the
reply for a name is ``qname_json.join(parts)``. Record contents come from the
validated snapshot (LDH names, canonical IPs) and need no escaping; the qname comes
from the wire and is always escaped.

Zone names passed to :class:`NotifiedSerials` use pphook's internal form: lowercase,
no trailing dot.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from bisect import bisect_left
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from remote_backend.errors import SnapshotUnavailableError
from remote_backend.protocol.answers import ValueCache, built_list_reply
from remote_backend.protocol.encode import lookup_reply
from remote_backend.protocol.view import AnswerView, ZoneInfo
from remote_backend.protocol.wire import EMPTY_ARRAY, EMPTY_OBJECT, FALSE, MAX_LINE, NO_RESULT, TRUE

log = logging.getLogger("pphook.protocol")

MAX_NAME = 1024  # characters; a DNS name is <= 253, or ~1000 with pdns's \DDD escapes
# bound on the `list` replies kept for the current snapshot: a zone's secondaries all
# transfer the same serial after a NOTIFY, so the second and later AXFRs reuse the
# first one's reply (~9 MB per 100k records; bigger zones are rebuilt every time).
# Only replies the process built are kept: one the view holds ready (`serve` stored
# it) is copied out of the map again for each transfer, in milliseconds, instead of
# living on in every coprocess that once ran an AXFR.
MAX_CACHED_LIST_BYTES = 16 << 20
SLOW_REQUEST = 0.1  # seconds: slower calls are logged with a request id
# upper bounds (seconds) of the latency histogram exported as metrics
LATENCY_BUCKETS = (0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)

# Methods pdns 4.7 may send that a read-only primary does not implement. They get
# false (pdns's "not implemented") and only a debug line, since pdns calls some of
# them routinely.
UNSUPPORTED = frozenset(
    {
        "setDomainMetadata",
        "getDomainKeys",
        "addDomainKey",
        "removeDomainKey",
        "activateDomainKey",
        "deactivateDomainKey",
        "publishDomainKey",
        "unpublishDomainKey",
        "getBeforeAndAfterNamesAbsolute",
        "getTSIGKey",
        "getTSIGKeys",
        "setTSIGKey",
        "deleteTSIGKey",
        "directBackendCmd",
        "searchRecords",
        "getUnfreshSlaveInfos",
        "setFresh",
        "setStale",
        "startTransaction",
        "commitTransaction",
        "abortTransaction",
        "feedRecord",
        "feedEnts",
        "feedEnts3",
        "replaceRRSet",
        "superMasterBackend",
        "createSlaveDomain",
        "calculateSOASerial",
        "isMaster",
    }
)

_MAX_SERIAL = (1 << 32) - 1
_MAX_ID = (1 << 31) - 1
_MAX_LOGGED_UNKNOWN = 100  # distinct unknown method names warned about (no log floods)

Params = Mapping[str, Any]

# A lookup exactly as pdns 4.7 serialises it (json11: keys sorted, ", " and ": "
# between items; compact separators accepted too), with a qname and qtype that need no
# JSON unescaping: then the line is valid JSON of that one shape, and these groups are
# its qname and qtype. Anything else (escapes, other keys, non-ASCII, broken JSON)
# goes through json.loads as before. Skipping the parse matters: pdns makes several
# lookups per DNS query and json.loads was the largest single cost of answering one.
_PLAIN = rb"[ !#-\[\]-~]"  # printable ASCII except '"' and '\'
_FAST_LOOKUP = re.compile(
    rb'\{"method": ?"lookup", ?"parameters": ?\{(?:"local": ?"' + _PLAIN + rb'*", ?)?'
    rb'"qname": ?"(' + _PLAIN + rb'{1,1024})", ?"qtype": ?"([A-Za-z0-9]{1,32})"'
    rb'(?:, ?"real-remote": ?"' + _PLAIN + rb'*")?(?:, ?"remote": ?"' + _PLAIN + rb'*")?'
    rb'(?:, ?"zone-id": ?-?[0-9]{1,20})?\}\}'
)


class NotifiedSerials(Protocol):
    """The notified serial per zone, kept outside pdns (implemented over the state store)."""

    def get_all(self) -> Mapping[str, int]:
        """Zone name (lowercase, no trailing dot) -> notified serial. In memory, fast."""
        ...

    def set(self, zone: str, serial: int) -> None:
        """Persist that ``zone`` was notified at ``serial``. May raise."""
        ...


class BadRequest(Exception):
    """A request that cannot be answered; the reply is false and the reason is logged.

    Internal to this module: it never leaves :meth:`BackendHandler.handle_line`.
    """


class BackendHandler:
    """Answers pdns remote-backend requests from the current snapshot.

    Thread-safe: the unix connector calls it from one thread per connection. The only
    shared mutable state is the lookup cache (replaced as a whole when the snapshot
    changes) and the counters (plain ints; a lost increment under contention is
    acceptable for metrics).

    Counters: ``requests`` (method name -> count; ``<invalid>`` for lines that are
    not a request, ``<unknown>`` for unknown methods) and ``errors`` (requests
    answered false because they were invalid or failed).
    """

    def __init__(
        self,
        snapshot_source: Callable[[], AnswerView],
        notified: NotifiedSerials,
        *,
        max_line: int = MAX_LINE,
        status_source: Callable[[], Mapping[str, object]] | None = None,
    ) -> None:
        self._snapshot_source = snapshot_source
        self._status_source = status_source
        # per method: [count, total seconds, bucket counts...] (cheap to update; the
        # metrics endpoint turns it into a Prometheus histogram at scrape time)
        self.latency: dict[str, list[float]] = {}
        self._request_ids = itertools.count(1)
        self._unavailable_logged = False
        self._notified = notified
        self._max_line = max_line
        self._values: ValueCache | None = None
        self._lists: tuple[AnswerView, dict[int, bytes]] | None = None
        self._unknown_logged: set[str] = set()
        self.requests: dict[str, int] = {}
        self.errors = 0
        self._methods: dict[str, Callable[[Params], bytes]] = {
            "initialize": self._initialize,
            "lookup": self._lookup,
            "list": self._list,
            "getAllDomains": self._get_all_domains,
            "getDomainInfo": self._get_domain_info,
            "getUpdatedMasters": self._get_updated_masters,
            "setNotified": self._set_notified,
            "getAllDomainMetadata": self._get_all_domain_metadata,
            "getDomainMetadata": self._get_domain_metadata,
            # not a pdns method: `pphook check` asks the running server for its state
            "pphookStatus": self._pphook_status,
        }
        # pdns sends camelCase; some handlers dispatch case-insensitively, so accept
        # that too, counted under the canonical name (counter keys stay bounded).
        self._canonical = {m.lower(): m for m in (*self._methods, *UNSUPPORTED)}

    # ------------------------------------------------------------------ dispatch

    def handle_line(self, line: bytes | str) -> bytes:
        """The reply (JSON + ``\\n``) to one request line. Never raises."""
        method = "<invalid>"
        try:
            if len(line) > self._max_line:
                raise BadRequest(f"request of {len(line)} bytes exceeds {self._max_line}")
            fast = _FAST_LOOKUP.fullmatch(line) if line.__class__ is bytes else None
            if fast is not None:  # a lookup as pdns writes it: no JSON parse needed
                method = "lookup"
                self._count(method)
                qname = fast[1]
                started = time.perf_counter()
                reply = self._answer(qname.decode(), fast[2].decode(), b'"' + qname + b'"')
                self._observe(method, time.perf_counter() - started, line)
                return reply
            try:
                request = json.loads(line)
            except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
                raise BadRequest(f"not JSON ({exc.__class__.__name__}: {exc})") from None
            if type(request) is not dict:
                raise BadRequest(f"not a JSON object but {type(request).__name__}")
            name = request.get("method")
            if type(name) is not str:
                raise BadRequest("no string 'method'")
            func = self._methods.get(name)
            if func is None:
                name = self._canonical.get(name.lower(), name)
                func = self._methods.get(name)
                if func is None:
                    method = self._note_unknown(name)
                    self._count(method)
                    return FALSE
            method = name
            self._count(name)
            params = request.get("parameters")
            if params is None:
                params = {}
            elif type(params) is not dict:
                raise BadRequest(f"'parameters' is {type(params).__name__}, not an object")
            started = time.perf_counter()
            reply = func(params)
            self._observe(method, time.perf_counter() - started, line)
            return reply
        except SnapshotUnavailableError as exc:
            # No data yet: SERVFAIL (retried) rather than a cached NXDOMAIN.
            self.errors += 1
            if not self._unavailable_logged:
                log.warning("%s: answered without result (pdns: SERVFAIL): %s", method, exc)
                self._unavailable_logged = True
            return NO_RESULT
        except BadRequest as exc:
            self.errors += 1
            if method == "<invalid>":
                self._count(method)
            log.warning("%s: answered false: %s; request: %s", method, exc, _excerpt(line))
            return FALSE
        except Exception:  # the last line of defence: pdns must get exactly one reply
            self.errors += 1
            log.exception(
                "request %d: %s: internal error, answered false; request: %s",
                next(self._request_ids),
                method,
                _excerpt(line),
            )
            return FALSE

    def _observe(self, method: str, seconds: float, line: bytes | str) -> None:
        stats = self.latency.get(method)
        if stats is None:
            stats = self.latency[method] = [0.0] * (2 + len(LATENCY_BUCKETS) + 1)
        stats[0] += 1
        stats[1] += seconds
        stats[2 + bisect_left(LATENCY_BUCKETS, seconds)] += 1
        if seconds >= SLOW_REQUEST:
            log.warning(
                "request %d: slow %s took %.3f s; request: %s",
                next(self._request_ids),
                method,
                seconds,
                _excerpt(line),
            )

    def _pphook_status(self, params: Params) -> bytes:
        if self._status_source is None:
            return FALSE
        return _reply(dict(self._status_source()))

    def _count(self, method: str) -> None:
        requests = self.requests
        requests[method] = requests.get(method, 0) + 1

    def _note_unknown(self, name: str) -> str:
        if name in UNSUPPORTED:
            log.debug("%s: not implemented by a read-only primary, answered false", name)
            return name
        if len(self._unknown_logged) < _MAX_LOGGED_UNKNOWN and name not in self._unknown_logged:
            self._unknown_logged.add(name)
            log.warning("unknown method %r answered false (logged once per method)", name[:100])
        return "<unknown>"

    # ------------------------------------------------------------------ methods

    def _initialize(self, params: Params) -> bytes:
        # Must be instant: a late reply leaves a pipe connector one reply behind for good.
        return TRUE

    def _lookup(self, params: Params) -> bytes:
        qtype = params.get("qtype")
        qname = params.get("qname")
        if type(qname) is not str or type(qtype) is not str:
            raise BadRequest("'qtype' and 'qname' must be strings")
        if len(qname) > MAX_NAME or len(qtype) > 32:
            raise BadRequest(f"qname of {len(qname)} or qtype of {len(qtype)} characters")
        if not qname.isascii():
            # pdns escapes every non-ASCII byte as \DDD; matching str.lower() of other
            # characters could map e.g. the Kelvin sign onto "k".
            return FALSE
        return self._answer(qname, qtype, json.dumps(qname).encode())

    def _answer(self, qname: str, qtype: str, qname_json: bytes) -> bytes:
        """The lookup reply; ``qname_json`` is the asked name as a JSON string (echoed as
        asked: case and trailing dot kept)."""
        name = qname.lower()
        if name[-1:] == ".":
            name = name[:-1]
        view = self._snapshot_source()
        values = self._values
        if values is None or values.view is not view:
            # One attribute swap: a thread still on the old view keeps its own cache.
            values = self._values = ValueCache(view)
        value = values.get(name)
        if value is None:
            return FALSE
        reply = lookup_reply(value, qtype if qtype.isupper() else qtype.upper(), qname_json)
        return FALSE if reply is None else reply

    def _list(self, params: Params) -> bytes:
        snap = self._snapshot_source()
        domain_id = _as_int(params.get("domain_id"))
        zonename = params.get("zonename")
        by_id = snap.zone_by_id.get(domain_id) if domain_id is not None and domain_id >= 1 else None
        by_name = snap.zone_by_name.get(_norm(zonename)) if type(zonename) is str else None
        if by_id is not None and by_name is not None and by_id is not by_name:
            # The two only disagree if zone ids were reassigned between pdns's SOA lookup
            # and this call; sending another zone's records would corrupt the secondary.
            raise BadRequest(f"domain_id {domain_id} is not zone {zonename!r}")
        zone = by_id or by_name
        if zone is None:
            log.info("list: zone %r (id %r) is not served, answered false", zonename, domain_id)
            return FALSE
        lists = self._lists
        if lists is None or lists[0] is not snap:
            lists = self._lists = (snap, {})  # one swap: replies of one snapshot only
        cached = lists[1]
        reply = cached.get(zone.id)
        if reply is None:
            reply = snap.stored_list(zone)
            if reply is not None:
                return reply
            reply = built_list_reply(snap, zone)
            if sum(map(len, cached.values())) + len(reply) <= MAX_CACHED_LIST_BYTES:
                cached[zone.id] = reply
        return reply

    def _get_all_domains(self, params: Params) -> bytes:
        # include_disabled is ignored: pphook has no disabled zones. Never false here:
        # false empties pdns's zone cache (REFUSED for every query until the next
        # refresh), while a reply without "result" makes pdns keep the old cache at
        # runtime, and exit (to be restarted) at start-up.
        try:
            snap = self._snapshot_source()
            notified = self._notified_or_empty()
            infos = [_domain_info(z, notified.get(z.name, 0)) for z in snap.zones]
        except Exception:
            self.errors += 1
            log.exception("getAllDomains: no zone list; answered without result")
            return NO_RESULT
        return _reply(infos)

    def _get_domain_info(self, params: Params) -> bytes:
        name = params.get("name")
        if type(name) is not str:
            raise BadRequest("'name' must be a string")
        zone = self._snapshot_source().zone_by_name.get(_norm(name))
        if zone is None:
            return FALSE
        return _reply(_domain_info(zone, self._notified_or_empty().get(zone.name, 0)))

    def _get_updated_masters(self, params: Params) -> bytes:
        # An exception or timeout here makes pdns _exit(1): answer false fast instead.
        try:
            notified = self._notified.get_all()
            infos = [
                _domain_info(z, notified.get(z.name, 0))
                for z in self._snapshot_source().zones
                if z.serial != notified.get(z.name, 0)
            ]
        except Exception:
            self.errors += 1
            log.exception("getUpdatedMasters: cannot read notified serials, answered false")
            return FALSE
        return _reply(infos)

    def _set_notified(self, params: Params) -> bytes:
        zone_id = _as_int(params.get("id"))
        serial = _as_int(params.get("serial"))
        if zone_id is None or serial is None or not 0 <= serial <= _MAX_SERIAL:
            raise BadRequest("'id' and 'serial' must be integers (serial 0..2^32-1)")
        zone = self._snapshot_source().zone_by_id.get(zone_id)
        if zone is None:
            raise BadRequest(f"no served zone has id {zone_id}")
        try:
            self._notified.set(zone.name, serial)
        except Exception:  # the store is down: pdns only logs false, it would die on an error
            self.errors += 1
            log.exception(
                "setNotified: cannot store serial %d of %s, answered false", serial, zone.name
            )
            return FALSE
        return TRUE

    def _get_all_domain_metadata(self, params: Params) -> bytes:
        return EMPTY_OBJECT

    def _get_domain_metadata(self, params: Params) -> bytes:
        return EMPTY_ARRAY

    # ------------------------------------------------------------------ helpers

    def _notified_or_empty(self) -> Mapping[str, int]:
        """Notified serials for informational replies; a store failure must not fail them."""
        try:
            return self._notified.get_all()
        except Exception:
            log.exception("cannot read notified serials; reporting 0")
            return {}


def _domain_info(zone: ZoneInfo, notified_serial: int) -> dict[str, Any]:
    # "kind" must be exactly lowercase "master"; anything else is Native to pdns.
    return {
        "id": zone.id,
        "zone": zone.name + ".",
        "kind": "master",
        "serial": zone.serial,
        "notified_serial": notified_serial,
        "last_check": 0,
    }


def _reply(result: object) -> bytes:
    return (json.dumps({"result": result}, separators=(",", ":")) + "\n").encode()


def _norm(name: str) -> str:
    """Internal form of a DNS name: lowercase, one trailing dot stripped."""
    name = name.lower()
    return name[:-1] if name.endswith(".") else name


def _as_int(value: object) -> int | None:
    """An id or serial as pdns sends it (json11 numbers are doubles; strings tolerated)."""
    if type(value) is int:
        result = value
    elif type(value) is float and value.is_integer():
        result = int(value)
    elif type(value) is str and 0 < len(value) <= 20 and value.isascii():
        digits = value[1:] if value[:1] == "-" else value
        if not digits.isdigit():
            return None
        result = int(value)
    else:
        return None
    return result if -1 <= result <= max(_MAX_SERIAL, _MAX_ID) else None


def _excerpt(line: bytes | str, limit: int = 200) -> str:
    """A log-safe excerpt of a request (repr escapes control characters)."""
    text = repr(line[:limit])
    return text + f"... ({len(line)} in all)" if len(line) > limit else text
