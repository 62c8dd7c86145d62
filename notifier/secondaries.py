"""SECONDARY_BEHIND: a DNS secondary that stays behind pphook longer than
``notifier.secondary_lag``.

Each pass asks every address in ``zones.secondaries`` for the SOA of every served zone
and compares with the serials pphook serves. Those are read from the state store that
`pphook serve` shares with the notifier (``zone_serials``, one small SELECT), not
rebuilt from phpIPAM: a rebuild would cost a second full read and could allocate
serials from the notifier, and the secondaries can only ever reach what pdns was
actually given. Since when each (secondary, zone) has been behind is kept in
``notifier_secondary_lag``, so the lag survives restarts and is shared by nodes.

Past the lag the pair becomes a problem whose identity is the secondary and the zone:
it goes through the usual diff, so it is mailed once and recorded as resolved when the
secondary serves pphook's serial again (not merely when it is less far behind).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING

from notifier.canonical import canonical_json, sha256_hex
from notifier.lag import LagRow
from notifier.problems import Problem, SecondaryFacts
from remote_backend.secondaries.lag import (
    NO_ANSWER,
    Pair,
    SecondaryZoneState,
    SerialTimeline,
    lag_report,
    track_behind,
)
from remote_backend.secondaries.soa import QUERY_TIMEOUT, SoaAnswer, query_soa
from validators.codes import Code

if TYPE_CHECKING:
    from notifier.diff import StoredProblem
    from notifier.store import NotifierStore
    from remote_backend.config import Config

log = logging.getLogger("pphook.notifier")

SoaQuery = Callable[[Sequence[str], Sequence[str], float], Mapping[str, Mapping[str, SoaAnswer]]]


def track(
    states: Iterable[SecondaryZoneState],
    errors: Mapping[Pair, str | None],
    previous: Mapping[Pair, LagRow],
    timeline: SerialTimeline,
    now: float,
) -> dict[Pair, LagRow]:
    """The pairs behind now, each with since when (carried over from ``previous``)."""
    states = list(states)
    since = track_behind(states, {p: row.since for p, row in previous.items()}, timeline, now)
    rows: dict[Pair, LagRow] = {}
    for s in states:
        pair = (s.secondary, s.zone)
        if pair in since:
            error = errors.get(pair) if s.theirs is None else None
            rows[pair] = LagRow(s.secondary, s.zone, since[pair], s.theirs, s.ours, error, now)
    return rows


def lag_problems(
    rows: Iterable[LagRow], open_pairs: AbstractSet[Pair], lag: float, now: float
) -> dict[str, Problem]:
    """A problem for each pair behind for at least ``lag`` seconds, and for each pair
    already reported that is still behind (it is resolved only by catching up)."""
    found: dict[str, Problem] = {}
    for row in rows:
        if now - row.since >= lag or row.pair in open_pairs:
            problem = secondary_problem(row)
            found[problem.key] = problem
    return found


def secondary_identity(secondary: str, zone: str) -> dict[str, str]:
    return {"code": Code.SECONDARY_BEHIND.value, "secondary": secondary, "zone": zone}


def secondary_problem(row: LagRow) -> Problem:
    identity = secondary_identity(row.secondary, row.zone)
    sec, zone = row.secondary, row.zone
    if row.theirs is None:
        status = NO_ANSWER
        reason = f"{sec} gives no serial for {zone} ({row.error}); pphook serves {row.ours}"
        dns = (
            f"resolvers that ask {sec} about {zone} get no answer or an error and must try "
            "another name server; check that it runs and still serves the zone"
        )
    else:
        status = "behind"
        reason = f"{sec} serves serial {row.theirs} of {zone}; pphook serves {row.ours}"
        dns = (
            f"resolvers that ask {sec} get {zone} as of serial {row.theirs}, without what "
            "pphook published since; check its transfers (named's log, "
            f"`rndc retransfer {zone}` on the secondary, pdns's also-notify and allow-axfr-ips)"
        )
    facts = SecondaryFacts(
        secondary=sec,
        zone=zone,
        theirs=row.theirs,
        ours=row.ours,
        status=status,
        error=row.error,
        since=row.since,
        checked_at=row.checked_at,
    )
    return Problem(
        key=sha256_hex(canonical_json(identity)),
        code=Code.SECONDARY_BEHIND,
        row_id=0,
        reason=reason,
        dns=dns,
        identity=identity,
        rows=(),
        secondary=facts,
    )


def secondary_problems(
    config: Config,
    store: NotifierStore,
    stored: Mapping[str, StoredProblem],
    now: float,
    *,
    lag: float,
    dry_run: bool,
    query: SoaQuery = query_soa,
    timeout: float = QUERY_TIMEOUT,
) -> dict[str, Problem]:
    """This pass's SECONDARY_BEHIND problems; records since when pairs are behind
    (not on a dry run)."""
    secondaries = config.zones.secondaries
    zones = config.zones.all_zone_names
    previous = store.load_lag()
    if not secondaries:
        if previous and not dry_run:
            store.save_lag({}, forget=previous)  # the watch was switched off
        return {}
    served, history = store.served_serials()
    ours = {z: served[z] for z in zones if z in served}
    if len(ours) < len(zones):
        log.warning(
            "no serial in the state store for %s: secondaries are not compared for it "
            "(does `pphook serve` use the same state.url?)",
            ", ".join(z for z in zones if z not in ours),
        )
    answers = query(secondaries, list(ours), timeout) if ours else {}
    serials = {label: {z: a.serial for z, a in per.items()} for label, per in answers.items()}
    errors = {(label, z): a.error for label, per in answers.items() for z, a in per.items()}
    states = lag_report(ours, serials)
    rows = track(states, errors, previous, SerialTimeline(history), now)
    compared = {(s.secondary, s.zone) for s in states}
    configured = {(s, z) for s in secondaries for z in zones}
    if not dry_run:
        forget = [p for p in previous if p not in rows and (p in compared or p not in configured)]
        store.save_lag(rows, forget=forget)
    open_pairs: set[Pair] = set()
    for s in stored.values():
        facts = s.problem.secondary
        if facts is not None and s.resolved_at is None:
            open_pairs.add((facts.secondary, facts.zone))
    current = lag_problems(rows.values(), open_pairs, lag, now)
    # A pair that could not be compared this pass (pphook's serial unknown) is neither
    # resolved nor detected: its open problem stays as it is.
    for s in stored.values():
        facts = s.problem.secondary
        if facts is None or s.resolved_at is not None:
            continue
        pair = (facts.secondary, facts.zone)
        if pair in configured and pair not in compared:
            current[s.key] = s.problem
    log.info(
        "secondaries: %d zones compared on %d secondaries, %d behind, %d past the lag",
        len(ours),
        len(secondaries),
        len(rows),
        len(current),
    )
    return current
