"""The http capability's address check: every IPv6 form that embeds an IPv4 address is judged by it.

Each refused form has a benign twin — the same form carrying a public IPv4 address — that stays
reachable, so the check refuses by what the address leads to, not by its shape.
"""

from __future__ import annotations

import ipaddress

import pytest

from automatos.sandbox.capabilities import embedded_ipv4, public_address

LOOPBACK_FORMS = [
    ("mapped", "::ffff:127.0.0.1"),
    ("mapped-hex", "::ffff:7f00:1"),
    ("compatible", "::7f00:1"),
    ("compatible-dotted", "::127.0.0.1"),
    ("siit", "::ffff:0:7f00:1"),
    ("nat64", "64:ff9b::7f00:1"),
    ("nat64-local-96", "64:ff9b:1::7f00:1"),
    ("nat64-local-48", "64:ff9b:1:7f00:1::"),  # RFC 6052 /48 layout: 127.0 in bits 48-63, 0.1 after the u-octet
    ("6to4", "2002:7f00:1::1"),
    ("teredo-client", "2001:0:808:808::80ff:fffe"),  # client 127.0.0.1 (inverted), public server 8.8.8.8
    ("teredo-server", "2001:0:7f00:1::f7f7:f7f7"),  # server 127.0.0.1, client 8.8.8.8
]

NON_PUBLIC_FORMS = [
    ("metadata-mapped", "::ffff:169.254.169.254"),
    ("metadata-nat64", "64:ff9b::a9fe:a9fe"),
    ("private-6to4", "2002:a00:1::"),
    ("private-compatible", "::10.0.0.1"),
    ("private-siit", "::ffff:0:c0a8:101"),
    ("cgnat-teredo", "2001:0:808:808::9bbf:fffe"),  # client 100.64.0.1
    ("unspecified-compatible", "::"),
    ("loopback", "::1"),
]

BENIGN_TWINS = [
    ("mapped", "::ffff:93.184.216.34"),
    ("compatible", "::5db8:d822"),
    ("siit", "::ffff:0:5db8:d822"),
    ("nat64", "64:ff9b::5db8:d822"),
    ("nat64-local", "64:ff9b:1:808:8:808:808:808"),  # 8.8.8.8 at every RFC 6052 position
    ("6to4", "2002:5db8:d822::1"),
    ("teredo", "2001:0:808:808::a247:27dd"),  # server 8.8.8.8, client 93.184.216.34
    ("native", "2606:2800:220:1:248:1893:25c8:1946"),
    ("native-google", "2001:4860:4860::8888"),
]


@pytest.mark.parametrize(("form", "address"), LOOPBACK_FORMS + NON_PUBLIC_FORMS, ids=lambda v: str(v))
def test_ipv6_forms_embedding_a_non_public_ipv4_are_refused(form: str, address: str) -> None:
    assert not public_address(address), (form, address)


@pytest.mark.parametrize(("form", "address"), BENIGN_TWINS, ids=lambda v: str(v))
def test_benign_twins_embedding_a_public_ipv4_stay_reachable(form: str, address: str) -> None:
    assert public_address(address), (form, address)


def test_teredo_client_is_the_inverted_low_32_bits() -> None:
    ip = ipaddress.IPv6Address("2001:0:808:808::a247:27dd")
    assert embedded_ipv4(ip) == [ipaddress.IPv4Address("8.8.8.8"), ipaddress.IPv4Address("93.184.216.34")]
    assert ip.teredo == (ipaddress.IPv4Address("8.8.8.8"), ipaddress.IPv4Address("93.184.216.34"))


def test_addresses_embedding_nothing_are_judged_as_ipv6() -> None:
    assert embedded_ipv4(ipaddress.IPv6Address("2606:2800:220:1::1")) is None
    assert not public_address("fe80::1%eth0") and not public_address("fc00::1")
