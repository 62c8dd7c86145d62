"""The `pphook` command: `pphook [--config FILE] VERB`.

Each verb is a small function taking the checked config and the parsed arguments and
returning an exit code, so tests call ``main([...])`` directly (aiosmtpd-style
testable entry point). The backend's verbs are listed here; verbs of other packages
(the notifier's `report`, `notifier`, `audit`) come in as entry points
(``remote_backend.plugins``), so this package never imports them.

Imports stay inside the verbs: `pipe --relay` is forked by pdns for every AXFR and must
start in milliseconds, without the database and validator stack (sqlalchemy alone
costs ~0.25 s).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from remote_backend import __version__
from remote_backend.errors import CustomFieldError, PphookError
from remote_backend.logs import setup_logging
from remote_backend.protocol.wire import RELAY_LIST_TIMEOUT, RELAY_TIMEOUT

if TYPE_CHECKING:
    from remote_backend.config import Config

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

# verbs whose output is their report: progress lines only with --verbose
_ONE_SHOT = frozenset({"check", "explain", "export", "compare", "report", "audit"})


@dataclass(frozen=True)
class CoreVerb:
    """A verb of the backend itself (same shape as ``plugins.VerbPlugin``)."""

    name: str
    help: str
    runner: Callable[[Config, argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], object] = lambda parser: None
    sections: tuple[str, ...] = field(default=())

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        self.arguments(parser)

    def run(self, config: Config, args: argparse.Namespace) -> int:
        return self.runner(config, args)


@dataclass(frozen=True)
class StandaloneVerb:
    """A verb that reads no config file (`init` writes the first one)."""

    name: str
    help: str
    runner: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], object] = lambda parser: None

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        self.arguments(parser)


def _serve(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.cli.serving import serve

    return serve(config)


def _pipe(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.cli.serving import pipe, shared_pipe
    from remote_backend.connectors.lifetime import bind_to_parent

    bind_to_parent()  # before the handler opens its own sockets and files

    if args.snapshot_dir:
        return shared_pipe(args.snapshot_dir)
    if not args.relay and (args.socket or args.timeout or args.list_timeout):
        print("pphook pipe: --socket, --timeout and --list-timeout need --relay", file=sys.stderr)
        return EXIT_USAGE
    return pipe(config, args.relay, args.socket, args.timeout, args.list_timeout)


def _check(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.cli.check import check

    return check(config)


def _explain(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.cli.inspect import explain_verb

    return explain_verb(config, args.target)


def _compare(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.cli.compare import compare_verb

    return compare_verb(config, args.zone, args.server, args.timeout)


def _compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("zone", metavar="ZONE")
    p.add_argument(
        "--server",
        metavar="HOST[:PORT]",
        required=True,
        help="the DNS server serving ZONE today (it must allow AXFR to this host)",
    )
    p.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="seconds to wait for each answer of the transfer (default 10)",
    )


def _export(config: Config, args: argparse.Namespace) -> int:
    from remote_backend.cli.inspect import export_verb

    return export_verb(config, args.zone)


def _init(args: argparse.Namespace) -> int:
    from remote_backend.cli.init import init_verb

    return init_verb(args)


def _init_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--ipam-url",
        metavar="URL",
        help="SQLAlchemy URL of the phpIPAM database, e.g. "
        "mysql+pymysql://pphook@127.0.0.1:3306/phpipam (default: $PPHOOK_IPAM_URL)",
    )
    p.add_argument(
        "--password-file",
        metavar="FILE",
        help="file holding the database password (the config names the file as "
        "ipam.password_file; the password itself is never printed)",
    )
    p.add_argument(
        "--state-url",
        metavar="URL",
        help="state.url to write (default: sqlite:////var/lib/pphook/state.db)",
    )


def _pipe_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--snapshot-dir",
        metavar="DIR",
        help="the shared snapshot `pphook serve` publishes (server.snapshot_dir); then no "
        "config file is read (pdns runs its coprocesses as its own user, which need not "
        "read pphook.toml). The recommended deployment: "
        "pipe:command=.../pphook pipe --snapshot-dir DIR,timeout=0",
    )
    p.add_argument(
        "--relay",
        action="store_true",
        help="(earlier deployments) forward every request to the `pphook serve` socket "
        "instead of answering from the shared snapshot",
    )
    p.add_argument(
        "--socket",
        metavar="PATH",
        help="with --relay: the serve socket; then no config file is read",
    )
    p.add_argument(
        "--timeout",
        metavar="SECONDS",
        type=_relay_seconds("TIMEOUT_RANGE"),
        help="with --relay: seconds to wait for serve per request, then SERVFAIL "
        f"(default: server.relay_timeout, else {RELAY_TIMEOUT:g})",
    )
    p.add_argument(
        "--list-timeout",
        metavar="SECONDS",
        type=_relay_seconds("LIST_TIMEOUT_RANGE"),
        help="with --relay: the same for list (AXFR) and getAllDomains "
        f"(default: server.relay_list_timeout, else {RELAY_LIST_TIMEOUT:g})",
    )


def _relay_seconds(bounds: str) -> Callable[[str], float]:
    """argparse type of the relay's timeouts: the bounds the config applies too."""

    def parse(text: str) -> float:
        from remote_backend.connectors import relay

        low, high = getattr(relay, bounds)
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not low <= value <= high:  # also refuses inf and nan
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g} seconds")
        return value

    return parse


CORE_VERBS: tuple[CoreVerb, ...] = (
    CoreVerb(
        "serve",
        "builds from phpIPAM and publishes the shared snapshot pdns's coprocesses answer from",
        _serve,
    ),
    CoreVerb(
        "pipe",
        "coprocess for remote-connection-string=pipe:command=...",
        _pipe,
        _pipe_arguments,
    ),
    CoreVerb("check", "check config and database, print zones and rejections", _check),
    CoreVerb(
        "explain",
        "every phpIPAM row behind a name, an IP or a MAC address, and why",
        _explain,
        lambda p: p.add_argument("target", metavar="NAME-or-IP-or-MAC"),
    ),
    CoreVerb(
        "export",
        "a served zone as a BIND master file (= AXFR)",
        _export,
        lambda p: p.add_argument("zone", metavar="ZONE"),
    ),
    CoreVerb(
        "compare",
        "a zone as another DNS server serves it (AXFR) against pphook; exit 0 if equal",
        _compare,
        _compare_arguments,
    ),
)


STANDALONE_VERBS: tuple[StandaloneVerb, ...] = (
    StandaloneVerb(
        "init",
        "read phpIPAM and print a first, commented pphook.toml",
        _init,
        _init_arguments,
    ),
)


def _verbs() -> dict[str, CoreVerb]:
    from remote_backend.plugins import plugin_verbs

    verbs: dict[str, CoreVerb] = {v.name: v for v in CORE_VERBS}
    for plugin in plugin_verbs():
        if plugin.name not in verbs:  # a plugin never replaces a backend verb
            verbs[plugin.name] = plugin  # type: ignore[assignment]
    return verbs


def _parser(verbs: dict[str, CoreVerb | StandaloneVerb]) -> argparse.ArgumentParser:
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
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb in verbs.values():
        verb.add_arguments(sub.add_parser(verb.name, help=verb.help))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if _is_light_pipe(argv):
        # pdns forks this for every AXFR: no config, no plugins, no heavy imports
        args = _pipe_parser().parse_args(argv)
        setup_logging("INFO" if args.verbose else "WARNING")
        from remote_backend.connectors.lifetime import bind_to_parent

        bind_to_parent()  # before the handler opens its own sockets and files
        if args.snapshot_dir:
            from remote_backend.cli.serving import shared_pipe

            return shared_pipe(args.snapshot_dir)
        from remote_backend.cli.relay import relay

        return relay(
            args.socket, args.timeout or RELAY_TIMEOUT, args.list_timeout or RELAY_LIST_TIMEOUT
        )
    verbs = _verbs()
    standalone = {v.name: v for v in STANDALONE_VERBS}
    args = _parser({**verbs, **standalone}).parse_args(argv)
    if args.verb in standalone:
        setup_logging("INFO" if args.verbose else "WARNING")
        try:
            return standalone[args.verb].runner(args)
        except PphookError as exc:
            print(f"pphook: {exc}", file=sys.stderr)
            return EXIT_ERROR
    verb = verbs[args.verb]
    from remote_backend.config import load_config

    try:
        config = load_config(args.config, require=verb.sections, parse_all=args.verb == "check")
    except PphookError as exc:
        print(f"pphook: {exc}", file=sys.stderr)
        return EXIT_USAGE if args.verb != "check" else EXIT_ERROR
    level = config.log_level
    if args.verb in _ONE_SHOT and not args.verbose and level in ("DEBUG", "INFO"):
        level = "WARNING"  # a one-shot verb's output is its report, not progress lines
    setup_logging(level, config.log_format)
    try:
        return verb.run(config, args)
    except CustomFieldError as exc:  # a config key the database cannot follow
        print(f"pphook: {config.path}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except PphookError as exc:
        print(f"pphook: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_OK


def _is_light_pipe(argv: Sequence[str]) -> bool:
    """`pipe --snapshot-dir DIR` (what pdns.conf runs) or `pipe --relay --socket PATH`:
    served without a config."""
    rest = [a for a in argv if a not in ("-v", "--verbose")]
    if len(rest) < 2 or rest[0] != "pipe":
        return False
    if any(a == "--snapshot-dir" or a.startswith("--snapshot-dir=") for a in rest):
        return True
    return "--relay" in rest and any(a == "--socket" or a.startswith("--socket=") for a in rest)


def _pipe_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pphook")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="verb", required=True)
    _pipe_arguments(sub.add_parser("pipe"))
    return parser


if __name__ == "__main__":
    sys.exit(main())
