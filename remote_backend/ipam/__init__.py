"""Read-only access to the phpIPAM database (SQLAlchemy Core, columns by name)."""

from remote_backend.ipam.reader import ChangeToken, IpamReader, make_engine

__all__ = ["ChangeToken", "IpamReader", "make_engine"]
