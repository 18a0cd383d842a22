"""Private: what one check concludes, and how a check stops early with it.

`CheckStatus` names the outcome classes (`tentacle_ha.check` re-exports it);
an `Outcome` is a status and its reason before timing and target details are
added; `Stop` ends a check early with one; `timed` runs a check under its
timeout; `connect_failure` classes a failed TCP connect. Shared by the poll
probe (`tentacle_ha.check._probe`), the HTTP checks (`tentacle_ha.check._httpget`) and
`tentacle_ha.check`, which turns outcomes into `CheckResult` values.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import time
from typing import TYPE_CHECKING
from typing import Final

import attrs

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from collections.abc import Callable

__all__ = [
    "WARNING_STATUSES",
    "CheckStatus",
    "Outcome",
    "Stop",
    "connect_failure",
    "timed",
]


class CheckStatus(enum.StrEnum):
    """The class of a check's outcome.

    ``ok`` passed; ``draining`` is a warning (a failure in strict mode); every
    other value is a failure. ``not_trusted``: a node the cluster says the
    Tentacle must poll is missing from its trusted servers (``check
    --cluster``). ``closed_by_peer``: the far end accepted TCP, then closed or
    reset it before answering the TLS handshake (typically a load balancer
    whose node behind it is down). ``unsupported_server``: the server's version
    is too old for the cluster's layout.

    Server-side drift (``check --cluster`` with an API key): the server lists
    a node the cluster file lacks (``server_node_missing``, a failure; every
    Tentacle misses it), or lists it offline (``server_node_offline``, a
    warning); the file lists a node the server does not
    (``server_node_unknown``, a warning); the Tentacle does not trust the
    server's current certificate (``server_thumbprint_changed``, a failure);
    the cluster file's thumbprint is not the server's current certificate
    (``cluster_thumbprint_stale``, a failure). ``skipped``: a check that
    could not run (e.g. no API key), a warning.

    .. versionadded:: 0.1.0
    """

    OK = "ok"
    DNS_ERROR = "dns_error"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    TLS_ERROR = "tls_error"
    THUMBPRINT_MISMATCH = "thumbprint_mismatch"
    NOT_HALIBUT = "not_halibut"
    HTTP_ERROR = "http_error"
    DRAINING = "draining"
    DOWN = "down"
    PROXY_ERROR = "proxy_error"
    NOT_TRUSTED = "not_trusted"
    CLOSED_BY_PEER = "closed_by_peer"
    UNSUPPORTED_SERVER = "unsupported_server"
    SERVER_NODE_MISSING = "server_node_missing"
    SERVER_NODE_OFFLINE = "server_node_offline"
    SERVER_NODE_UNKNOWN = "server_node_unknown"
    SERVER_THUMBPRINT_CHANGED = "server_thumbprint_changed"
    CLUSTER_THUMBPRINT_STALE = "cluster_thumbprint_stale"
    SKIPPED = "skipped"


#: Statuses that are warnings, never failures (``draining`` is one unless strict).
WARNING_STATUSES: Final = frozenset(
    {
        CheckStatus.SERVER_NODE_OFFLINE,
        CheckStatus.SERVER_NODE_UNKNOWN,
        CheckStatus.SKIPPED,
    }
)


@attrs.frozen
class Outcome:
    """What one check found, before timing and target details are added."""

    status: CheckStatus
    reason: str
    http_status: int | None = None


class Stop(Exception):  # noqa: N818  (control flow inside one check, never escapes)
    """Ends a check early with its outcome."""

    def __init__(
        self, status: CheckStatus, reason: str, http_status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.outcome = Outcome(status, reason, http_status)


async def timed(
    seconds: float,
    work: Callable[[], Awaitable[Outcome]],
    stage: Callable[[], str],
) -> tuple[Outcome, float]:
    """Run ``work`` for at most ``seconds``; a `Stop` or the timeout is the outcome."""
    started = time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            outcome = await work()
    except Stop as stop:
        outcome = stop.outcome
    except TimeoutError:
        reason = f"no answer within {seconds:g}s during {stage()}"
        outcome = Outcome(CheckStatus.TIMEOUT, reason)
    return outcome, time.perf_counter() - started


def connect_failure(exc: OSError, what: str) -> Stop:
    """The `Stop` for a failed connect to ``what``: refused, reset, timeout, ..."""
    if isinstance(exc, ConnectionRefusedError):
        return Stop(CheckStatus.REFUSED, f"{what}: connection refused")
    if isinstance(exc, ConnectionResetError):
        # The port accepted (a listener or a load balancer), then reset at once.
        reason = (
            f"{what}: accepted the connection, then reset it at once: typically "
            "a load balancer whose node behind it does not answer"
        )
        return Stop(CheckStatus.CLOSED_BY_PEER, reason)
    if isinstance(exc, TimeoutError):
        return Stop(CheckStatus.TIMEOUT, f"{what}: connect timed out")
    name = errno.errorcode.get(exc.errno or 0, "error")
    return Stop(CheckStatus.UNREACHABLE, f"{what}: {name}: {exc.strerror or exc}")
