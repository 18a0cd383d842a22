"""Inventory plugin tentacle_ha.octopus.cluster: a cluster file's Tentacles as hosts."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: cluster
short_description: The Tentacles of a tentacle_ha cluster file as hosts
version_added: "0.1.0"
description:
  - Reads the C([[tentacles]]) of a tentacle_ha cluster description (TOML) with
    the C(tentacle_ha) library; each named Tentacle becomes a host in the group
    C(tentacles), in a group for its OS (C(linux), C(windows)), and in one group
    per environment (C(environment_<name>)) and role (C(role_<name>)), names
    made safe for Ansible.
  - Each host gets C(converge_cluster) (the cluster file), C(converge_instance),
    C(converge_path) (its C(config_path), when given), and C(tentacle_os),
    C(tentacle_environments), C(tentacle_roles); connection details come from
    your other inventory sources or group_vars.
  - Tentacles without a C(name) are skipped with a warning.
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [tentacle_ha.octopus.cluster]
  cluster:
    description: The cluster file; relative paths are relative to the inventory file.
    type: str
    required: true
author:
  - tentacle_ha maintainers
"""

EXAMPLES = r"""
# inventory.cluster.yml
plugin: tentacle_ha.octopus.cluster
cluster: clusters/production.toml
"""

import os
import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

from tentacle_ha.cluster import load_cluster
from tentacle_ha.errors import TentacleHAError

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def group_name(prefix: str, value: str) -> str:
    """``prefix_value`` with every character Ansible refuses in a group as ``_``."""
    return f"{prefix}_{_UNSAFE.sub('_', value).strip('_').lower()}"


class InventoryModule(BaseInventoryPlugin):  # type: ignore[misc]  # ansible-core ships no type information
    """Hosts and groups from a cluster file."""

    NAME = "tentacle_ha.octopus.cluster"

    def verify_file(self, path: str) -> bool:
        return bool(super().verify_file(path)) and path.endswith((".yml", ".yaml"))

    def parse(
        self,
        inventory: object,
        loader: object,
        path: str,
        cache: bool = True,  # noqa: FBT001, FBT002 -- Ansible's signature
    ) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cluster_file = os.path.expanduser(str(self.get_option("cluster")))  # noqa: PTH111 -- plain paths, as Ansible
        if not os.path.isabs(cluster_file):  # noqa: PTH117 -- plain paths, as Ansible
            cluster_file = os.path.join(os.path.dirname(path), cluster_file)  # noqa: PTH118, PTH120 -- plain paths, as Ansible
        try:
            cluster = load_cluster(cluster_file)
        except (TentacleHAError, OSError) as exc:
            raise AnsibleParserError(str(exc)) from exc
        self.inventory.add_group("tentacles")
        for tentacle in cluster.tentacles:
            if not tentacle.name:
                self.display.warning(
                    f"{cluster_file}: a Tentacle without a name; skipped"
                )
                continue
            host = tentacle.name
            self.inventory.add_host(host, group="tentacles")
            groups = [str(tentacle.os)]
            groups += [group_name("environment", e) for e in tentacle.environments]
            groups += [group_name("role", r) for r in tentacle.roles]
            for group in groups:
                self.inventory.add_group(group)
                self.inventory.add_child(group, host)
            facts = {
                "converge_cluster": os.path.abspath(cluster_file),  # noqa: PTH100 -- plain paths, as Ansible
                "converge_instance": tentacle.instance,
                "tentacle_os": str(tentacle.os),
                "tentacle_environments": list(tentacle.environments),
                "tentacle_roles": list(tentacle.roles),
            }
            if tentacle.config_path:
                facts["converge_path"] = tentacle.config_path
            for key, value in facts.items():
                self.inventory.set_variable(host, key, value)
