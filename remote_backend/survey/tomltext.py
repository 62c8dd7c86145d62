"""TOML text for values that come from phpIPAM (section, tag and column names): any
text, quoted so that it parses back to itself and can sit in a comment line."""

from __future__ import annotations

_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(text: str) -> str:
    """A TOML basic string holding ``text``: quotes and backslashes escaped, control
    characters (which TOML forbids raw, in strings and in comments) as ``\\uXXXX``,
    lone surrogates (no Unicode scalar value: TOML cannot hold them) as U+FFFD."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_list(values: list[str]) -> str:
    """A one-line TOML array of strings."""
    return "[" + ", ".join(toml_string(v) for v in values) + "]"
