"""The check wing: are the registration and poll paths of a Tentacle open?

`run_checks` and its targets and results (``_checks``), the TCP/TLS/Halibut
poll probe (``_probe``), the HTTP GET for the API and node pings
(``_httpget``), CONNECT proxies and TLS upgrades (``_proxy``) and outcome
classes (``_outcome``); `tentacle_ha.check.targets` builds the targets from a
config and a cluster and renders the report for the CLI.

May import: `tentacle_ha.config`, `tentacle_ha.cluster`, `tentacle_ha.servers`,
`tentacle_ha.errors` and `tentacle_ha._secret`.
"""

from tentacle_ha.check._checks import DEFAULT_CONCURRENCY
from tentacle_ha.check._checks import DEFAULT_TIMEOUT
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

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT",
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
    "run_checks",
    "run_checks_sync",
    "thumbprint",
]
