"""Private: server-side drift as check rows (`drift_rows`, `skipped_row`).

`tentacle_ha.cluster.server_drift` finds the differences between what the
server API says and the cluster file and the Tentacle's trusted thumbprints;
this module makes each a `CheckResult` of kind ``server_drift`` for ``check
--cluster`` (`tentacle_ha.check.targets`); `tentacle_ha.check.drift`
re-exports them.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

from tentacle_ha.check._checks import CheckKind
from tentacle_ha.check._checks import CheckResult
from tentacle_ha.check._checks import CheckStatus
from tentacle_ha.check._checks import _strip_userinfo
from tentacle_ha.cluster import DriftCode
from tentacle_ha.cluster import server_drift

if TYPE_CHECKING:
    from collections.abc import Iterable

    from tentacle_ha.cluster import Cluster
    from tentacle_ha.cluster import Drift
    from tentacle_ha.cluster import ServerState

__all__ = ["drift_rows", "rotation_fix", "skipped_row"]


def rotation_fix(drift: Drift, config: str | None) -> str:
    """The staged rotation that moves a Tentacle to the server's new certificate.

    A stale cluster file has its own row (``cluster_thumbprint_stale``) with
    its own fix, so this one is about the Tentacle only.

    .. versionadded:: 0.1.0
    """
    where = shlex.quote(config) if config else "CONFIG"
    return (
        f"tentacle-ha servers rotate {where} --old {drift.old_thumbprint} "
        f"--new {drift.new_thumbprint} --staged"
    )


def drift_rows(
    state: ServerState,
    cluster: Cluster,
    trusted: Iterable[str] = (),
    *,
    config: str | None = None,
) -> list[CheckResult]:
    """One row per difference `tentacle_ha.cluster.server_drift` finds, or one ``ok``.

    Args:
        state: what the server said.
        cluster: the cluster file.
        trusted: the thumbprints the Tentacle's polling entries trust.
        config: the Tentacle.config path, for the fix of a changed certificate.

    .. versionadded:: 0.1.0
    """
    trusted = tuple(trusted)
    found = server_drift(state, cluster, trusted)
    target = state.server_url
    if not found:
        # No drift: the certificate is the cluster's, and the trusted one
        # too when the Tentacle trusts any (server_drift compares them).
        whose = "the trusted one" if trusted else "the cluster file's"
        return [
            CheckResult(
                target=target,
                kind=CheckKind.SERVER_DRIFT,
                status=CheckStatus.OK,
                reason=f"the server lists the cluster file's {len(state.nodes)} "
                f"node(s); its certificate is {whose}",
                elapsed=0.0,
                name="server",
                expected_thumbprint=state.thumbprint,
            )
        ]
    rows = []
    for drift in found:
        reason = drift.message
        if drift.code is DriftCode.THUMBPRINT_CHANGED:
            reason += f"; fix: {rotation_fix(drift, config)}"
        rows.append(
            CheckResult(
                target=target,
                kind=CheckKind.SERVER_DRIFT,
                status=CheckStatus(str(drift.code)),
                reason=reason,
                elapsed=0.0,
                name=drift.node or "server",
                expected_thumbprint=drift.old_thumbprint,
                presented_thumbprint=drift.new_thumbprint,
            )
        )
    return rows


def skipped_row(server: str, why: str) -> CheckResult:
    """The one row saying the server-side drift check did not run, and why.

    .. versionadded:: 0.1.0
    """
    return CheckResult(
        target=_strip_userinfo(server),
        kind=CheckKind.SERVER_DRIFT,
        status=CheckStatus.SKIPPED,
        reason=f"server-side drift not checked: {why}",
        elapsed=0.0,
        name="server",
    )
