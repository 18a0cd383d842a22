"""Action plugin of tentacle_ha.octopus.tentacle_config: the edit, on the controller.

Reads the target's config with ``ansible.builtin.slurp`` (which also works
over WinRM), applies one edit with the tentacle_ha library's fleet edits
(`tentacle_ha.fleet.edits`, the same values and refusals as ``tentacle-ha
fleet``), renders the diff with secrets masked, and hands the new bytes with
the SHA-1 of the bytes it read to a writer on the target:

- POSIX targets: this collection's ``tentacle_config`` module (stdlib only),
  which re-reads under the library's lock and refuses a changed file;
- Windows targets (the connection's shell family is ``powershell``):
  ``ansible.windows.win_stat`` with ``checksum_algorithm: sha1`` re-checks
  the file, then ``ansible.windows.win_copy`` (through its action plugin, so
  the bytes travel as a file, not as text) writes it, with ``backup``.

Check mode writes nothing (the writer is not called at all).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from ansible_collections.tentacle_ha.octopus.plugins.plugin_utils import target as _t
from tentacle_ha import restart_required
from tentacle_ha.cluster import load_cluster
from tentacle_ha.commands.plan import restart_command
from tentacle_ha.config import loads
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet import edits

if TYPE_CHECKING:
    from collections.abc import Callable

    from tentacle_ha.config import TentacleConfig

CHANGED_SINCE_READ = "file changed on disk since it was read; nothing written"
WRITER = "tentacle_ha.octopus.tentacle_config"
WIN_STAT = "ansible.windows.win_stat"
WIN_COPY = "ansible.windows.win_copy"

EDIT_OPTIONS = (
    "sync",
    "add_node",
    "remove_node",
    "rotate",
    "keep",
    "settings",
    "polling_connection_count",
)

ARGUMENT_SPEC: dict[str, Any] = {
    **_t.SELECT_SPEC,
    "sync": {"type": "path"},
    "retire_thumbprint": {"type": "list", "elements": "str", "default": []},
    "add_node": {"type": "str"},
    "thumbprint": {"type": "str"},
    "remove_node": {"type": "str"},
    "rotate": {
        "type": "dict",
        "options": {
            "old": {"type": "str", "required": True},
            "new": {"type": "str", "required": True},
            "staged": {"type": "bool", "default": False},
        },
    },
    "keep": {"type": "list", "elements": "str"},
    "settings": {"type": "dict"},
    "new_key": {"type": "bool", "default": False},
    "polling_connection_count": {"type": "int"},
    "allow_empty": {"type": "bool", "default": False},
    "backup": {"type": "bool", "default": False},
    "lock_timeout": {"type": "float", "default": 60.0},
}


def _sync(args: dict[str, Any]) -> list[edits.Edit]:
    cluster = load_cluster(args["sync"])
    retire = tuple(args["retire_thumbprint"])
    return [edits.SyncToCluster(cluster, retire, allow_empty=args["allow_empty"])]


def _add_node(args: dict[str, Any]) -> list[edits.Edit]:
    if not args.get("thumbprint"):
        msg = "add_node needs thumbprint"
        raise _t.RefusedError(msg)
    return [edits.AddNode(args["thumbprint"], args["add_node"])]


def _remove_node(args: dict[str, Any]) -> list[edits.Edit]:
    return [edits.RemoveNode(args["remove_node"], allow_empty=args["allow_empty"])]


def _rotate(args: dict[str, Any]) -> list[edits.Edit]:
    rotate = args["rotate"]
    return [edits.Rotate(rotate["old"], rotate["new"], staged=rotate["staged"])]


def _keep(args: dict[str, Any]) -> list[edits.Edit]:
    return [edits.KeepOnly(tuple(args["keep"]), allow_empty=args["allow_empty"])]


def _count(args: dict[str, Any]) -> list[edits.Edit]:
    return [edits.SetPollingConnectionCount(args["polling_connection_count"])]


def _settings(args: dict[str, Any]) -> list[edits.Edit]:
    settings: dict[str, Any] = args["settings"]
    if not settings:
        msg = "settings is empty"
        raise _t.RefusedError(msg)
    allow_empty = bool(args["allow_empty"])
    result: list[edits.Edit] = []
    for key, value in settings.items():
        if value is None:
            result.append(edits.UnsetKey(str(key), allow_empty=allow_empty))
        else:  # SetKey refuses a key Tentacle does not know unless new_key
            result.append(
                edits.SetKey(
                    str(key),
                    _setting_text(value),
                    new_key=bool(args["new_key"]),
                    allow_empty=allow_empty,
                )
            )
    return result


_BUILDERS: dict[str, Callable[[dict[str, Any]], list[edits.Edit]]] = {
    "sync": _sync,
    "add_node": _add_node,
    "remove_node": _remove_node,
    "rotate": _rotate,
    "keep": _keep,
    "settings": _settings,
    "polling_connection_count": _count,
}


def _edits_for(args: dict[str, Any]) -> list[edits.Edit]:
    """The library edit(s) the task's options name (several only for settings)."""
    given = [name for name in EDIT_OPTIONS if args.get(name) is not None]
    if len(given) != 1:
        names = ", ".join(EDIT_OPTIONS)
        what = ", ".join(given) if given else "none"
        msg = f"give exactly one edit of {names} (got {what})"
        raise _t.RefusedError(msg)
    return _BUILDERS[given[0]](args)


def _setting_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"  # as Tentacle writes booleans
    return str(value)


def _edit(
    data: bytes, path: str, todo: list[edits.Edit]
) -> tuple[TentacleConfig, TentacleConfig, str | None]:
    """Apply *todo* to the bytes read; (before, after, skip reason)."""
    before = loads(data, path=path)
    doc = loads(data, path=path)
    for edit in todo:
        reason = edit.skip_reason(doc)
        if reason is not None:
            return before, doc, reason
        edit.apply(doc)
    return before, doc, None


class ActionModule(_t.TargetAction):
    """Edit on the controller, write on the target."""

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def act(
        self, args: dict[str, Any], target: _t.Target, result: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            todo = _edits_for(args)
            path, instance = target.select(args)
            result["path"] = path
            if instance is not None:
                result["instance"] = instance
            data = target.slurp(path)
            before, doc, skipped = _edit(data, path, todo)
        except (_t.RefusedError, TentacleHAError) as exc:
            return self._failed(result, str(exc))
        except OSError as exc:  # the cluster file on the controller
            return self._failed(result, f"{exc.filename}: {exc.strerror}")
        result["trusted_servers"] = doc.trusted_servers.to_list()
        result.update(restart_required=False, backup_file=None, diff={})
        if skipped is not None:
            result.update(skipped=True, msg=f"{path}: {skipped}; skipped")
            return result
        new = doc.dumps()
        changed = new != data
        restart = changed and restart_required(before, doc)
        result.update(
            changed=changed,
            restart_required=restart,
            restart_command=restart_command(doc, instance=instance)
            if restart
            else None,
        )
        if changed:
            result["diff"] = {"prepared": doc.diff()}  # secrets masked
        if not changed or self._task.check_mode:
            return result
        based_on = hashlib.sha1(data).hexdigest()  # noqa: S324 -- a content check, not a signature
        if target.windows:
            written = self._write_windows(target, path, new, based_on, args)
        else:
            written = target.run(
                WRITER,
                {
                    "path": path,
                    "new_content": base64.b64encode(new).decode("ascii"),
                    "based_on_sha1": based_on,
                    "backup": bool(args["backup"]),
                    "lock_timeout": float(args["lock_timeout"]),
                },
            )
        if written.get("failed"):
            return self._failed(result, str(written.get("msg", "the write failed")))
        result["changed"] = bool(written.get("changed", True))
        result["backup_file"] = written.get("backup_file")
        if written.get("warnings"):
            result["warnings"] = list(written["warnings"])
        return result

    def _failed(self, result: dict[str, Any], msg: str) -> dict[str, Any]:
        result.update(failed=True, changed=False, msg=msg)
        result.pop("diff", None)
        return result

    def _write_windows(
        self,
        target: _t.Target,
        path: str,
        new: bytes,
        based_on: str,
        args: dict[str, Any],
    ) -> dict[str, Any]:
        """win_stat (SHA-1) re-check, then win_copy of the new bytes as a file.

        Not run on Windows: pinned by unit tests against a fake connection.
        There is no lock between the two steps on Windows (a narrow window in
        which another writer's change would be overwritten); the check still
        catches every change made since the read.
        """
        stat = target.run(
            WIN_STAT,
            {"path": path, "get_checksum": True, "checksum_algorithm": "sha1"},
        )
        if stat.get("failed"):
            return {"failed": True, "msg": f"{path}: win_stat: {stat.get('msg')}"}
        found = stat.get("stat", {})
        if (
            not found.get("exists")
            or str(found.get("checksum", "")).lower() != based_on
        ):
            return {
                "failed": True,
                "msg": f"{path}: {CHANGED_SINCE_READ}",
            }
        fd, local = tempfile.mkstemp(prefix=".tentacle-ha-", suffix=".config")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(new)
            task = self._task.copy()
            task.args = {
                "src": local,
                "dest": path,
                "backup": bool(args["backup"]),
                "force": True,
            }
            task.no_log = True
            copy = self._shared_loader_obj.action_loader.get(
                WIN_COPY,
                task=task,
                connection=self._connection,
                play_context=self._play_context,
                loader=self._loader,
                templar=self._templar,
                shared_loader_obj=self._shared_loader_obj,
            )
            copied: dict[str, Any] = copy.run(task_vars=target.task_vars)
        finally:
            with contextlib.suppress(OSError):
                Path(local).unlink()
        return copied
