"""The check wing: are the registration and poll paths of a Tentacle open?

`run_checks` and its targets and results (``_checks``), the TCP/TLS/Halibut
poll probe (``_probe``), the HTTP GET for the API and node pings
(``_httpget``), CONNECT proxies and TLS upgrades (``_proxy``) and outcome
classes (``_outcome``); `tentacle_ha.check.targets` builds the targets from a
config and a cluster and renders the report for the CLI. `read_server`
(``_server``) reads the cluster as the server API describes it, and
`tentacle_ha.check.drift` turns that into ``cluster init``'s draft and the
server-side drift rows.

May import: `tentacle_ha.config`, `tentacle_ha.cluster`, `tentacle_ha.servers`,
`tentacle_ha.errors` and `tentacle_ha._secret`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tentacle_ha import _lazy

if TYPE_CHECKING:
    from tentacle_ha.check._checks import WARNING_STATUSES
    from tentacle_ha.check._checks import ApiTarget
    from tentacle_ha.check._checks import CheckKind
    from tentacle_ha.check._checks import CheckReport
    from tentacle_ha.check._checks import CheckResult
    from tentacle_ha.check._checks import CheckStatus
    from tentacle_ha.check._checks import CheckTarget
    from tentacle_ha.check._checks import HttpProxy
    from tentacle_ha.check._checks import NodeTarget
    from tentacle_ha.check._checks import PollTarget
    from tentacle_ha.check._checks import check_api
    from tentacle_ha.check._checks import check_node
    from tentacle_ha.check._checks import check_poll
    from tentacle_ha.check._checks import run_checks
    from tentacle_ha.check._checks import run_checks_sync
    from tentacle_ha.check._checks import thumbprint
    from tentacle_ha.check._limits import DEFAULT_CONCURRENCY
    from tentacle_ha.check._limits import DEFAULT_TIMEOUT
    from tentacle_ha.check._server import read_server
    from tentacle_ha.check._server import read_server_sync

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "WARNING_STATUSES",
    "ApiTarget",
    "CheckKind",
    "CheckReport",
    "CheckResult",
    "CheckStatus",
    "CheckTarget",
    "HttpProxy",
    "NodeTarget",
    "PollTarget",
    "check_api",
    "check_node",
    "check_poll",
    "read_server",
    "read_server_sync",
    "run_checks",
    "run_checks_sync",
    "thumbprint",
]

_LAZY = {
    "DEFAULT_CONCURRENCY": "tentacle_ha.check._limits:DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT": "tentacle_ha.check._limits:DEFAULT_TIMEOUT",
    "WARNING_STATUSES": "tentacle_ha.check._checks:WARNING_STATUSES",
    "ApiTarget": "tentacle_ha.check._checks:ApiTarget",
    "CheckKind": "tentacle_ha.check._checks:CheckKind",
    "CheckReport": "tentacle_ha.check._checks:CheckReport",
    "CheckResult": "tentacle_ha.check._checks:CheckResult",
    "CheckStatus": "tentacle_ha.check._checks:CheckStatus",
    "CheckTarget": "tentacle_ha.check._checks:CheckTarget",
    "HttpProxy": "tentacle_ha.check._checks:HttpProxy",
    "NodeTarget": "tentacle_ha.check._checks:NodeTarget",
    "PollTarget": "tentacle_ha.check._checks:PollTarget",
    "check_api": "tentacle_ha.check._checks:check_api",
    "check_node": "tentacle_ha.check._checks:check_node",
    "check_poll": "tentacle_ha.check._checks:check_poll",
    "read_server": "tentacle_ha.check._server:read_server",
    "read_server_sync": "tentacle_ha.check._server:read_server_sync",
    "run_checks": "tentacle_ha.check._checks:run_checks",
    "run_checks_sync": "tentacle_ha.check._checks:run_checks_sync",
    "thumbprint": "tentacle_ha.check._checks:thumbprint",
}

if not TYPE_CHECKING:  # type checkers see the imports above instead
    __getattr__, __dir__ = _lazy.exports(globals(), _LAZY)
