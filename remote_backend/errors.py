"""One exception root for everything pphook raises on purpose.

Each message says what went wrong *and* what the operator should do about it.
"""

from __future__ import annotations


class PphookError(Exception):
    """Root of every error pphook raises deliberately."""


class ConfigError(PphookError):
    """The configuration file is missing, unreadable or wrong.

    ``file`` and ``key`` name where the problem is (``key`` is dotted: ``zones.ttl``).
    """

    def __init__(self, file: str, key: str | None, message: str) -> None:
        self.file = file
        self.key = key
        where = f"{file}: {key}" if key else file
        super().__init__(f"{where}: {message}")


class IpamError(PphookError):
    """The phpIPAM database cannot be read (down, wrong credentials, missing table)."""


class CustomFieldError(IpamError):
    """A key of the config names a phpIPAM custom field the database does not have
    (``policy.alias_field``): the message starts with that key, the CLI adds the file.

    A configuration error, not an outage: `check` and `serve` refuse to start on it (a
    running `serve` keeps serving its last publication if the column disappears).
    """


class IpamUrlError(PphookError):
    """A phpIPAM database URL given on the command line cannot be used (`pphook init`)."""


class StateStoreError(PphookError):
    """The state store (serials, notified serials, reports) cannot be read or written."""


class StateStoreDamagedError(StateStoreError):
    """The state store lost serials it handed out (its marker says more existed).

    Serving from it would send serials back, which secondaries ignore; pphook refuses
    until the store is restored or deliberately reset (docs/operations.md).
    """


class ZoneNotServedError(PphookError):
    """A zone named on the command line is not one pphook serves."""


class TransferError(PphookError):
    """A zone transfer from another DNS server failed (`pphook compare`): refused,
    timed out, or the server does not serve the zone."""


class SocketSetupError(PphookError):
    """The unix socket for PowerDNS cannot be created (bad path, group, permissions)."""


class SocketInUseError(SocketSetupError):
    """Another live server already answers on the unix socket path."""


class SnapshotUnavailableError(PphookError):
    """No snapshot to answer from yet (first read of phpIPAM not done, none persisted).

    The protocol answers such requests without a ``result`` so pdns returns SERVFAIL
    (retried later) instead of a cached NXDOMAIN.
    """


class SecondaryAddressError(PphookError):
    """An entry of ``zones.secondaries`` is not "IP", "IP:port" or "[IPv6]:port"."""


class SharedSnapshotError(PphookError):
    """The shared snapshot (``server.snapshot_dir``) cannot be opened, read or written."""


class SnapshotRefusedError(SharedSnapshotError):
    """The shared snapshot found on disk is not one `serve` could have written (damaged,
    truncated, or crafted): it is not served, and `serve` publishes a fresh one as
    soon as phpIPAM answers. The message says what is wrong with it."""
