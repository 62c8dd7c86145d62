"""What a verb would refuse later, checked while the config is read.

`load_config` runs this for every verb (`serve`, `pipe`, `check`, `explain`, `export`,
the notifier's), so `check` can never print "ok" for a config a verb then refuses,
and no verb dies on a traceback of SQLAlchemy or of the socket layer: unparsable
database URLs, drivers that are not installed, a socket group that does not exist, a
socket path too long for ``sockaddr_un``, a metrics host that does not resolve, an
unreadable password file. Each problem is collected with its key like any other
config error; what works but is unwise (a world-writable socket directory) becomes a
warning.

This reads the system (groups, directories, the password file, driver modules): it is
the one place of the config that does, so the section parsers stay pure.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import socket
import stat

from remote_backend.config.files import FileProblem, read_regular_file
from remote_backend.config.secrets import MAX_SECRET_BYTES, redact_url
from remote_backend.config.server import parse_listen
from remote_backend.config.settings import IpamSettings, ServerSettings, StateSettings
from remote_backend.config.toml import TomlReader
from remote_backend.connectors.unix import MAX_SOCKET_PATH
from remote_backend.zones import ZoneSettings

# Dialects pphook is built and tested for: MariaDB/MySQL (production) and SQLite (the
# demo and the default state store). phpIPAM itself only runs on MySQL/MariaDB.
SUPPORTED_BACKENDS = ("mysql", "mariadb", "sqlite")
URL_EXAMPLES = "mysql+pymysql://USER@HOST:3306/DATABASE or sqlite:////absolute/path.db"


def database_url_problem(url: str) -> str | None:
    """Why SQLAlchemy could not open ``url`` (None if it can): what a verb would hit on
    its first connection, as one line. The password never appears in the message."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = redact_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        return f"{shown!r} is not a database URL; expected {URL_EXAMPLES}"
    except ValueError:  # e.g. a port that is not a number
        return f"{shown!r} is not a valid database URL (is the port a number?); expected " + (
            URL_EXAMPLES
        )
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        return (
            f"{backend} databases are not supported (phpIPAM runs on MariaDB/MySQL); "
            f"expected {URL_EXAMPLES}"
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"port {parsed.port} is out of range (1-65535)"
    if backend != "sqlite" and not parsed.database:
        return f"{shown!r} names no database; add it after the host: ...:3306/DATABASE"
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return f"unknown driver {parsed.drivername!r}; use mysql+pymysql:// or sqlite:///"
    except ImportError as exc:
        return (
            f"the driver of {parsed.drivername!r} ({exc.name}) is not installed in pphook's "
            "environment; use mysql+pymysql:// (installed with pphook)"
        )
    return None


def validate_environment(
    r: TomlReader,
    ipam: IpamSettings,
    ipam_key: str,
    state: StateSettings,
    server: ServerSettings,
    zones: ZoneSettings | None = None,
) -> None:
    """Collect, into ``r``, every problem a verb would meet with these settings."""
    if ipam.url:
        problem = database_url_problem(ipam.url)
        r.check(ipam_key, problem is None, problem or "")
    problem = database_url_problem(state.url)
    r.check("state.url", problem is None, problem or "")
    if ipam.password_file is not None:
        _check_secret(r, "ipam.password_file", ipam.password_file)
    _check_socket(r, server)
    if server.metrics is not None:
        _check_metrics_host(r, server.metrics)
    if zones is not None and zones.static_dir is not None:
        _check_static_dir(r, zones.static_dir)


def _check_static_dir(r: TomlReader, directory: str) -> None:
    """A directory every verb can list: `explain` and `export` would stop on it, and
    `serve` would publish the zones without their static records (the files
    themselves are checked by `check` and re-read by `serve`, which keeps the last
    good content of a file that breaks)."""
    key = "zones.static_dir"
    if not os.path.isabs(directory):
        r.warnings.append(
            (key, f"{directory!r} is relative: it is read from {os.path.abspath(directory)}")
        )
    try:
        with os.scandir(directory):
            pass
    except FileNotFoundError:
        r.errors.append((key, f"{directory} does not exist: create it, or remove the key"))
    except NotADirectoryError:
        r.errors.append((key, f"{directory} is not a directory"))
    except OSError as exc:
        r.errors.append(
            (key, f"cannot list {directory}: {exc.strerror} (pphook's user must read it)")
        )


def _check_secret(r: TomlReader, key: str, path: str) -> None:
    try:
        read_regular_file(path, MAX_SECRET_BYTES)
    except FileProblem as exc:
        r.errors.append((key, f"{exc}; it must be a file holding the password"))


def _check_socket(r: TomlReader, server: ServerSettings) -> None:
    path = os.path.abspath(server.socket)
    if not os.path.isabs(server.socket):
        r.warnings.append(
            ("server.socket", f"{server.socket!r} is relative: `serve` resolves it as {path}")
        )
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        r.errors.append(
            (
                "server.socket",
                f"unix socket paths are limited to {MAX_SOCKET_PATH} bytes; choose a shorter "
                "path (e.g. /run/pphook/pphook.sock)",
            )
        )
    parent = os.path.dirname(path)
    try:
        st = os.stat(parent)
    except FileNotFoundError:
        r.warnings.append(
            (
                "server.socket",
                f"directory {parent} does not exist (yet): `serve` cannot create the socket "
                "until it does (pphook.service's RuntimeDirectory= creates /run/pphook)",
            )
        )
    except OSError as exc:
        r.warnings.append(("server.socket", f"cannot inspect {parent}: {exc.strerror}"))
    else:
        if not stat.S_ISDIR(st.st_mode):
            r.errors.append(("server.socket", f"{parent} is not a directory"))
        elif st.st_mode & stat.S_IWOTH:
            r.warnings.append(
                (
                    "server.socket",
                    f"{parent} is writable by every user (mode {st.st_mode & 0o7777:04o}): "
                    "another user can take the socket's name or stand in for it; use a "
                    "directory of its own such as /run/pphook (0755 pphook)",
                )
            )
    group = server.socket_group
    if group is not None and not group.isdigit():
        try:
            grp.getgrnam(group)
        except KeyError:
            r.errors.append(
                (
                    "server.socket_group",
                    f"group {group!r} does not exist on this host; create it or name pdns's "
                    "group (usually pdns)",
                )
            )


def _check_metrics_host(r: TomlReader, listen: str) -> None:
    try:
        host, port = parse_listen(listen)
    except ValueError:
        return  # already reported by the [server] parser
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            r.errors.append(
                ("server.metrics", f"host {host!r} does not resolve ({exc}); use an IP address")
            )
