"""Hostname normalisation and syntax (docs/publication-rules.md)."""

from __future__ import annotations

import pytest

from validators import Policy, ZoneIndex, hostname_problem, is_valid_hostname, normalise_hostname
from validators.fqdn import FqdnResolver


@pytest.mark.parametrize(
    "raw",
    ["Host.Example.COM", "host.example.com.", " host.example.com ", "\thost.example.com.\r\n"],
)
def test_case_surrounding_whitespace_and_one_trailing_dot_do_not_matter(raw: str) -> None:
    assert normalise_hostname(raw) == "host.example.com"


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n\r\x0b\x0c", ".", " . "])
def test_null_blank_and_lone_dot_are_no_hostname(raw: str | None) -> None:
    assert normalise_hostname(raw) is None


def test_only_one_trailing_dot_is_dropped() -> None:
    assert normalise_hostname("a.example.com..") == "a.example.com."
    assert hostname_problem("a.example.com.") == (
        "ends with more than one dot (only one trailing dot is allowed)"
    )


def test_only_ascii_whitespace_is_stripped() -> None:
    # NO-BREAK SPACE is not ASCII whitespace: it stays, and the name is then invalid.
    name = normalise_hostname("\u00a0host.example.com")
    assert name == "\u00a0host.example.com"
    assert hostname_problem(name) is not None


def test_lowercasing_is_ascii_only() -> None:
    # KELVIN SIGN lowercases to ASCII 'k' in Unicode; it must not turn into a valid name.
    name = normalise_hostname("\u212aelvin.example.com")
    assert name == "\u212aelvin.example.com"
    assert hostname_problem(name) == (
        "contains non-ASCII character '\u212a' (U+212A); write the name in punycode (xn--...)"
    )


@pytest.mark.parametrize(
    "name",
    [
        "host.example.com",
        "example.com",
        "a",
        "123.example.com",  # all-numeric labels are valid
        "1.2.3.4",
        "xn--bcher-kva.example.com",  # punycode is plain LDH
        "a-b--c.example.com",
        "a" * 63 + ".example.com",
        ".".join(["a" * 63] * 3 + ["b" * 61]),  # exactly 253 characters
    ],
)
def test_valid_names(name: str) -> None:
    assert hostname_problem(name) is None
    assert is_valid_hostname(name)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        (
            "web_1.example.com",
            "label 'web_1' contains '_' "
            "(underscores are not allowed unless policy.allow_underscore = true)",
        ),
        (
            "café.example.com",
            "contains non-ASCII character 'é' (U+00E9); write the name in punycode (xn--...)",
        ),
        ("*.example.com", "contains '*' (wildcards are never published)"),
        ("a b.example.com", "contains a space"),
        ("a\x00b.example.com", "contains control character U+0000"),
        ("a\nb.example.com", "contains control character U+000A"),
        ("a..example.com", "contains '..' (empty label)"),
        (".a.example.com", "starts with a dot (empty label)"),
        ("-web.example.com", "label '-web' starts with a hyphen"),
        ("web-.example.com", "label 'web-' ends with a hyphen"),
        ("web/1.example.com", "contains '/' (only letters, digits, hyphens and dots are allowed)"),
        (
            "o'hara.example.com",
            'contains "\'" (only letters, digits, hyphens and dots are allowed)',
        ),
        (
            "a" * 64 + ".example.com",
            "label 'aaaaaaaaaaaaaaaaaaaa'... (64 characters) is 64 characters long (max 63)",
        ),
        (".".join(["a" * 63] * 4), "name is 255 characters long (max 253)"),
    ],
)
def test_invalid_names_name_the_fault(name: str, reason: str) -> None:
    assert not is_valid_hostname(name)
    assert hostname_problem(name) == reason


def test_underscore_allowed_by_policy() -> None:
    assert hostname_problem("_sip._tcp.example.com", allow_underscore=True) is None
    assert hostname_problem("web_1.example.com", allow_underscore=True) is None
    # Other rules still hold.
    assert hostname_problem("-_x.example.com", allow_underscore=True) is not None


def test_non_ascii_reported_before_other_faults() -> None:
    # The punycode hint is what the operator needs, even if the label is also too long.
    problem = hostname_problem("é" * 70 + ".example.com")
    assert problem is not None and "punycode" in problem


def test_reason_never_spans_lines_or_echoes_control_characters() -> None:
    for name in ["a\u2028b.example.com", "a\rb.example.com", "\u202eevil.example.com"]:
        problem = hostname_problem(name)
        assert problem is not None
        assert problem.isprintable(), problem


def test_reason_for_a_huge_label_is_short() -> None:
    problem = hostname_problem("a" * 1000)
    assert problem is not None
    assert len(problem) < 120


class TestZoneIndex:
    def test_label_boundary(self) -> None:
        zones = ZoneIndex(("example.com",))
        assert zones.find("host.example.com") == "example.com"
        assert zones.find("xbadexample.com") is None
        assert zones.find("host.xbadexample.com") is None

    def test_apex_is_in_its_zone(self) -> None:
        assert ZoneIndex(("example.com",)).find("example.com") == "example.com"

    def test_longest_zone_wins(self) -> None:
        zones = ZoneIndex(("example.com", "lab.example.com"))
        assert zones.find("a.lab.example.com") == "lab.example.com"
        assert zones.find("a.b.lab.example.com") == "lab.example.com"
        assert zones.find("a.example.com") == "example.com"
        # Same parent asked twice: the cached answer must be the same.
        assert zones.find("b.lab.example.com") == "lab.example.com"

    def test_policy_zone_names_are_normalised(self) -> None:
        resolver = FqdnResolver(Policy(forward_zones=("Example.COM.",)))
        assert resolver.resolve("a.example.com") == "a.example.com"
