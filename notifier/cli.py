"""The notifier's verbs, found by `pphook` as entry points (group ``pphook.verbs``,
declared in pyproject.toml): the backend never imports the notifier.

Each returns an exit code (0 ok, 1 error or tampering). Errors are logged to
"pphook.notifier"; stdout carries only `report --dry-run` mails and `audit` output.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import datetime
from types import FrameType

from notifier import audit
from notifier.errors import AuditQueryError
from notifier.runner import open_notifier
from notifier.settings import SECTION
from notifier.store import open_store
from remote_backend.config import Config
from remote_backend.errors import PphookError

log = logging.getLogger("pphook.notifier")

EXIT_OK = 0
EXIT_ERROR = 1


def run_report(config: Config, dry_run: bool) -> int:
    """`pphook report [--dry-run]`: one pass."""
    try:
        notifier = open_notifier(config, dry_run=dry_run)
    except PphookError as exc:
        log.error("%s", exc)
        return EXIT_ERROR
    try:
        result = notifier.run_pass(dry_run=dry_run, out=sys.stdout)
    except PphookError as exc:
        log.error("%s", exc)
        return EXIT_ERROR
    finally:
        notifier.close()
    verb = "printed (dry run, nothing recorded)" if dry_run else "sent"
    log.info(
        "report: %d open problems (%d new, %d resolved); %d mails %s; %d items wait",
        result.problems,
        result.new,
        result.resolved,
        result.mailed,
        verb,
        result.waiting,
    )
    return EXIT_OK


def run_daemon(config: Config) -> int:
    """`pphook notifier`: a pass every notifier.interval seconds until SIGTERM/SIGINT."""
    try:
        notifier = open_notifier(config)
    except PphookError as exc:
        log.error("%s", exc)
        return EXIT_ERROR
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current pass", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    try:
        notifier.run_forever(stop)
    finally:
        notifier.close()
    return EXIT_OK


def run_audit(config: Config, action: str, kind: str | None, since: str | None) -> int:
    """`pphook audit verify` / `pphook audit list [--kind K] [--since WHEN]`."""
    try:
        # never creates anything: a store that does not exist yet has an empty log
        store = open_store(config.state.url, dry_run=True)
    except PphookError as exc:
        log.error("%s", exc)
        return EXIT_ERROR
    try:
        if action == "verify":
            return _verify(store.verify_audit())
        if action == "list":
            since_ts = _since(since)
            if kind is not None and kind not in audit.KINDS:
                raise AuditQueryError(
                    f"unknown audit kind {kind!r}; kinds are: {', '.join(audit.KINDS)}"
                )
            for entry in store.audit_entries(kind, since_ts):
                sys.stdout.write(f"{entry.seq}\t{entry.at}\t{entry.kind}\t{entry.data}\n")
            sys.stdout.flush()
            return EXIT_OK
        raise AuditQueryError(f"unknown audit action {action!r}: use verify or list")
    except PphookError as exc:
        log.error("%s", exc)
        return EXIT_ERROR
    finally:
        store.close()


def _verify(verdict: audit.Verdict) -> int:
    if verdict.ok:
        sys.stdout.write(
            f"audit log ok: {verdict.entries} entries, head #{verdict.head_seq} "
            f"sha256 {verdict.head_hash}\n"
        )
        return EXIT_OK
    sys.stdout.write(
        f"audit log TAMPERED: first bad entry #{verdict.first_bad}: {verdict.problem} "
        f"({verdict.entries} entries before it verify)\n"
    )
    log.error("audit chain broken at entry #%s: %s", verdict.first_bad, verdict.problem)
    return EXIT_ERROR


def _since(text: str | None) -> float | None:
    """ISO date or date-time; without a zone it is local time."""
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise AuditQueryError(
            f"--since {text!r} is not an ISO date or date-time (e.g. 2025-03-01 or "
            "2025-03-01T14:00:00+01:00)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.astimezone()  # naive: the operator's local time
    return parsed.timestamp()


# -- the verbs as `pphook` finds them (remote_backend.plugins.VerbPlugin) --------------


@dataclass(frozen=True)
class _Report:
    name: str = "report"
    help: str = "one notifier pass: mail new problems"
    sections: tuple[str, ...] = (SECTION,)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="print the mail instead of sending"
        )

    def run(self, config: Config, args: argparse.Namespace) -> int:
        return run_report(config, args.dry_run)


@dataclass(frozen=True)
class _Daemon:
    name: str = "notifier"
    help: str = "the notifier as a daemon"
    sections: tuple[str, ...] = (SECTION,)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        return None

    def run(self, config: Config, args: argparse.Namespace) -> int:
        return run_daemon(config)


@dataclass(frozen=True)
class _Audit:
    name: str = "audit"
    help: str = "the notifier's hash-chained audit log"
    sections: tuple[str, ...] = ()

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        audit_verbs = parser.add_subparsers(dest="audit_verb", required=True, metavar="ACTION")
        audit_verbs.add_parser(
            "verify", help="recompute the hash chain; non-zero exit on tampering"
        )
        listing = audit_verbs.add_parser("list", help="list audit entries")
        listing.add_argument("--kind", help="only entries of this kind")
        listing.add_argument("--since", help="only entries at or after this ISO date/time")

    def run(self, config: Config, args: argparse.Namespace) -> int:
        return run_audit(
            config, args.audit_verb, getattr(args, "kind", None), getattr(args, "since", None)
        )


REPORT = _Report()
NOTIFIER = _Daemon()
AUDIT = _Audit()
