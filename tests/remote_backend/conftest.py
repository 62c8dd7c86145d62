"""Fixtures for the protocol and connector tests (data lives in rb_support.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from infra.rb_support import MemoryNotified, make_snapshot

from remote_backend.protocol.handler import BackendHandler
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
