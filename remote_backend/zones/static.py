"""Static records: what operators keep beside IPAM hosts, in BIND master-file syntax.

``zones.static_dir/<zone>.zone`` adds any record type dnspython parses (MX, TXT, SRV,
CAA, CNAME, NS below the apex, A, AAAA, PTR, SSHFP, TLSA, DS...) to a served zone. The
origin is the zone, relative names are allowed, ``$TTL`` is honoured and the default
TTL is ``zones.ttl``. The rules, each refused with the file, the line and what to do:

- pphook owns the SOA: an SOA in a file is an error (the SOA is built from [zones]);
- every name must be the zone or below it;
- a name with a CNAME holds nothing else, and the apex never holds a CNAME (RFC 1034
  3.6.2); the records of one RRset share one TTL (RFC 2181 5.2);
- NS records at the apex are added to the zone's NS set (``zones.nameservers``); NS
  records below the apex make a zone cut (a delegation): at the cut only NS and DS,
  below it only A/AAAA glue, and no cut below another.

A zone whose name holds '/' (an RFC 2317 child zone such as ``64/26.2.0.192.in-addr.arpa``)
is read from a file whose name has '-' instead ('64-26.2.0.192.in-addr.arpa.zone').
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.tokenizer
import dns.zonefile

from remote_backend.errors import PphookError

log = logging.getLogger("pphook.static")

SUFFIX = ".zone"
MAX_FILE_BYTES = 16 << 20  # a static file is hand-written: anything bigger is a mistake
_GLUE = frozenset({"A", "AAAA"})
_AT_CUT = frozenset({"NS", "DS"})
_CNAME_NEUTRAL = frozenset({"RRSIG", "NSEC", "NSEC3", "KEY"})
# a static file, and what tells a changed one: (mtime, ctime, size, inode)
FileState = tuple[Path, tuple[int, int, int, int]]
_LOCATION = re.compile(r"^(?P<file>.*):(?P<line>\d+): (?P<what>.*)$", re.S)
# how dnspython wraps an error of rdata parsing: "caught exception <class 'X'>: what"
_CAUGHT = re.compile(r"^caught exception <class '[\w.]+'>: ")


class StaticFileError(PphookError):
    """A static zone file that cannot be served (the message names file and line)."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {message}")


class StaticFilesError(PphookError):
    """Static zone files that cannot be served (every problem, one per line)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        if len(problems) == 1:
            super().__init__(f"static zone file (zones.static_dir): {problems[0]}")
        else:
            lines = "".join(f"\n  - {p}" for p in problems)
            super().__init__(
                f"static zone files (zones.static_dir): {len(problems)} problems:{lines}"
            )


@dataclass(frozen=True, slots=True)
class StaticRecord:
    owner: str  # lowercase, no trailing dot
    rtype: str
    ttl: int
    content: str  # presentation format as pdns prints it (names without trailing dot)
    # the line the record starts on (`explain` shows it); not part of what is served,
    # so a record that only moved within its file changes nothing
    line: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class StaticZone:
    """What one static file adds to its zone."""

    zone: str
    records: tuple[StaticRecord, ...]  # sorted; apex NS excluded (see apex_ns)
    apex_ns: tuple[str, ...] = ()  # name servers named at the apex
    cuts: tuple[str, ...] = ()  # names with NS below the apex: delegations
    path: str = ""

    @property
    def owners(self) -> frozenset[str]:
        return frozenset(r.owner for r in self.records)

    @property
    def cname_owners(self) -> frozenset[str]:
        return frozenset(r.owner for r in self.records if r.rtype == "CNAME")


@dataclass(frozen=True, slots=True)
class StaticData:
    """Every static zone, plus the problems of files that could not be (re)read."""

    zones: Mapping[str, StaticZone] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)  # zone or file -> problem

    def get(self, zone: str) -> StaticZone | None:
        return self.zones.get(zone)


def file_name(zone: str) -> str:
    """The file that holds ``zone``'s static records."""
    return zone.replace("/", "-") + SUFFIX


def load_static_zone(path: Path, zone: str, default_ttl: int) -> StaticZone:
    """Parse and check one file (raises StaticFileError)."""
    text = _read(path)
    origin = dns.name.from_text(zone)
    collector = _Collector(origin)
    tokenizer = dns.tokenizer.Tokenizer(text, str(path))
    reader = _LineReader(
        tokenizer,
        dns.rdataclass.IN,
        collector,  # type: ignore[arg-type]  # what Reader writes into, duck-typed
        allow_include=False,
        allow_directives={"$ORIGIN", "$TTL", "$GENERATE"},
        default_ttl=default_ttl,
    )
    try:
        reader.read()
    except dns.exception.SyntaxError as exc:
        if not reader.in_record:
            raise _located(str(path), exc, None) from None
        owner = reader.last_name
        raise _located(
            str(path), exc, collector.line, None if owner is None else owner_text(owner)
        ) from None
    except dns.exception.DNSException as exc:
        raise StaticFileError(str(path), collector.line or None, str(exc)) from None
    return _checked(str(path), zone, origin, collector.records)


def _read(path: Path) -> str:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise StaticFileError(str(path), None, "not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise StaticFileError(
                str(path), None, f"{st.st_size} bytes: larger than {MAX_FILE_BYTES}"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise StaticFileError(str(path), None, f"cannot read it: {exc.strerror}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise StaticFileError(str(path), line, "not UTF-8 text") from None


def _located(
    path: str, exc: Exception, line: int | None, owner: str | None = None
) -> StaticFileError:
    """dnspython's message, with the line the record began on and the name it was for
    (``file:line: what`` of dnspython points past the record, at the next token)."""
    text = str(exc)
    match = _LOCATION.match(text)
    if match is not None:
        text = match.group("what")
        line = line or int(match.group("line"))
    text = _CAUGHT.sub("", text) or "syntax error"
    if owner is not None and owner not in text:
        text = f"{owner}: {text}"
    return StaticFileError(path, line, text)


class _Collector:
    """What ``dns.zonefile.Reader`` writes into: each record and the line it began on.

    A zone object would apply dnspython's own CNAME rules (silently dropping data) and
    forget lines; the checks here want every record as written.
    """

    def __init__(self, origin: dns.name.Name) -> None:
        self.manager = self
        self._origin = origin
        self.line = 0
        self.records: list[tuple[dns.name.Name, int, dns.rdata.Rdata, int]] = []

    def origin_information(self) -> tuple[dns.name.Name, bool, dns.name.Name]:
        return self._origin, False, self._origin

    def check_put_rdataset(self, check: Any) -> None:
        return None

    def _set_origin(self, origin: dns.name.Name) -> None:
        return None

    def add(self, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata) -> None:
        self.records.append((name, ttl, rdata, self.line))


class _LineReader(dns.zonefile.Reader):
    """Notes the line each record starts on (errors then point at it, not past it)."""

    in_record = False

    def _rr_line(self) -> None:
        self.txn.line = self.tok.line_number  # type: ignore[attr-defined]
        self.in_record = True
        super()._rr_line()
        self.in_record = False

    def _generate_line(self) -> None:
        self.txn.line = self.tok.line_number  # type: ignore[attr-defined]
        self.in_record = True
        super()._generate_line()  # type: ignore[no-untyped-call]
        self.in_record = False

    def _eat_line(self) -> None:
        # dnspython skips a record whose name is outside the zone without a word
        # (its only use of this method); here that is the operator's mistake to hear of
        name = "a name" if self.last_name is None else owner_text(self.last_name)
        zone = "" if self.zone_origin is None else owner_text(self.zone_origin)
        message = f"{name} is not in zone {zone}: every name of the file must be at or below it"
        raise dns.exception.SyntaxError(message)  # type: ignore[no-untyped-call]


def content_text(rdata: dns.rdata.Rdata) -> str:
    """Presentation format as pdns prints it: names relative to the root, that is
    without their trailing dot (the root itself stays '.')."""
    relative = rdata.to_text(origin=dns.name.root, relativize=True)
    if "@" in relative.split():  # the root name: '@' would mean nothing to pdns
        return rdata.to_text()
    return relative


def owner_text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


def _checked(
    path: str,
    zone: str,
    origin: dns.name.Name,
    raw: list[tuple[dns.name.Name, int, dns.rdata.Rdata, int]],
) -> StaticZone:
    by_set: dict[
        tuple[str, str], list[tuple[int, str, int]]
    ] = {}  # (owner, type) -> (ttl, content, line)
    for name, ttl, rdata, line in raw:
        if not name.is_subdomain(origin):
            raise StaticFileError(path, line, f"{name} is not in zone {zone}")
        rtype = dns.rdatatype.to_text(rdata.rdtype)
        if rtype == "SOA":
            raise StaticFileError(
                path, line, "an SOA record: pphook builds the SOA from [zones]; remove it"
            )
        if rdata.rdclass != dns.rdataclass.IN:
            raise StaticFileError(path, line, "only class IN is served")
        owner = owner_text(name)
        if not owner.isascii() or '"' in owner or "\t" in owner:
            raise StaticFileError(path, line, f"owner name {owner!r} cannot be served")
        entries = by_set.setdefault((owner, rtype), [])
        content = content_text(rdata)
        if any(c == content for _, c, _ in entries):
            continue  # the same record twice
        entries.append((ttl, content, line))
    types_at: dict[str, set[str]] = {}
    for owner, rtype in by_set:
        types_at.setdefault(owner, set()).add(rtype)
    for (owner, rtype), entries in by_set.items():
        ttls = {ttl for ttl, _, _ in entries}
        if len(ttls) > 1:
            raise StaticFileError(
                path,
                entries[-1][2],
                f"the {rtype} records of {owner} have different TTLs "
                f"({', '.join(map(str, sorted(ttls)))}): one RRset has one TTL (RFC 2181)",
            )
        if rtype == "CNAME":
            line = entries[0][2]
            if owner == zone:
                raise StaticFileError(path, line, f"a CNAME at the zone apex {zone} (RFC 1034)")
            if len(entries) > 1:
                raise StaticFileError(path, entries[1][2], f"{owner} has several CNAMEs")
            others = types_at[owner] - {"CNAME"} - _CNAME_NEUTRAL
            if others:
                raise StaticFileError(
                    path,
                    line,
                    f"{owner} has a CNAME and other data ({', '.join(sorted(others))}): "
                    "a name holds a CNAME or other data, never both (RFC 1034 3.6.2)",
                )
    cuts = sorted(o for (o, t) in by_set if t == "NS" and o != zone)
    for (owner, rtype), entries in sorted(by_set.items()):
        line = entries[0][2]
        above = [c for c in cuts if owner != c and owner.endswith("." + c)]
        nested = [c for c in cuts if c != owner and owner in cuts and owner.endswith("." + c)]
        if nested:
            raise StaticFileError(path, line, f"delegation {owner} is below delegation {nested[0]}")
        if above and rtype not in _GLUE:
            raise StaticFileError(
                path,
                line,
                f"{owner} {rtype} is below the delegation {above[0]}: only A/AAAA glue "
                "may sit below a zone cut",
            )
        if owner in cuts and rtype not in _AT_CUT and rtype not in _GLUE:
            raise StaticFileError(
                path, line, f"{owner} is a delegation: it holds only NS and DS, not {rtype}"
            )
    records: list[StaticRecord] = []
    apex_ns: list[str] = []
    for (owner, rtype), entries in sorted(by_set.items()):
        for ttl, content, line in entries:
            if owner == zone and rtype == "NS":
                apex_ns.append(content.rstrip(".").lower())
                continue
            records.append(StaticRecord(owner, rtype, ttl, content, line))
    return StaticZone(zone, tuple(records), tuple(apex_ns), tuple(cuts), path)


def scan(
    directory: str | None, zones: Iterable[str], catalog: str | None = None
) -> tuple[dict[str, FileState], dict[str, str]]:
    """Static files present, by zone, with what tells a changed file (mtime, ctime,
    size, inode), and the problems found (file -> message): a file of a zone that is
    not served, or of the catalog zone (``catalog``, whose content pphook makes from
    the config), is one, and skipped; the others are still read. Raises
    StaticFileError when the directory cannot be listed."""
    if directory is None:
        return {}, {}
    by_file = {file_name(z): z for z in zones}
    found: dict[str, FileState] = {}
    problems: dict[str, str] = {}
    try:
        entries = list(os.scandir(directory))
    except OSError as exc:
        raise StaticFileError(directory, None, f"cannot list it: {exc.strerror}") from None
    for entry in sorted(entries, key=lambda e: e.name):
        if not entry.name.endswith(SUFFIX) or entry.name.startswith("."):
            continue
        zone = by_file.get(entry.name)
        if catalog is not None and entry.name == file_name(catalog):
            problems[entry.path] = str(
                StaticFileError(
                    entry.path,
                    None,
                    f"{catalog!r} is the catalog zone (zones.catalog): pphook makes its "
                    "records from the list of served zones; remove the file",
                )
            )
            continue
        if zone is None:
            problems[entry.path] = str(
                StaticFileError(
                    entry.path,
                    None,
                    f"no served zone is called {entry.name[: -len(SUFFIX)]!r}: add it to "
                    "zones.forward or zones.reverse, or remove the file",
                )
            )
            continue
        try:
            st = entry.stat()
        except OSError as exc:
            problems[entry.path] = str(
                StaticFileError(entry.path, None, f"cannot read it: {exc.strerror}")
            )
            continue
        state = (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)
        found[zone] = (Path(entry.path), state)
    return found, problems


class StaticSource:
    """The static zones of ``zones.static_dir``, re-read when a file changes.

    A file that does not parse keeps its zone at the last good content (and says why
    in ``errors``, logged once per version of the file); a zone whose file disappears
    loses its static records; a file of a zone that is not served is an error and
    changes nothing else.
    """

    def __init__(
        self,
        directory: str | None,
        zones: Iterable[str],
        default_ttl: int,
        catalog: str | None = None,
    ) -> None:
        self.directory = directory
        self.zones = tuple(zones)
        self.catalog = catalog
        self.default_ttl = default_ttl
        self._seen: dict[str, FileState] = {}
        self.data = StaticData()

    def refresh(self, log_problems: bool = True) -> bool:
        """Re-read what changed; True when the static content changed. Problems are
        logged once each (``log_problems=False``: the caller reports ``data.errors``
        itself, as the one-shot verbs do)."""
        if self.directory is None:
            return False
        old_errors = self.data.errors
        try:
            found, errors = scan(self.directory, self.zones, self.catalog)
        except StaticFileError as exc:
            errors = {exc.path: str(exc)}
            found = dict(self._seen)  # keep what we had
        for where, message in errors.items():
            if log_problems and old_errors.get(where) != message:
                log.error("%s", message)
        zones = dict(self.data.zones)
        changed = False
        for zone in set(self._seen) | set(found):
            now = found.get(zone)
            if now is None:
                changed |= zones.pop(zone, None) is not None
                continue
            if self._seen.get(zone) == now:
                if zone in old_errors:  # the same file, the same problem
                    errors[zone] = old_errors[zone]
                continue
            try:
                parsed = load_static_zone(now[0], zone, self.default_ttl)
            except StaticFileError as exc:
                errors[zone] = str(exc)
                if log_problems:
                    kept = f" (serving the last good content of {zone})" if zone in zones else ""
                    log.error("%s%s", exc, kept)
                continue
            if zones.get(zone) != parsed:
                zones[zone] = parsed
                changed = True
        self._seen = found
        self.data = StaticData(zones, errors)
        return changed
