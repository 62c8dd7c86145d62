"""Fixtures for the protocol and connector tests (data lives in rb_support.py)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

# rb_support sits next to this file; make it importable whatever pytest's import mode.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from rb_support import MemoryNotified, make_snapshot

from remote_backend.protocol import BackendHandler
from remote_backend.snapshot import Snapshot


@pytest.fixture(scope="session")
def snapshot() -> Snapshot:
    return make_snapshot()


@pytest.fixture
def notified() -> MemoryNotified:
    return MemoryNotified()


@pytest.fixture
def handler(snapshot: Snapshot, notified: MemoryNotified) -> BackendHandler:
    return BackendHandler(lambda: snapshot, notified)


@pytest.fixture
def snapshot_factory() -> Callable[..., Snapshot]:
    return make_snapshot


@pytest.fixture
def notified_factory() -> Callable[..., MemoryNotified]:
    return MemoryNotified
