"""The options every tentacle_ha.octopus task chooses its Tentacle.config with."""

from __future__ import annotations


class ModuleDocFragment:
    """``extends_documentation_fragment: tentacle_ha.octopus.select``."""

    DOCUMENTATION = r"""
options:
  path:
    description:
      - Absolute path of the Tentacle.config on the target.
      - Mutually exclusive with O(instance).
    type: str
  instance:
    description:
      - A Tentacle instance name, looked up in the target's instance index
        (C(<machine_home>/Tentacle/Instances/<name>.config), whose
        C(ConfigurationFilePath) names the config), matched ignoring case as
        Tentacle does.
    type: str
  machine_home:
    description:
      - Tentacle's machine-wide home on the target, where the instance index is.
      - Default C(/etc/octopus) on Linux, C(C:\ProgramData\Octopus) on Windows.
    type: str
"""
