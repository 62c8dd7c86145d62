"""Canonical JSON and SHA-256: one byte form for hashing problem identities and audit entries.

Sorted keys, no whitespace and ASCII-only escapes make equal data hash equally on
every node and Python version; ASCII escapes also survive any database collation.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
