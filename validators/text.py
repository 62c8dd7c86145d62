"""Showing untrusted IPAM text inside a one-line reason.

Reasons end up in mails, logs and ``pphook explain``. Text from phpIPAM can hold
newlines, NUL, bidi overrides or thousands of characters, so it is never pasted raw:
anything not printable is written as ``U+XXXX`` and long text is cut.
"""

from __future__ import annotations

ASCII_WHITESPACE = " \t\n\r\x0b\x0c"  # space, TAB, LF, CR, VT, FF (docs/publication-rules.md)

# str.lower() would also fold non-ASCII letters (KELVIN SIGN -> 'k'); names holding
# non-ASCII must stay non-ASCII so they are rejected, hence a table for A-Z only.
ASCII_LOWERCASE_TABLE = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_DEFAULT_LIMIT = 40


def describe_char(char: str) -> str:
    """``'/'`` for printable ASCII, ``'é' (U+00E9)`` for other printable characters
    (look-alikes such as KELVIN SIGN 'K' must be identifiable), ``U+000A`` otherwise."""
    if char == "'":
        return '"\'"'
    if not char.isprintable():
        return f"U+{ord(char):04X}"
    if char.isascii():
        return f"'{char}'"
    return f"'{char}' (U+{ord(char):04X})"


def quote(text: str, limit: int = _DEFAULT_LIMIT) -> str:
    """``text`` in single quotes, safe for a one-line reason and at most ~``limit`` long."""
    shown = text if len(text) <= limit else text[:limit]
    safe = "".join(ch if ch.isprintable() else f"<U+{ord(ch):04X}>" for ch in shown)
    suffix = f"... ({len(text)} characters)" if len(text) > limit else ""
    return f"'{safe}'{suffix}"
