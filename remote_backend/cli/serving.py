"""`serve` and `pipe`: the verbs pdns talks to."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from remote_backend.cli.relay import relay
from remote_backend.cli.secrets import log_startup_warnings

if TYPE_CHECKING:
    from remote_backend.build.live import LiveSnapshot
    from remote_backend.config import Config
    from remote_backend.protocol.handler import BackendHandler
    from remote_backend.snapshot import Snapshot

log = logging.getLogger("pphook")

EXIT_OK = 0

PURGE_REPEATS = (0.1, 1.0)  # seconds after a swap when changed names are purged again


def _handler(live: LiveSnapshot, source: Callable[[], Snapshot] | None = None) -> BackendHandler:
    from remote_backend.protocol.handler import BackendHandler

    return BackendHandler(source or live.get, live.builder.store, status_source=live.status)


def serve(config: Config) -> int:
    """`pphook serve`: the unix-socket server, refreshing the snapshot in the background."""
    from remote_backend.build.builder import open_builder
    from remote_backend.build.live import LiveSnapshot
    from remote_backend.connectors.unix import UnixSocketServer
    from remote_backend.secondaries.watch import watch_secondaries

    log_startup_warnings(config)
    live = LiveSnapshot(open_builder(config), on_change=_purger(config))
    _first_snapshot(live)
    handler = _handler(live)
    server = UnixSocketServer(
        config.server.socket,
        handler,
        mode=config.server.socket_mode,
        group=config.server.socket_group,
        max_connections=config.server.max_connections,
        idle_timeout=config.server.idle_timeout,
    )
    server.bind()
    live.start()
    if config.server.metrics:
        from remote_backend.monitor.metrics import start_metrics

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


def pipe(
    config: Config,
    relay_mode: bool,
    socket: str | None,
    timeout: float | None = None,
    list_timeout: float | None = None,
) -> int:
    """`pphook pipe`: a pdns coprocess (``--relay``: forwarding to `serve`; the command
    line's timeouts win over the config's)."""
    from remote_backend.build.builder import open_builder
    from remote_backend.build.live import LiveSnapshot
    from remote_backend.connectors.pipe import serve_stdio

    log_startup_warnings(config)
    if relay_mode:
        server = config.server
        return relay(
            socket or server.socket,
            timeout or server.relay_timeout,
            list_timeout or server.relay_list_timeout,
        )

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
    from remote_backend.build.live import STATE_STORE

    live.tick()
    if live.current is None and not live.load_persisted():
        if live.last_error_source == STATE_STORE:
            log.error(
                "the state store failed, so no serials and no snapshot: answering SERVFAIL "
                "until it works (%s)",
                live.last_error,
            )
        else:
            log.error(
                "phpIPAM is unreachable and no snapshot was persisted: answering SERVFAIL "
                "until the database answers (%s)",
                live.last_error,
            )


def _purger(config: Config) -> Callable[[Snapshot, Snapshot], None] | None:
    """Purges changed names from pdns's caches after each refresh (server.pdns_control)."""
    if not config.server.pdns_control:
        return None
    from remote_backend.cache_purge import PdnsCachePurger, purge_plan
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
