"""tentacle_ha.octopus.tentacle_info: documentation only.

Everything runs on the controller, in the action plugin of the same name
(``plugins/action/tentacle_info.py``); the target only answers
``ansible.builtin.slurp`` and ``find`` (``win_find`` on Windows).
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tentacle_info
short_description: Facts about the Tentacles on a host (trusted servers, audit)
version_added: "0.1.0"
description:
  - Reads the target's Tentacle.config files and describes each with the
    C(tentacle_ha) library on the controller, the Tentacle's own certificate
    thumbprint, its trusted servers as C(tentacle-ha servers list --json) prints
    them, and the audit findings of C(tentacle-ha fleet audit).
  - The configs are chosen like M(tentacle_ha.octopus.tentacle_config), by
    O(path) or O(instance); with neither, every instance in the target's
    instance index.
  - Never changes anything and never returns a secret value.
options:
  cluster:
    description: Path, on the controller, of a cluster file; the findings then
      also say which nodes are missing or extra.
    type: path
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
  platform:
    platforms: [posix, windows]
    support: full
    description: Windows only through ansible.windows.win_find for the listing;
      not run on Windows yet.
extends_documentation_fragment:
  - tentacle_ha.octopus.select
author:
  - tentacle_ha maintainers
"""

EXAMPLES = r"""
- name: Every Tentacle instance on the host, audited against the cluster
  tentacle_ha.octopus.tentacle_info:
    cluster: clusters/production.toml
  register: tentacles

- name: Show what the default instance trusts
  ansible.builtin.debug:
    var: tentacles.tentacles[0].trusted_servers
"""

RETURN = r"""
tentacles:
  description: One entry per config.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The config's path on the target.
      type: str
    instance:
      description: The instance name, when chosen through the instance index.
      type: str
    thumbprint:
      description: The Tentacle's own certificate thumbprint.
      type: str
    trusted_servers:
      description: As C(tentacle-ha servers list --json) prints them.
      type: list
      elements: dict
    findings:
      description: Audit findings (severity, code, path, line, col, message).
      type: list
      elements: dict
    problem:
      description: Why the config (or its index file) could not be read, if so.
      type: str
"""
