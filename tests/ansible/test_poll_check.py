"""poll_check (stdlib, runs on the target) against the loopback fakes.

Each comms mode of a `FakeOctopusNode` gets the result class that
``tentacle-ha check`` (`tentacle_ha.check.check_poll`) gives the same path;
the library's answer is computed in the same test, never hard-coded.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest
from helpers.collection import load_plugin

from tentacle_ha.check import PollTarget
from tentacle_ha.check import check_poll
from tentacle_ha.testing import CommsMode
from tentacle_ha.testing import FakeOctopusNode

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

poll_check = load_plugin("modules", "poll_check")

TIMEOUT = 1.5


def _library(address: str, thumbprint: str) -> str:
    result = asyncio.run(
        check_poll(PollTarget(address=address, thumbprint=thumbprint), timeout=TIMEOUT)
    )
    return str(result.status)


@pytest.fixture(scope="module")
def node() -> Iterator[FakeOctopusNode]:
    with FakeOctopusNode("Node1") as running:
        yield running


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (CommsMode.HALIBUT, "ok"),
        (CommsMode.OTHER_CERTIFICATE, "thumbprint_mismatch"),
        (CommsMode.REFUSE, "refused"),
        (CommsMode.STALL, "timeout"),
        (CommsMode.NOT_HALIBUT, "not_halibut"),
        (CommsMode.PLAIN_TCP, "tls_error"),
    ],
)
def test_same_class_as_tentacle_ha_check(
    node: FakeOctopusNode, mode: CommsMode, expected: str
) -> None:
    node.comms_mode = mode
    try:
        got = poll_check.check_one(node.comms_address, node.thumbprint, TIMEOUT)
        assert got["status"] == _library(node.comms_address, node.thumbprint)
        assert got["status"] == expected, got
    finally:
        node.comms_mode = CommsMode.HALIBUT


def test_wrong_trusted_thumbprint(node: FakeOctopusNode) -> None:
    wrong = "0" * 40
    got = poll_check.check_one(node.comms_address, wrong, TIMEOUT)
    assert got["status"] == "thumbprint_mismatch"
    assert got["presented_thumbprint"] == node.thumbprint
    # Negative control: the right thumbprint, in another spelling, is ok.
    spaced = " ".join(node.thumbprint[i : i + 2] for i in range(0, 40, 2)).lower()
    assert poll_check.check_one(node.comms_address, spaced, TIMEOUT)["status"] == "ok"


def test_only_polling_entries_are_checked(node: FakeOctopusNode) -> None:
    servers = [
        {"Thumbprint": node.thumbprint, "CommunicationStyle": 1, "Address": None},
        {
            "Thumbprint": node.thumbprint,
            "CommunicationStyle": 2,
            "Address": node.comms_address,
        },
    ]
    results = poll_check.check_all(servers, TIMEOUT)
    assert [r["address"] for r in results] == [node.comms_address]
    assert results[0]["status"] == "ok"


def test_unresolvable_host() -> None:
    got = poll_check.check_one("https://no-such-host.invalid:10943", "0" * 40, TIMEOUT)
    assert got["status"] == _library("https://no-such-host.invalid:10943", "0" * 40)
    assert got["status"] == "dns_error"
