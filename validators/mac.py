"""MAC addresses: normalisation and syntax (docs/publication-rules.md).

phpIPAM's UI stores ``aa:bb:cc:dd:ee:ff``, but imports keep ``AA-BB-...`` and older
rows may hold Cisco ``aabb.ccdd.eeff`` or bare hex, so MACs are compared in one form:
separators removed, ASCII lowercase.
"""

from __future__ import annotations

import re

from validators.text import ASCII_LOWERCASE_TABLE, ASCII_WHITESPACE, quote

_HEX_DIGITS = "0123456789abcdef"


def normalise_mac(raw: str | None) -> str | None:
    """The comparison form of a MAC, or None when the row has no MAC.

    NULL, empty and whitespace-only all mean "no MAC". The result is not necessarily
    valid: check it with ``is_valid_mac``.
    """
    if raw is None:
        return None
    stripped = raw.strip(ASCII_WHITESPACE)
    if not stripped:
        return None
    bare = stripped.replace(":", "").replace(".", "").replace("-", "")
    # Lowercase A-Z only, so a non-ASCII look-alike of a hex digit stays invalid.
    return bare.lower() if bare.isascii() else bare.translate(ASCII_LOWERCASE_TABLE)


def is_valid_mac(normalised: str) -> bool:
    # strip() removes hex digits from both ends: nothing left means all 12 are hex.
    return len(normalised) == 12 and not normalised.strip(_HEX_DIGITS)


def mac_problem(raw: str) -> str:
    """The one-line reason for a MAC that ``is_valid_mac`` refused."""
    return (
        f"MAC {quote(raw)} is not a MAC address "
        "(12 hex digits, optionally separated by ':', '.' or '-')"
    )


def format_mac(normalised: str) -> str:
    """``aabbccddeeff`` -> ``aa:bb:cc:dd:ee:ff`` (how phpIPAM shows MACs)."""
    return ":".join(normalised[i : i + 2] for i in range(0, len(normalised), 2))


_ASCII_WHITESPACE_RE = re.compile(f"[{re.escape(ASCII_WHITESPACE)}]")
_VALID_MACS = re.compile(r"[0-9a-f]{12}(?:\x1f[0-9a-f]{12})*")


def normalise_valid_macs(raws: list[str]) -> list[str] | None:
    """``normalise_mac`` of each, worked out on all of them at once (in C) when every
    one comes out valid (the usual case); None when one does not, or is blank, or
    holds the separator used here: then each must go through ``normalise_mac``."""
    if not raws:
        return []
    joined = "\x1f".join(raws)
    if (
        not joined.isascii()
        or _ASCII_WHITESPACE_RE.search(joined) is not None
        or joined.count("\x1f") != len(raws) - 1
    ):
        return None
    bare = joined.replace(":", "").replace(".", "").replace("-", "").lower()
    if _VALID_MACS.fullmatch(bare) is None:
        return None
    return bare.split("\x1f")
