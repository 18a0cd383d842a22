"""ansible-test units: poll_check's address and thumbprint rules."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.tentacle_ha.octopus.plugins.modules import poll_check


def test_thumbprints_compare_ignoring_spelling() -> None:
    assert poll_check.thumbprint_key("8e:2f 43") == "8E2F43"


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("https://node1:10943", ("https", "node1", 10943, "/")),
        ("https://node1", ("https", "node1", 443, "/")),
        (
            "wss://lb.example.com/OctopusComms",
            ("wss", "lb.example.com", 443, "/OctopusComms"),
        ),
    ],
)
def test_split(address: str, expected: tuple[str, str, int, str]) -> None:
    assert poll_check._split(address) == expected


def test_not_a_polling_address() -> None:
    assert poll_check.check_one("http://node1:10943", "", 1)["status"] == "dns_error"


def test_refused_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port just released.
    got = poll_check.check_one(f"https://127.0.0.1:{port}", "", 2)
    assert got["status"] == "refused"
