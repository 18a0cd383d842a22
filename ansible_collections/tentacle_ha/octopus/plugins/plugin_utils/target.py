"""Controller-side helpers of tentacle_ha.octopus: the target, as an action sees it.

`Target` wraps an action plugin's connection: whether the target is Windows
(the connection's shell family is ``powershell``), reading a file with
``ansible.builtin.slurp`` (which also works over WinRM), listing the
Tentacle instance index (``ansible.builtin.find`` / ``ansible.windows.win_find``)
and choosing the config a task names by ``path:`` or ``instance:``, the way
``tentacle-ha fleet --instances`` does on its own machine.
"""

from __future__ import annotations

import base64
import binascii
import ntpath
import posixpath
from typing import Any

from ansible.plugins.action import ActionBase

from tentacle_ha.fleet import discover

DEFAULT_INSTANCE = "Tentacle"

SELECT_SPEC: dict[str, Any] = {
    "path": {"type": "str"},
    "instance": {"type": "str"},
    "machine_home": {"type": "str"},
}
"""The options every tentacle_ha.octopus task chooses its config with."""


class RefusedError(Exception):
    """A task failure with a one-line message (nothing written)."""


class Target:
    """The target host of one task, through the action plugin's connection."""

    def __init__(self, action: ActionBase, task_vars: dict[str, Any]) -> None:
        self._action = action
        self.task_vars = task_vars
        shell = getattr(action._connection, "_shell", None)  # noqa: SLF001 -- the documented way to learn the shell family
        self.windows = getattr(shell, "SHELL_FAMILY", "") == "powershell"

    @property
    def platform(self) -> discover.Platform:
        return "windows" if self.windows else "linux"

    def run(self, module: str, args: dict[str, Any]) -> dict[str, Any]:
        """Run *module* on the target; its result."""
        result: dict[str, Any] = self._action._execute_module(  # noqa: SLF001 -- ActionBase's API for subclasses
            module_name=module, module_args=args, task_vars=self.task_vars
        )
        return result

    def join(self, folder: str, name: str) -> str:
        return str((ntpath if self.windows else posixpath).join(folder, name))

    def check_absolute(self, path: str) -> None:
        absolute = ntpath.isabs(path) if self.windows else path.startswith("/")
        if not absolute:
            msg = f"{path}: path must be absolute"
            raise RefusedError(msg)

    def slurp(self, path: str, *, what: str = "cannot read") -> bytes:
        """The bytes of *path* on the target (`RefusedError` if unreadable)."""
        got = self.run("ansible.builtin.slurp", {"src": path})
        if got.get("failed"):
            raise RefusedError(f"{path}: {what}: {got.get('msg', 'slurp failed')}")
        try:
            return base64.b64decode(got["content"], validate=True)
        except (KeyError, TypeError, binascii.Error) as exc:
            msg = f"{path}: slurp returned no readable content"
            raise RefusedError(msg) from exc

    # -- the instance index ----------------------------------------------------

    def instances_folder(self, machine_home: str | None) -> str:
        home = machine_home or discover.default_machine_home(
            platform=self.platform, environ={}
        )
        return self.join(self.join(home, "Tentacle"), "Instances")

    def instances(self, machine_home: str | None) -> list[discover.Instance]:
        """Every instance in the target's index, sorted by index file name."""
        folder = self.instances_folder(machine_home)
        module = "ansible.windows.win_find" if self.windows else "ansible.builtin.find"
        found = self.run(
            module, {"paths": folder, "patterns": "*.config", "file_type": "file"}
        )
        if found.get("failed"):
            msg = f"{folder}: cannot list the instance index: {found.get('msg')}"
            raise RefusedError(msg)
        names = sorted(str(f["path"]) for f in found.get("files", []))
        return [self._index(name) for name in names]

    def _index(self, index: str) -> discover.Instance:
        got = self.run("ansible.builtin.slurp", {"src": index})
        if got.get("failed"):
            return discover.parse_instance_index(
                None, index, platform=self.platform, unreadable=str(got.get("msg"))
            )
        return discover.parse_instance_index(
            base64.b64decode(str(got.get("content", ""))),
            index,
            platform=self.platform,
        )

    def instance_config(self, name: str, machine_home: str | None) -> str:
        """The ConfigurationFilePath of instance *name* (matched as Tentacle does)."""
        folder = self.instances_folder(machine_home)
        direct = self.join(folder, discover.instance_index_name(name))
        try:
            raw = self.slurp(direct)
        except RefusedError:
            chosen = discover.pick_instance(self.instances(machine_home), name)
        else:
            one = discover.parse_instance_index(raw, direct, platform=self.platform)
            chosen = discover.pick_instance([one], name) or discover.pick_instance(
                self.instances(machine_home), name
            )
        if chosen is None:
            msg = f"{folder}: no Tentacle instance {name!r} in the instance index"
            raise RefusedError(msg)
        if chosen.problem is not None or chosen.config_path is None:
            raise RefusedError(f"{chosen.index_path}: {chosen.problem}")
        return chosen.config_path.strip()

    def select(self, args: dict[str, Any]) -> tuple[str, str | None]:
        """The config a task names: (path, instance or None)."""
        if args.get("path") and args.get("instance"):
            msg = "give path or instance, not both"
            raise RefusedError(msg)
        path = args.get("path")
        if path:
            self.check_absolute(path)
            return path, None
        name = args.get("instance") or DEFAULT_INSTANCE
        return self.instance_config(name, args.get("machine_home")), name


class TargetAction(ActionBase):  # type: ignore[misc]  # ansible-core ships no type information
    """An action of this collection: validated options, a `Target`, a result.

    Subclasses set `ARGUMENT_SPEC` and implement `act`.
    """

    TRANSFERS_FILES = False
    _requires_connection = True
    ARGUMENT_SPEC: dict[str, Any] = SELECT_SPEC

    def run(
        self, tmp: str | None = None, task_vars: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        task_vars = task_vars or {}
        result: dict[str, Any] = super().run(tmp, task_vars)
        del tmp  # unused since Ansible 2.5
        _validated, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        result["changed"] = False
        return self.act(args, Target(self, task_vars), result)

    def act(
        self, args: dict[str, Any], target: Target, result: dict[str, Any]
    ) -> dict[str, Any]:
        """Do the task; return *result*, updated."""
        raise NotImplementedError
