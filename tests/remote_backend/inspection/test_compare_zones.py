"""`pphook compare` without servers: how two zones are compared, and --server."""

from __future__ import annotations

import dns.zone
import pytest

from remote_backend.errors import TransferError
from remote_backend.inspection.compare import compare_zones
from remote_backend.inspection.transfer import Server, parse_server

OURS = """
$ORIGIN example.com.
@ 300 IN SOA ns1.example.com. hostmaster.example.com. 1700000000 10800 3600 1209600 3600
@ 300 IN NS ns1.example.com.
www 300 IN A 10.0.0.1
www 300 IN A 10.0.0.2
"""


def zone(text: str) -> dns.zone.Zone:
    return dns.zone.from_text(text, origin="example.com.", relativize=False)


def test_case_spelling_order_and_the_serial_do_not_count() -> None:
    theirs = zone(
        """
$ORIGIN EXAMPLE.com.
@ 300 IN SOA NS1.example.COM. Hostmaster.Example.com. 7 10800 3600 1209600 3600
WWW 300 IN A 10.0.0.2
www.example.com. 300 IN A 10.0.0.1
@ 300 IN NS ns1
"""
    )
    result = compare_zones("example.com", zone(OURS), theirs)
    assert result.equal and result.their_serial == 7 and result.our_serial == 1700000000


def test_a_record_more_or_less_in_a_set_is_a_change_of_that_set() -> None:
    theirs = zone(OURS.replace("www 300 IN A 10.0.0.2\n", ""))
    (difference,) = compare_zones("example.com", zone(OURS), theirs).differences
    assert (difference.kind, difference.owner, difference.rdtype) == (
        "change",
        "www.example.com",
        "A",
    )


def test_signed_zones_are_one_difference_not_one_per_signature() -> None:
    theirs = zone(OURS + "@ 300 IN DNSKEY 257 3 13 " + "A" * 88 + "\n")
    result = compare_zones("example.com", zone(OURS), theirs)
    assert result.differences == () and not result.equal
    assert (result.signing_records, result.signing_types) == (1, ("DNSKEY",))


@pytest.mark.parametrize(
    ("text", "server"),
    [
        ("192.0.2.53", Server("192.0.2.53", 53)),
        ("192.0.2.53:5353", Server("192.0.2.53", 5353)),
        ("ns1.example.com:53", Server("ns1.example.com", 53)),
        ("2001:db8::53", Server("2001:db8::53", 53)),
        ("[2001:db8::53]:5353", Server("2001:db8::53", 5353)),
    ],
)
def test_server_forms(text: str, server: Server) -> None:
    assert parse_server(text) == server


@pytest.mark.parametrize("text", ["192.0.2.53:", "192.0.2.53:99999", "[2001:db8::53", ":53"])
def test_bad_server_forms(text: str) -> None:
    with pytest.raises(TransferError):
        parse_server(text)
