"""Action plugin of tentacle_ha.octopus.tentacle_info: facts, read on the controller.

Chooses the configs like ``tentacle_config`` (``path:`` or ``instance:``;
with neither, every instance in the target's instance index), reads each with
``ansible.builtin.slurp`` and describes it with the tentacle_ha library: the
Tentacle's own thumbprint, the trusted servers as ``tentacle-ha servers list
--json`` prints them, and the audit findings (against ``cluster:`` when
given). Never changes anything; never returns a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import Any

from ansible_collections.tentacle_ha.octopus.plugins.plugin_utils import target as _t
from tentacle_ha.cluster import load_cluster
from tentacle_ha.config import loads
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet.audit import audit_config

if TYPE_CHECKING:
    from tentacle_ha.cluster import Cluster

ARGUMENT_SPEC: dict[str, Any] = {**_t.SELECT_SPEC, "cluster": {"type": "path"}}


def describe(data: bytes, path: str, cluster: Cluster | None) -> dict[str, Any]:
    """One config's facts: thumbprint, trusted servers, findings (no secret)."""
    try:
        doc = loads(data, path=path)
    except TentacleHAError as exc:
        return {"path": path, "problem": str(exc), "findings": []}
    facts: dict[str, Any] = {
        "path": path,
        "thumbprint": doc.certificate_thumbprint,
        "findings": [f.to_dict() for f in audit_config(doc, cluster=cluster)],
    }
    try:
        facts["trusted_servers"] = doc.trusted_servers.to_list()
    except TentacleHAError as exc:
        facts["trusted_servers"] = None
        facts["problem"] = str(exc)
    return facts


class ActionModule(_t.TargetAction):
    """Read on the target, describe on the controller."""

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def act(
        self, args: dict[str, Any], target: _t.Target, result: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            cluster = load_cluster(args["cluster"]) if args.get("cluster") else None
            if args.get("path") or args.get("instance"):
                path, instance = target.select(args)
                chosen: list[tuple[str | None, str, str | None]] = [
                    (instance, path, None)
                ]
            else:
                chosen = [
                    (i.name, (i.config_path or "").strip(), i.problem)
                    for i in target.instances(args.get("machine_home"))
                ]
        except (_t.RefusedError, TentacleHAError) as exc:
            result.update(failed=True, msg=str(exc))
            return result
        except OSError as exc:  # the cluster file on the controller
            result.update(failed=True, msg=f"{exc.filename}: {exc.strerror}")
            return result
        tentacles = []
        for instance, path, problem in chosen:
            if problem is not None:
                facts: dict[str, Any] = {"path": path or None, "problem": problem}
            else:
                try:
                    facts = describe(target.slurp(path), path, cluster)
                except _t.RefusedError as exc:
                    facts = {"path": path, "problem": str(exc), "findings": []}
            facts["instance"] = instance
            tentacles.append(facts)
        result["tentacles"] = tentacles
        return result
