"""`serve` and `pipe`: the verbs pdns talks to.

`serve` builds from phpIPAM and publishes into the shared snapshot; `pipe` is the
coprocess pdns starts per backend instance, answering from that snapshot by itself.
"""

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
    from remote_backend.build.publisher import Published
    from remote_backend.config import Config

log = logging.getLogger("pphook")

EXIT_OK = 0

PURGE_REPEATS = (0.1, 1.0)  # seconds after a swap when changed names are purged again


def serve(config: Config) -> int:
    """`pphook serve`: builds and publishes the shared snapshot; answers on its unix
    socket too (the unix connector, and `pphook check`'s status question)."""
    from remote_backend.build.builder import open_builder
    from remote_backend.build.live import LiveSnapshot
    from remote_backend.connectors.unix import UnixSocketServer
    from remote_backend.protocol.handler import BackendHandler
    from remote_backend.secondaries.lag import is_older
    from remote_backend.secondaries.watch import watch_secondaries
    from remote_backend.shared.admission import open_validated
    from remote_backend.shared.notified import SharedNotified
    from remote_backend.shared.reader import SharedReader

    log_startup_warnings(config)
    directory = config.server.snapshot_dir
    # validated before anything of it is used or served (a refused file is emptied)
    admitted = open_validated(directory, group=config.server.socket_group)
    shared = admitted.shared
    # what pdns served and notified from the last run: a lost or replaced state store
    # must not hand out serials below them
    floors = {zone.name: zone.serial for zone in admitted.zones}
    for zone, serial in SharedNotified(directory).floors().items():
        if zone not in floors or is_older(floors[zone], serial):
            floors[zone] = serial
    # serve never shows when a row was edited (explain and the notifier read their own)
    builder = open_builder(config, floors, edit_dates=False)
    live = LiveSnapshot(builder, shared, on_change=_purger(config))
    _first_publication(live)
    handler = BackendHandler(
        SharedReader(directory, shared.env).current,
        SharedNotified(directory),
        status_source=live.status,
    )
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

        watcher = watch_secondaries(config, live.serials)
        from remote_backend.shared.stats import StatsTotals

        start_metrics(
            config.server.metrics,
            config.path,
            live,
            handler,
            watcher,
            StatsTotals(directory),
        )
        log.info("metrics on http://%s/metrics", config.server.metrics)

    def _stop(signum: int, _frame: object) -> None:
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "publishing %d zones in %s, answering on %s (%s)",
        len(live.zones or ()),
        directory,
        config.server.socket,
        live.health().value,
    )
    try:
        server.serve_forever()
    finally:
        live.stop()
        shared.close()
    return EXIT_OK


def pipe(
    config: Config,
    relay_mode: bool,
    socket: str | None,
    timeout: float | None = None,
    list_timeout: float | None = None,
) -> int:
    """`pphook pipe`: a pdns coprocess answering from the shared snapshot (``--relay``:
    forwarding every request to `serve` instead, the deployment of earlier versions;
    the command line's timeouts win over the config's)."""
    log_startup_warnings(config)
    if relay_mode:
        server = config.server
        return relay(
            socket or server.socket,
            timeout or server.relay_timeout,
            list_timeout or server.relay_list_timeout,
        )
    return shared_pipe(config.server.snapshot_dir)


def shared_pipe(directory: str) -> int:
    """The coprocess: stdin/stdout, answers from the shared snapshot in ``directory``."""
    from remote_backend.connectors.pipe import serve_stdio
    from remote_backend.protocol.handler import BackendHandler
    from remote_backend.shared.notified import SharedNotified
    from remote_backend.shared.reader import SharedReader
    from remote_backend.shared.stats import CoprocessStats

    handler = BackendHandler(SharedReader(directory).current, SharedNotified(directory))
    stats = CoprocessStats(directory, handler)
    answer = handler.handle_line
    tick = stats.tick

    class Counted:
        """The handler, writing its counters for `serve`'s metrics now and then."""

        def handle_line(self, line: bytes) -> bytes:
            reply = answer(line)
            tick()
            return reply

    serve_stdio(Counted())
    return EXIT_OK


def _first_publication(live: LiveSnapshot) -> None:
    """Read phpIPAM once; if it is down, serve what the shared snapshot holds.

    Either way `serve` starts: the refresh thread keeps trying the database (through the
    circuit breaker) and publishes as soon as it answers. Unless the config asks for
    what phpIPAM does not have (``policy.alias_field`` naming no column): that is no
    outage to wait out, so `serve` refuses to start, as `check` does.
    """
    from remote_backend.build.live import STATE_STORE

    live.tick(starting=True)
    if live.zones is None and not live.load_persisted():
        if live.last_error_source == STATE_STORE:
            log.error(
                "the state store failed, so no serials and nothing published: answering "
                "SERVFAIL until it works (%s)",
                live.last_error,
            )
        else:
            log.error(
                "phpIPAM is unreachable and no earlier publication can be served: "
                "answering SERVFAIL until the database answers (%s)",
                live.last_error,
            )


def _purger(config: Config) -> Callable[[Published], None] | None:
    """Purges changed names from pdns's caches after each publication
    (server.pdns_control)."""
    if not config.server.pdns_control:
        return None
    from remote_backend.cache_purge import PdnsCachePurger, purge_plan
    from validators.zones import ZoneIndex

    purger = PdnsCachePurger(config.server.pdns_control, config.server.pdns_socket_dir)

    def on_change(published: Published) -> None:
        index = ZoneIndex(z.name for z in published.zones)
        changed = set(published.changed_names) | set(published.changed_zones)
        zone_of = {n: index.find(n) or "" for n in changed}
        names, zones = purge_plan(changed, zone_of)
        purger.purge(names, zones)
        # A query in flight during the swap (it read the old generation) can put the
        # old answer back into pdns's caches right after the purge; purging again
        # shortly after closes that window (pdns answers in milliseconds).
        for delay in PURGE_REPEATS:
            timer = threading.Timer(delay, purger.purge, args=(names, zones))
            timer.daemon = True
            timer.start()
        log.info("purged %d names and %d zones from the pdns caches", len(names), len(zones))

    return on_change
