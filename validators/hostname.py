"""Host names: normalisation and DNS syntax (docs/publication-rules.md).

phpIPAM stores ``hostname`` exactly as typed (or as a resolver answered), so it can
hold anything. These functions turn it into the one form pphook uses everywhere
(lowercase ASCII, no trailing dot) and say precisely what is wrong when a name can
never be published.
"""

from __future__ import annotations

import re

from validators.text import ASCII_LOWERCASE_TABLE, ASCII_WHITESPACE, describe_char, quote

MAX_NAME_LENGTH = 253
MAX_LABEL_LENGTH = 63

# Fast path: characters and non-empty labels in one simple regex (bounded repeats such
# as {0,61} make the re engine several times slower); hyphen placement and label length
# are then plain string tests.
LDH_LABELS = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*")
LDH_UNDERSCORE_LABELS = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")

_ALLOWED_ASCII = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-._")


def normalise_hostname(raw: str | None) -> str | None:
    """The form every comparison uses; None when there is no name at all.

    Strips ASCII whitespace, lowercases ASCII letters only and drops one trailing dot.
    Whitespace-only and ``.`` count as empty. Only one dot is dropped on purpose:
    ``a.example.com..`` stays ``a.example.com.`` and is then rejected as invalid.
    """
    if raw is None:
        return None
    name = raw.strip(ASCII_WHITESPACE)
    if not name.isascii():
        name = name.translate(ASCII_LOWERCASE_TABLE)
    elif not name.islower():
        name = name.lower()
    # else: already lowercase, and the very string given is kept (no copy per row)
    if name.endswith("."):
        name = name[:-1]
    return name or None


def is_valid_hostname(name: str, *, allow_underscore: bool = False) -> bool:
    """True when a normalised name is publishable syntax (cheap; no reason built)."""
    pattern = LDH_UNDERSCORE_LABELS if allow_underscore else LDH_LABELS
    if len(name) > MAX_NAME_LENGTH or pattern.fullmatch(name) is None:
        return False
    if name[0] == "-" or name[-1] == "-" or ".-" in name or "-." in name:
        return False
    # A name no longer than a label cannot hold a label that is too long.
    return len(name) <= MAX_LABEL_LENGTH or all(
        len(label) <= MAX_LABEL_LENGTH for label in name.split(".")
    )


def hostname_problem(name: str, *, allow_underscore: bool = False) -> str | None:
    """What is wrong with a normalised name, as one line; None when it is valid.

    The first fault found is named, characters before structure, so the operator
    sees the cause rather than a consequence (a space also makes a label invalid).
    """
    if is_valid_hostname(name, allow_underscore=allow_underscore):
        return None
    return (
        _character_problem(name)
        or _empty_label_problem(name)
        or _label_problem(name, allow_underscore)
        or _length_problem(name)
        or f"{quote(name)} is not a valid host name"
    )


def _character_problem(name: str) -> str | None:
    for char in name:
        if not char.isascii():
            return (
                f"contains non-ASCII character {describe_char(char)}; "
                "write the name in punycode (xn--...)"
            )
    for char in name:
        if char in _ALLOWED_ASCII:
            continue
        if char == " ":
            return "contains a space"
        if not char.isprintable():
            return f"contains control character {describe_char(char)}"
        if char == "*":
            return "contains '*' (wildcards are never published)"
        return (
            f"contains {describe_char(char)} (only letters, digits, hyphens and dots are allowed)"
        )
    return None


def _empty_label_problem(name: str) -> str | None:
    if not name:
        return "is empty"
    if name.startswith("."):
        return "starts with a dot (empty label)"
    if name.endswith("."):
        return "ends with more than one dot (only one trailing dot is allowed)"
    if ".." in name:
        return "contains '..' (empty label)"
    return None


def _label_problem(name: str, allow_underscore: bool) -> str | None:
    for label in name.split("."):
        if len(label) > MAX_LABEL_LENGTH:
            return (
                f"label {quote(label, 20)} is {len(label)} characters long (max {MAX_LABEL_LENGTH})"
            )
        if "_" in label and not allow_underscore:
            return (
                f"label {quote(label)} contains '_' "
                "(underscores are not allowed unless policy.allow_underscore = true)"
            )
        if label.startswith("-"):
            return f"label {quote(label)} starts with a hyphen"
        if label.endswith("-"):
            return f"label {quote(label)} ends with a hyphen"
    return None


def _length_problem(name: str) -> str | None:
    if len(name) > MAX_NAME_LENGTH:
        return f"name is {len(name)} characters long (max {MAX_NAME_LENGTH})"
    return None
