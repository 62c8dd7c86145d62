"""MAC normalisation and syntax (docs/publication-rules.md)."""

from __future__ import annotations

import pytest

from validators import format_mac, is_valid_mac, normalise_mac


@pytest.mark.parametrize(
    "raw",
    [
        "aa:bb:cc:dd:ee:ff",
        "AA-BB-CC-DD-EE-FF",
        "aabb.ccdd.eeff",
        "AABBCCDDEEFF",
        " aa:bb:cc:dd:ee:ff\t",
    ],
)
def test_every_usual_form_normalises_to_the_same_mac(raw: str) -> None:
    assert normalise_mac(raw) == "aabbccddeeff"
    assert is_valid_mac("aabbccddeeff")


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\r\n"])
def test_null_empty_and_blank_mean_no_mac(raw: str | None) -> None:
    assert normalise_mac(raw) is None


@pytest.mark.parametrize(
    "raw",
    [
        "zz:bb:cc:dd:ee:ff",
        "aa:bb:cc:dd:ee",
        "aa:bb:cc:dd:ee:ff:00",
        "aa bb cc dd ee ff",
        "::",
        "ａａ:bb:cc:dd:ee:ff",  # fullwidth letters are not hex digits
        "aa:bb:cc:dd:ee:f\x00",
    ],
)
def test_malformed(raw: str) -> None:
    normalised = normalise_mac(raw)
    assert normalised is not None
    assert not is_valid_mac(normalised)


def test_format_is_phpipam_colon_form() -> None:
    assert format_mac("aabbccddeeff") == "aa:bb:cc:dd:ee:ff"
