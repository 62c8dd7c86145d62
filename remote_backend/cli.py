"""The `pphook` command: `pphook [--config FILE] VERB`.

Each verb is a small function taking parsed arguments and returning an exit code, so
tests call ``main([...])`` directly (aiosmtpd-style testable entry point).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from remote_backend import __version__
from remote_backend.errors import PphookError, ZoneNotServedError
from remote_backend.logs import setup_logging
from remote_backend.wire import RELAY_LIST_TIMEOUT, RELAY_TIMEOUT

# Everything else is imported where a verb needs it: `pipe --relay` is forked by pdns
# for every AXFR and must start in milliseconds, without the database and validator
# stack (sqlalchemy alone costs ~0.25 s).
if TYPE_CHECKING:
    from remote_backend.config import Config
    from remote_backend.protocol import BackendHandler
    from remote_backend.service import LiveSnapshot
    from remote_backend.snapshot import Snapshot

log = logging.getLogger("pphook")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

PURGE_REPEATS = (0.1, 1.0)  # seconds after a swap when changed names are purged again

_ONE_SHOT = frozenset({"check", "explain", "export", "report", "audit"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pphook",
        description="PowerDNS remote backend answering straight from the phpIPAM database.",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="config file (default: $PPHOOK_CONFIG, then /etc/pphook/pphook.toml)",
    )
    parser.add_argument("--version", action="version", version=f"pphook {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress of one-shot verbs too"
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    verbs.add_parser("serve", help="unix-socket server for remote-connection-string=unix:...")
    p = verbs.add_parser("pipe", help="coprocess for remote-connection-string=pipe:command=...")
    p.add_argument(
        "--relay",
        action="store_true",
        help="forward to the `pphook serve` socket instead of loading phpIPAM itself "
        "(the recommended deployment: pipe:command=... pipe --relay,timeout=0)",
    )
    p.add_argument(
        "--socket",
        metavar="PATH",
        help="with --relay: the serve socket; then no config file is read (pdns runs the "
        "relay as its own user, which need not read pphook.toml)",
    )
    verbs.add_parser("check", help="check config and database, print zones and rejections")
    p = verbs.add_parser("explain", help="every phpIPAM row behind a name or IP, and why")
    p.add_argument("target", metavar="NAME-or-IP")
    p = verbs.add_parser("export", help="a served zone as a BIND master file (= AXFR)")
    p.add_argument("zone", metavar="ZONE")
    p = verbs.add_parser("report", help="one notifier pass: mail new problems")
    p.add_argument("--dry-run", action="store_true", help="print the mail instead of sending")
    verbs.add_parser("notifier", help="the notifier as a daemon")
    p = verbs.add_parser("audit", help="the notifier's hash-chained audit log")
    audit = p.add_subparsers(dest="audit_verb", required=True, metavar="ACTION")
    audit.add_parser("verify", help="recompute the hash chain; non-zero exit on tampering")
    a = audit.add_parser("list", help="list audit entries")
    a.add_argument("--kind", help="only entries of this kind")
    a.add_argument("--since", help="only entries at or after this ISO date/time")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.verb == "pipe" and args.relay and args.socket:
        setup_logging("INFO" if args.verbose else "WARNING")
        return _relay(args.socket, RELAY_TIMEOUT, RELAY_LIST_TIMEOUT)
    from remote_backend.config import load_config

    try:
        config = load_config(args.config, need_notifier=args.verb in ("report", "notifier"))
    except PphookError as exc:
        print(f"pphook: {exc}", file=sys.stderr)
        return EXIT_USAGE if args.verb != "check" else EXIT_ERROR
    level = config.log_level
    if args.verb in _ONE_SHOT and not args.verbose and level in ("DEBUG", "INFO"):
        level = "WARNING"  # a one-shot verb's output is its report, not progress lines
    setup_logging(level, config.log_format)
    handler = _VERBS[args.verb]
    try:
        return handler(config, args)
    except PphookError as exc:
        print(f"pphook: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK


def _check(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.secondaries import secondary_lines
    from remote_backend.service import open_builder

    print(f"config: {config.path}: ok")
    for warning in _secret_warnings(config):
        print(f"warning: {warning}")
    _print_server_status(config)
    builder = open_builder(config)
    latency = builder.reader.ping()
    print(f"phpIPAM database: {builder.reader.describe()}: reachable ({latency * 1000:.1f} ms)")
    build = builder.build()
    snap = build.snapshot
    changed = builder.store.zone_changed_at()
    print(
        f"read {len(build.data.addresses)} addresses, {len(build.data.subnets)} subnets; "
        f"snapshot built in {build.seconds:.2f} s"
    )
    print(f"{'zone':40} {'serial':>12} {'records':>9}  last change")
    for zone in snap.zones:
        when = changed.get(zone.name)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(when)) if when else "-"
        print(f"{zone.name:40} {zone.serial:>12} {zone.record_count:>9}  {stamp}")
    counts = Counter(f.code.value for f in build.publication.findings if f.is_problem)
    if counts:
        print("problems (rows not published, or published with a conflict):")
        for code, n in sorted(counts.items()):
            print(f"  {code:20} {n}")
    else:
        print("problems: none")
    for line in secondary_lines(config, snap):
        print(line)
    return EXIT_OK


def _print_server_status(config: Config) -> None:
    """What the running `pphook serve` says about itself, if one listens on the socket."""
    import json
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(config.server.socket)
            sock.sendall(b'{"method":"pphookStatus","parameters":{}}\n')
            with sock.makefile("rb") as reader:
                status = json.loads(reader.readline()).get("result")
    except (OSError, ValueError):
        print(f"pphook serve: not reachable on {config.server.socket}")
        return
    if not isinstance(status, dict):
        print(f"pphook serve on {config.server.socket}: no status")
        return
    built = status.get("snapshot_built_at")
    age = f"{time.time() - built:.0f} s" if isinstance(built, (int, float)) else "-"
    print(
        f"pphook serve on {config.server.socket}: {status.get('health')}, snapshot from "
        f"{status.get('source')} ({status.get('snapshot_records')} records, age {age}), "
        f"database circuit {status.get('circuit')}"
    )
    if status.get("last_error"):
        print(f"  last error: {status['last_error']}")


def _explain(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.explain import explain
    from remote_backend.service import open_builder

    builder = open_builder(config)
    build = builder.build()
    _, rows = explain(build, args.target)
    changes = dict(builder.reader.last_changes(r.id for r in rows))
    text, _ = explain(build, args.target, changes, builder.store.zone_changed_at())
    sys.stdout.write(text)
    return EXIT_OK


def _export(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.service import open_builder
    from remote_backend.zonefile import zone_to_text

    builder = open_builder(config)
    snapshot = builder.build().snapshot
    name = args.zone.strip().lower().rstrip(".")
    zone = snapshot.zone_by_name.get(name)
    if zone is None:
        served = ", ".join(z.name for z in snapshot.zones)
        raise ZoneNotServedError(f"zone {args.zone!r} is not served; served zones: {served}")
    sys.stdout.write(zone_to_text(snapshot, zone))
    return EXIT_OK


def _handler(live: LiveSnapshot, source: Callable[[], Snapshot] | None = None) -> BackendHandler:
    from remote_backend.protocol import BackendHandler

    return BackendHandler(source or live.get, live.builder.store, status_source=live.status)


def _serve(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.connectors.unix import UnixSocketServer
    from remote_backend.secondaries import watch_secondaries
    from remote_backend.service import LiveSnapshot, open_builder

    _warn_secret_files(config)
    live = LiveSnapshot(open_builder(config), on_change=_purger(config))
    _first_snapshot(live)
    handler = _handler(live)
    server = UnixSocketServer(
        config.server.socket,
        handler,
        mode=config.server.socket_mode,
        group=config.server.socket_group,
    )
    server.bind()
    live.start()
    if config.server.metrics:
        from remote_backend.metrics import start_metrics

        watcher = watch_secondaries(config, lambda: live.current)
        start_metrics(config.server.metrics, config.path, live, handler, watcher)
        log.info("metrics on http://%s/metrics", config.server.metrics)

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    zones = len(live.current.zones) if live.current else 0
    log.info("serving %d zones on %s (%s)", zones, config.server.socket, live.health().value)
    try:
        server.serve_forever()
    finally:
        live.stop()
    return EXIT_OK


# A pipe coprocess waits this long for its first snapshot before answering SERVFAIL
# (pdns's connector timeout is 2 s by default).
PIPE_FIRST_SNAPSHOT_WAIT = 1.5


def _pipe(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.connectors.pipe import serve_stdio
    from remote_backend.service import LiveSnapshot, open_builder

    if args.relay:
        server = config.server
        return _relay(args.socket or server.socket, server.relay_timeout, server.relay_list_timeout)

    live = LiveSnapshot(open_builder(config))
    ready = threading.Event()

    def _load() -> None:
        # Build in the background: pdns's `initialize` must be answered at once
        # (a late reply desyncs the pipe connector for good).
        _first_snapshot(live)
        ready.set()
        live.start()

    threading.Thread(target=_load, name="pphook-first-build", daemon=True).start()

    def _current() -> Snapshot:
        ready.wait(PIPE_FIRST_SNAPSHOT_WAIT)
        return live.get()

    serve_stdio(_handler(live, _current))
    return EXIT_OK


def _first_snapshot(live: LiveSnapshot) -> None:
    """Read phpIPAM once; if it is down, fall back to the snapshot in the state store.

    Either way the caller starts serving: the refresh thread keeps trying the database
    (through the circuit breaker) and takes over as soon as it answers.
    """
    live.tick()
    if live.current is None and not live.load_persisted():
        log.error(
            "phpIPAM is unreachable and no snapshot was persisted: answering SERVFAIL "
            "until the database answers (%s)",
            live.last_error,
        )


def _warn_secret_files(config: Config) -> None:
    for warning in _secret_warnings(config):
        log.warning("%s", warning)


def _secret_warnings(config: Config) -> list[str]:
    from remote_backend.config import secret_file_warnings

    secrets = [config.ipam.password_file]
    if ":" in config.ipam.url.partition("://")[2].partition("@")[0] and "@" in config.ipam.url:
        secrets.append(config.path)  # the URL carries a password
    return [w for path in secrets if path for w in secret_file_warnings(path)]


def _relay(socket_path: str, timeout: float, list_timeout: float) -> int:
    from remote_backend.connectors.pipe import serve_stdio
    from remote_backend.connectors.relay import RelayHandler

    serve_stdio(RelayHandler(socket_path, timeout=timeout, long_timeout=list_timeout))
    return EXIT_OK


def _purger(config: Config) -> Callable[[Snapshot, Snapshot], None] | None:
    """Purges changed names from pdns's caches after each refresh (server.pdns_control)."""
    if not config.server.pdns_control:
        return None
    from remote_backend.pdns_cache import PdnsCachePurger, purge_plan
    from remote_backend.snapshot import changed_names

    purger = PdnsCachePurger(config.server.pdns_control, config.server.pdns_socket_dir)

    def on_change(old: Snapshot, new: Snapshot) -> None:
        changed = changed_names(old, new)
        zone_of = {n: new.index.find(n) or old.index.find(n) or "" for n in changed}
        names, zones = purge_plan(changed, zone_of)
        purger.purge(names, zones)
        # A query in flight during the swap (it read the old snapshot) can put the old
        # answer back into pdns's caches right after the purge; purging again shortly
        # after closes that window (pdns answers in milliseconds).
        for delay in PURGE_REPEATS:
            timer = threading.Timer(delay, purger.purge, args=(names, zones))
            timer.daemon = True
            timer.start()
        log.info("purged %d names and %d zones from the pdns caches", len(names), len(zones))

    return on_change


def _report(config: Config, args: argparse.Namespace) -> int:
    from notifier.cli import run_report

    return run_report(config, args.dry_run)


def _notifier(config: Config, args: argparse.Namespace) -> int:
    from notifier.cli import run_daemon

    return run_daemon(config)


def _audit(config: Config, args: argparse.Namespace) -> int:
    from notifier.cli import run_audit

    return run_audit(
        config, args.audit_verb, getattr(args, "kind", None), getattr(args, "since", None)
    )


_VERBS = {
    "serve": _serve,
    "pipe": _pipe,
    "check": _check,
    "explain": _explain,
    "export": _export,
    "report": _report,
    "notifier": _notifier,
    "audit": _audit,
}

if __name__ == "__main__":
    sys.exit(main())
