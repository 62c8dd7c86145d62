"""Read-only access to the phpIPAM database (SQLAlchemy Core, columns by name)."""

from remote_backend.ipam.changes import ChangeToken
from remote_backend.ipam.engine import make_engine
from remote_backend.ipam.reader import IpamReader

__all__ = ["ChangeToken", "IpamReader", "make_engine"]
