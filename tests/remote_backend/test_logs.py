"""Log lines: one event per line, JSON when asked, never a password."""

from __future__ import annotations

import json
import logging

import pytest

from remote_backend.config import IpamSettings
from remote_backend.ipam import IpamReader, make_engine
from remote_backend.logs import setup_logging


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging("INFO", "json")
    try:
        logging.getLogger("pphook.test").warning("refresh failed: %s", "boom\nsecond line")
        line = capsys.readouterr().err.strip()
        assert "\n" not in line  # one event per line, even with a newline in the message
        event = json.loads(line)
        assert event["level"] == "warning" and event["logger"] == "pphook.test"
        assert event["msg"] == "refresh failed: boom\nsecond line"
    finally:
        setup_logging("WARNING", "text")


def test_database_urls_are_logged_without_password() -> None:
    reader = IpamReader(
        make_engine(IpamSettings(url="mysql+pymysql://pphook:s3cr3t@db.example:3306/phpipam"))
    )
    assert "s3cr3t" not in reader.describe()
    assert "pphook" in reader.describe() and "db.example" in reader.describe()
