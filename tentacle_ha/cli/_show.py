"""Private: ``show --effective`` and the restart-pending line of ``show``/``check``.

``show --effective [--env-file FILE]`` prints each setting as Tentacle
started in this environment would read it, with where it comes from
(`tentacle_ha.config.effective_config`): ``environment``, ``env-file
FILE:LINE`` or ``config PATH:LINE:COL``; the polling connections per node
by Tentacle's run-time rule; and, for one of this machine's instances on
Linux, whether the running agent started before the file last changed
(`tentacle_ha.fleet.running`). Loaded only for ``--effective`` and
``check``, so a plain ``show`` starts as before.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from tentacle_ha.cli._util import servers_or_error
from tentacle_ha.cli._util import shown
from tentacle_ha.config import CONTRIBUTE_FLAG
from tentacle_ha.config import effective_config
from tentacle_ha.config import load
from tentacle_ha.fleet.discover import discover_instances
from tentacle_ha.fleet.running import RunningAgents
from tentacle_ha.fleet.running import restart_pending
from tentacle_ha.servers import TRUSTED_SERVERS_KEY

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from tentacle_ha.cli._util import Out
    from tentacle_ha.config import EffectiveValue
    from tentacle_ha.fleet.findings import Finding
    from tentacle_ha.servers import TrustedServers

__all__ = ["cmd_show_effective", "restart_finding"]


def restart_finding(config: str) -> Finding | None:
    """``restart-pending`` / ``agent-not-running`` for *config*, when it is one
    of this machine's instances (or a running agent's ``--config``); None
    otherwise, and off Linux (no ``/proc``)."""
    if not Path("/proc/self/stat").exists():
        return None
    real = os.path.realpath(config)
    agents = RunningAgents()
    for instance in discover_instances():
        if instance.path is not None and os.path.realpath(instance.path) == real:
            return restart_pending(config, instance.name, agents)
    if agents.start_of(None, config) is None:
        return None  # not an instance here, and no agent runs it: nothing to say
    return restart_pending(config, None, agents)


def _origin(found: EffectiveValue) -> str:
    source = found.source
    text = str(source)
    if source.variable is not None:
        text += f" ({source.variable})"
    if found.overrides is not None:
        text += f", over {found.overrides}"
    return text


def cmd_show_effective(
    args: argparse.Namespace,
    io: Out,
    servers_table: Callable[[TrustedServers], list[str]],
) -> int:
    """``show CONFIG --effective [--env-file FILE] [--json]``."""
    doc = load(args.config)
    eff = effective_config(doc, env_file=args.env_file)
    reveal = args.reveal_secrets
    servers, servers_error = servers_or_error(lambda: eff.trusted_servers)
    count, count_source = eff.polling_connections
    restart = restart_finding(args.config)
    if args.json:
        payload: dict[str, Any] = {
            "path": doc.path,
            "effective": True,
            "contributes": eff.contributes,
            "env_file": None if eff.env_file is None else eff.env_file.path,
            "settings": {
                v.key: {
                    "value": shown(v.key, v.value, reveal=reveal),
                    **v.source.to_dict(),
                    "overrides": None if v.overrides is None else str(v.overrides),
                }
                for v in eff
            },
            "polling_connections": {"count": count, **count_source.to_dict()},
            "trusted_servers": servers.to_list() if servers is not None else None,
            "restart": None if restart is None else restart.to_dict(),
        }
        if servers_error:
            payload["trusted_servers_error"] = servers_error
        io.json(payload)
    else:
        env_file = "" if eff.env_file is None else f", .env {eff.env_file.path}"
        state = "true" if eff.contributes else "not true"
        io.out(f"{doc.name}  (effective: {CONTRIBUTE_FLAG} {state}{env_file})")
        rows = [
            (v.key, shown(v.key, v.value, reveal=reveal) or "", _origin(v))
            for v in eff
            if v.key.upper() != TRUSTED_SERVERS_KEY.upper()
        ]
        rows.append(("(polling connections per node)", str(count), str(count_source)))
        widths = [max(len(r[c]) for r in rows) for c in (0, 1)]
        for key, value, origin in rows:
            io.out(f"  {key.ljust(widths[0])}  {value.ljust(widths[1])}  {origin}")
        found = eff.get(TRUSTED_SERVERS_KEY)
        if servers is not None:
            origin = "" if found is None else f", from {_origin(found)}"
            io.out(f"Trusted servers ({len(servers)}{origin}):")
            for line in servers_table(servers):
                io.out("  " + line)
    if not eff.contributes:
        io.err(
            f"{doc.name}: {CONTRIBUTE_FLAG} is not true here, so Tentacle started "
            "in this environment reads the file alone (the environment and any "
            ".env do not count)"
        )
    if restart is not None:
        io.err(str(restart))
    if servers_error:
        io.err(servers_error)
        return 1
    return 0
