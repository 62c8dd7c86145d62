"""`pphook init --ipam-url URL [--password-file F]`: a first pphook.toml from phpIPAM.

Reads phpIPAM read-only (the same read-only engine and reader as every other verb)
and prints a commented config on stdout; needs no config file itself.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from remote_backend.config import ENV_IPAM_URL, IpamSettings, read_secret, redact_url
from remote_backend.config.settings import DEFAULT_STATE_URL
from remote_backend.errors import ConfigError, IpamUrlError
from remote_backend.ipam import IpamReader, make_engine
from remote_backend.survey.forward import plan_forward
from remote_backend.survey.read import addresses, read_survey
from remote_backend.survey.render import InitOptions, render_config
from remote_backend.survey.reverse import plan_reverse
from validators.address import subnet_network

EXIT_OK = 0
EXIT_USAGE = 2
_DRIVERS = ("mysql", "mariadb", "sqlite")


def init_verb(args: argparse.Namespace) -> int:
    """Survey phpIPAM, print the config. Exit 2 for an unusable URL, 1 when the
    database cannot be read (raised as IpamError)."""
    try:
        url, password = _target(args.ipam_url or os.environ.get(ENV_IPAM_URL), args.password_file)
    except (IpamUrlError, ConfigError) as exc:  # ConfigError: --password-file unreadable
        print(f"pphook: {exc}", file=sys.stderr)
        return EXIT_USAGE
    printed = url._replace(password=None).render_as_string(hide_password=False)
    settings = IpamSettings(url=printed, password_file=args.password_file)
    try:
        engine = make_engine(settings, password)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
        print(f"pphook: --ipam-url {redact_url(str(url))}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        survey = read_survey(IpamReader(engine))
    finally:
        engine.dispose()
    data = survey.data
    networks = [n for n in map(subnet_network, data.subnets.values()) if n is not None]
    text = render_config(
        InitOptions(
            ipam_url=printed,
            password_file=args.password_file,
            state_url=args.state_url or DEFAULT_STATE_URL,
            url_had_password=url.password is not None and args.password_file is None,
        ),
        survey,
        plan_forward(data.columns.hostnames),
        plan_reverse(networks, addresses(data)),
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    sys.stdout.write(text)
    if url.password is not None and args.password_file is None:
        print(
            "pphook: the password in --ipam-url is not written to the config: put it in a "
            "file and set ipam.password_file (next time: --password-file, which also keeps "
            "it out of the process list)",
            file=sys.stderr,
        )
    return EXIT_OK


def _target(text: str | None, password_file: str | None) -> tuple[URL, str | None]:
    """The parsed URL and the password to connect with; IpamUrlError when unusable."""
    if not text:
        raise IpamUrlError(
            "--ipam-url is required (or $PPHOOK_IPAM_URL), e.g. "
            "mysql+pymysql://pphook@127.0.0.1:3306/phpipam"
        )
    try:
        url = make_url(text)
    except sa.exc.ArgumentError:
        raise IpamUrlError(
            f"--ipam-url {redact_url(text)!r} is not an SQLAlchemy URL, e.g. "
            "mysql+pymysql://pphook@127.0.0.1:3306/phpipam or sqlite:////path/phpipam.sqlite"
        ) from None
    backend = url.get_backend_name()
    if backend not in _DRIVERS:
        raise IpamUrlError(
            f"--ipam-url: {backend!r} is no database phpIPAM runs on: use mysql+pymysql:// "
            "(MariaDB/MySQL) or sqlite:// (the demo)"
        )
    if backend == "sqlite" and not (url.database and Path(url.database).is_file()):
        # SQLite would create an empty file: say what is wrong instead
        raise IpamUrlError(f"--ipam-url: no SQLite database at {url.database!r}")
    password = url.password if url.password is not None else None
    if password_file is not None:
        password = read_secret("--password-file", "", password_file)
    return url, None if password is None else str(password)
