"""Typed access to a TOML tree that collects every problem instead of stopping at the
first (octoDNS-style): an operator fixes the file in one go. Shared by every section
parser, the notifier's included.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from remote_backend.errors import ConfigError

T = TypeVar("T")


class TomlReader:
    """Typed access to the TOML tree that collects every problem instead of stopping."""

    def __init__(self, path: str, data: Mapping[str, Any]) -> None:
        self.path = path
        self.data = data
        self.errors: list[tuple[str, str]] = []
        # (key, message): accepted, but unwise; `check` prints them, `serve` logs them
        self.warnings: list[tuple[str, str]] = []

    def section(self, name: str, required: bool) -> Mapping[str, Any] | None:
        value = self.data.get(name)
        if value is None:
            if required:
                self.errors.append((name, f"section [{name}] is required"))
            return None
        if not isinstance(value, dict):
            self.errors.append((name, f"must be a table ([{name}]), got {type(value).__name__}"))
            return None
        return value

    def get(
        self,
        table: Mapping[str, Any] | None,
        section: str,
        key: str,
        kind: type[T] | tuple[type, ...],
        default: T,
        expected: str,
    ) -> T:
        if table is None or key not in table:
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (
            isinstance(value, bool) and kind in (int, float, (int, float))
        )
        if not ok:
            self.errors.append((f"{section}.{key}", f"expected {expected}, got {value!r}"))
            return default
        result: T = value
        return result

    def seconds(
        self,
        table: Mapping[str, Any] | None,
        section: str,
        key: str,
        default: float,
        ok: Callable[[float], bool] = lambda v: v > 0,
        rule: str = "must be > 0",
    ) -> float:
        """A duration in seconds (int or float), checked with ``ok`` (else ``rule``).

        ``inf``, ``nan`` and integers too big for a float are refused here, whatever
        ``ok`` says: they pass naive range checks and then break whatever turns them
        into a timeout (``struct.pack``, ``int()``, ``SO_RCVTIMEO``).
        """
        raw = self.get(table, section, key, (int, float), default, "seconds")
        try:
            value = float(raw)
        except OverflowError:
            value = math.inf
        shown = repr(raw) if len(repr(raw)) <= 24 else repr(raw)[:20] + "..."
        if not math.isfinite(value):
            self.errors.append((f"{section}.{key}", f"{rule} (got {shown})"))
            return float(default)
        self.check(f"{section}.{key}", ok(value), f"{rule} (got {shown})")
        return value

    def integer(
        self,
        table: Mapping[str, Any] | None,
        section: str,
        key: str,
        default: int,
        low: int,
        high: int,
        unit: str = "",
    ) -> int:
        """An integer in ``low..high`` (an error names the range)."""
        value = self.get(table, section, key, int, default, f"an integer{unit}")
        if not low <= value <= high:
            shown = str(value) if len(str(value)) <= 24 else str(value)[:20] + "..."
            self.errors.append(
                (f"{section}.{key}", f"must be between {low} and {high}{unit} (got {shown})")
            )
            return default
        return value

    def str_list(
        self, table: Mapping[str, Any] | None, section: str, key: str, expected: str
    ) -> tuple[str, ...]:
        value = self.get(table, section, key, list, [], expected)
        if not all(isinstance(v, str) for v in value):
            self.errors.append((f"{section}.{key}", f"expected {expected}, got {value!r}"))
            return ()
        return tuple(value)

    def check(self, key: str, ok: bool, message: str) -> None:
        if not ok:
            self.errors.append((key, message))

    def warn(self, key: str, ok: bool, message: str) -> None:
        """Like ``check``, for what works but is unwise (never stops a verb)."""
        if not ok:
            self.warnings.append((key, message))

    def unknown_keys(self, table: Mapping[str, Any] | None, section: str, known: set[str]) -> None:
        for key in table or {}:
            if key not in known:
                self.errors.append((f"{section}.{key}", "unknown key (typo?)"))


def dns_name(value: str) -> str:
    return value.strip().lower().rstrip(".")


def raise_collected(path: str, errors: list[tuple[str, str]]) -> None:
    """Raise one ConfigError for every problem collected (nothing when there is none)."""
    if not errors:
        return
    if len(errors) == 1:
        key, message = errors[0]
        raise ConfigError(path, key, message)
    lines = "\n".join(f"  - {path}: {k}: {m}" for k, m in errors)
    err = ConfigError(path, None, f"{len(errors)} problems:\n{lines}")
    err.key = errors[0][0]
    raise err
