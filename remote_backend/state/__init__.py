"""The state store: what pphook must remember across restarts and share between nodes."""

from remote_backend.state.store import SerialFormat, StateStore

__all__ = ["SerialFormat", "StateStore"]
