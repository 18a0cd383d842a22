"""tentacle_ha.octopus.tentacle_config: the documentation and the POSIX writer.

The edit itself runs on the controller, in the action plugin of the same name
(``plugins/action/tentacle_config.py``), with the tentacle_ha library. This
file is what runs on a POSIX target: it receives the new bytes and the SHA-1
of the bytes the controller read, and replaces the config the way
``tentacle_ha._writer`` does, with the standard library only (targets do not
need tentacle_ha).
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: tentacle_config
short_description: Edit a Tentacle.config safely (HA trusted servers)
version_added: "0.1.0"
description:
  - Reads the target's Tentacle.config, applies one edit on the controller with
    the C(tentacle_ha) library (the same edits and refusals as
    C(tentacle-ha fleet)), shows a diff with secrets masked, and writes the new
    bytes back only if the file still holds the bytes that were read.
  - On POSIX targets the writer is this module (Python standard library only), with
    C(flock) on the config itself (the lock C(tentacle_ha) takes), re-read under
    the lock, SHA-1 compare, temporary file in the same folder, fsync, rename,
    folder fsync; mode and owner kept; optional backup as a new file
    C(NAME.bak), C(NAME.bak.1), ... never overwriting one.
  - On Windows targets (PowerShell shell family) the writer is
    M(ansible.windows.win_stat) (SHA-1 re-check), then
    M(ansible.windows.win_copy);
    the C(ansible.windows) collection must be installed on the controller.
    This path has only been tested against a fake connection, never on Windows.
  - Exactly one edit per task.
  - The config is chosen by O(path) or O(instance); with neither, the
    instance C(Tentacle).
options:
  sync:
    description:
      - Path, on the controller, of a cluster description (TOML); the polling
        entries become exactly what the cluster needs (SubscriptionId kept).
    type: path
  retire_thumbprint:
    description: With O(sync), thumbprints whose polling entries are removed.
    type: list
    elements: str
    default: []
  add_node:
    description:
      - Poll one more address (like C(Tentacle poll-server)); needs O(thumbprint).
    type: str
  thumbprint:
    description: With O(add_node), the server certificate thumbprint.
    type: str
  remove_node:
    description: Stop polling this address.
    type: str
  rotate:
    description: Move trust from certificate O(rotate.old) to O(rotate.new).
    type: dict
    suboptions:
      old:
        description: The thumbprint trusted now.
        type: str
        required: true
      new:
        description: The thumbprint to trust.
        type: str
        required: true
      staged:
        description: Trust the new one beside the old one (finish later).
        type: bool
        default: false
  keep:
    description: Keep only the polling entries at these addresses.
    type: list
    elements: str
  settings:
    description:
      - Keys to set, as Tentacle stores them; a null value removes the key.
      - Unknown keys (a typo?) are refused unless O(new_key).
    type: dict
  new_key:
    description: With O(settings), allow keys Tentacle does not know.
    type: bool
    default: false
  polling_connection_count:
    description: Set C(Tentacle.Communication.PollingConnectionCount).
    type: int
  allow_empty:
    description:
      - Allow an edit that leaves no polling entry (orphans the Tentacle).
      - Without it such an edit fails the task and nothing is written.
    type: bool
    default: false
  backup:
    description: Keep the replaced bytes in a new backup file beside the config.
    type: bool
    default: false
  lock_timeout:
    description: Seconds to wait for another tentacle_ha writer's lock (POSIX).
    type: float
    default: 60
attributes:
  check_mode:
    support: full
    description: Nothing is written; C(changed) and the diff say what would change.
  diff_mode:
    support: full
    description: A unified diff; secret values show as C(***).
  platform:
    platforms: [posix, windows]
    support: full
    description: Windows only through C(ansible.windows), not run on Windows yet.
notes:
  - Internal options C(new_content), C(based_on_sha1) are passed by the action
    plugin to this writer; do not set them in a task.
  - A conflict (the file's SHA-1 changed between the read and the write, e.g.
    Tentacle or another run wrote it) fails the task; nothing is written.
  - A file that cannot be used (broken XML, unknown keys, an orphaning edit)
    fails the task with the library's one-line message; the file is untouched.
extends_documentation_fragment:
  - tentacle_ha.octopus.select
author:
  - tentacle_ha maintainers
"""

EXAMPLES = r"""
- name: Poll every node of the cluster (add new nodes, drop removed ones)
  tentacle_ha.octopus.tentacle_config:
    path: /etc/octopus/Tentacle/tentacle-Tentacle.config
    sync: clusters/production.toml
    backup: true

- name: Add one node to the instance Tentacle (found through the instance index)
  tentacle_ha.octopus.tentacle_config:
    instance: Tentacle
    add_node: https://node4.octopus.example.com:10943
    thumbprint: 8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3

- name: Finish a certificate rotation
  tentacle_ha.octopus.tentacle_config:
    path: /etc/octopus/Tentacle/tentacle-Tentacle.config
    rotate:
      old: 8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3
      new: 1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C4D

- name: Set and unset settings
  tentacle_ha.octopus.tentacle_config:
    path: /etc/octopus/Tentacle/tentacle-Tentacle.config
    settings:
      Tentacle.Communication.PollingConnectionCount: "5"
      Octopus.Server.Proxy.ProxyHost: null
"""

RETURN = r"""
path:
  description: The config edited.
  returned: when it could be chosen
  type: str
instance:
  description: The instance name, when the config was chosen by O(instance).
  returned: when chosen by instance
  type: str
diff:
  description:
    - C(prepared), a unified diff of the change; secret values show as C(***).
    - Empty when nothing changes.
  returned: success
  type: dict
changed:
  description: Whether the file was (or, in check mode, would be) changed.
  returned: always
  type: bool
restart_required:
  description: Whether the running Tentacle must be restarted to see the change.
  returned: success
  type: bool
restart_command:
  description: The command that restarts this Tentacle, when a restart is required.
  returned: success
  type: str
backup_file:
  description: The backup written, when O(backup) and the file changed (else null).
  returned: success
  type: str
trusted_servers:
  description:
    - The trusted servers after the edit, as C(tentacle-ha servers list --json)
      prints them.
  returned: success
  type: list
  elements: dict
"""

import base64
import contextlib
import errno
import hashlib
import os
import secrets
import stat
import time

from ansible.module_utils.basic import AnsibleModule

MAX_FILE_SIZE = 16 * 1024 * 1024
TEMP_SUFFIX = ".tentacle-ha-tmp"
BACKUP_SUFFIX = ".bak"
MAX_BACKUPS = 10_000

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)


class WriterError(Exception):
    """A refusal or failure; the message is one line, the file is intact."""

    def __init__(self, path: str, message: str, *, conflict: bool = False) -> None:
        super().__init__(f"{path}: {message}")
        self.conflict = conflict


def _describe(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    reason = exc.strerror or str(exc)
    return f"{reason} ({name})" if name else reason


def _read_fd(fd: int, shown: str) -> bytes:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise WriterError(shown, "is not a regular file; not read")
    if info.st_size > MAX_FILE_SIZE:
        msg = f"file is {info.st_size} bytes; the limit is {MAX_FILE_SIZE}"
        raise WriterError(shown, msg)
    os.lseek(fd, 0, os.SEEK_SET)
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_FILE_SIZE:
        chunk = os.read(fd, max(info.st_size + 1 - size, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > MAX_FILE_SIZE:
        raise WriterError(shown, f"file grew over {MAX_FILE_SIZE} bytes")
    return b"".join(chunks)


def _refuse_irregular(fd: int, shown: str) -> None:
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise WriterError(shown, "is not a regular file; not locked, not read")


def _lock(name: str, dir_fd: int, shown: str, timeout: float) -> int:
    """Open *name* read-only, never following a link, and flock it (as _lock.hold)."""
    import fcntl  # noqa: PLC0415 -- POSIX only; imported where it is needed

    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(
                name, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC, dir_fd=dir_fd
            )
        except OSError as exc:
            raise WriterError(
                shown, f"cannot open the file to lock it: {_describe(exc)}"
            ) from exc
        try:
            _refuse_irregular(fd, shown)
            wait = 0.001
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        msg = (
                            f"another process held the lock of {name} for over "
                            f"{timeout:g} s; nothing written"
                        )
                        raise WriterError(shown, msg) from None
                    time.sleep(wait)
                    wait = min(wait * 2, 0.05)
            held = os.fstat(fd)
            try:
                now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                now = None
            if now is not None and (held.st_dev, held.st_ino) == (
                now.st_dev,
                now.st_ino,
            ):
                return fd
            fcntl.flock(fd, fcntl.LOCK_UN)  # replaced while we waited: lock the new one
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _create_excl(name: str, dir_fd: int) -> int:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC
    return os.open(name, flags, 0o600, dir_fd=dir_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _backup(name: str, data: bytes, old: os.stat_result, dir_fd: int) -> str:
    """A new file NAME.bak (else .bak.1, ...): never an existing path, never wider."""
    first = name + BACKUP_SUFFIX
    for candidate in [first] + [f"{first}.{n}" for n in range(1, MAX_BACKUPS)]:
        try:
            fd = _create_excl(candidate, dir_fd)
        except FileExistsError:
            continue
        break
    else:
        raise OSError(errno.EEXIST, f"{MAX_BACKUPS} backups exist already; remove some")
    try:
        owner_kept = True
        if old.st_uid != os.geteuid():
            try:
                os.fchown(fd, old.st_uid, old.st_gid)
            except PermissionError:
                owner_kept = False
        else:
            with contextlib.suppress(PermissionError):
                os.fchown(fd, -1, old.st_gid)
        mode = old.st_mode & 0o777
        os.fchmod(fd, mode if owner_kept else mode & 0o700)
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(candidate, dir_fd=dir_fd)
        raise
    os.close(fd)
    return candidate


def temp_name(name: str) -> str:
    """``.<name>.<pid>-<random>.tentacle-ha-tmp``: the library's temp names, so
    its stale-temp cleaner recognises this writer's leftovers."""
    return f".{name}.{os.getpid()}-{secrets.token_hex(8)}{TEMP_SUFFIX}"


def hard_link_warnings(info: os.stat_result) -> list[str]:
    """The library's warning for a config with several hard links."""
    if info.st_nlink <= 1:
        return []
    others = info.st_nlink - 1
    verb = "holds" if others == 1 else "hold"
    warning = (
        f"had {info.st_nlink} hard links: the write replaced this name only; "
        f"the other {others} still {verb} the old bytes"
    )
    return [warning]


def _replace(name: str, data: bytes, old: os.stat_result, dir_fd: int) -> None:
    """Temp file (O_EXCL, unpredictable name) + fsync + rename + folder fsync."""
    tmp = temp_name(name)
    while True:
        try:
            fd = _create_excl(tmp, dir_fd)
        except FileExistsError:  # pragma: no cover - 64 random bits collided
            tmp = temp_name(name)
            continue
        break
    try:
        try:
            _write_all(fd, data)
            os.fchmod(fd, old.st_mode & 0o7777)
            with contextlib.suppress(PermissionError):
                os.fchown(fd, old.st_uid, old.st_gid)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        tmp = ""
        os.fsync(dir_fd)
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)


def write_config(
    path: str,
    data: bytes,
    *,
    based_on_sha1: str,
    backup: bool = False,
    timeout: float = 60.0,
) -> dict[str, object]:
    """Replace the config at *path* with *data* if it still has SHA-1 *based_on_sha1*.

    Returns:
        ``{"changed": bool, "backup_file": str | None, "path": str,
        "warnings": [str]}`` (the library's `WriteResult`).

    Raises:
        WriterError: a conflict (``conflict`` is True: the file changed since it
            was read, or was replaced under the lock) or any other refusal or
            failure; nothing was written.
    """
    folder, name = os.path.split(os.path.realpath(path))  # resolve once
    try:
        dir_fd = os.open(folder, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        raise WriterError(path, f"cannot open its folder: {_describe(exc)}") from exc
    try:
        fd = _lock(name, dir_fd, path, timeout)
        try:
            current = _read_fd(fd, path)  # re-read under the lock
            if hashlib.sha1(current).hexdigest() != based_on_sha1.lower():  # noqa: S324 -- a content check, as the controller computed it
                raise WriterError(
                    path,
                    "file changed on disk since it was read; nothing written",
                    conflict=True,
                )
            if current == data:
                return {
                    "changed": False, "backup_file": None, "path": path, "warnings": [],
                }  # fmt: skip
            info = os.fstat(fd)
            now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            if stat.S_ISDIR(now.st_mode):
                raise WriterError(path, "is a folder, not a config file")
            if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
                raise WriterError(
                    path,
                    "changed while being edited by a program that does not take "
                    "the lock (Tentacle itself?); left alone",
                    conflict=True,
                )
            try:
                saved = _backup(name, current, info, dir_fd) if backup else None
                _replace(name, data, info, dir_fd)
            except OSError as exc:
                raise WriterError(path, f"cannot write: {_describe(exc)}") from exc
        finally:
            os.close(fd)  # closing releases the flock
    finally:
        os.close(dir_fd)
    backup_file = os.path.join(folder, saved) if saved else None  # noqa: PTH118 -- stdlib style of the target
    return {
        "changed": True,
        "backup_file": backup_file,
        "path": path,
        "warnings": hard_link_warnings(info),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "str", "required": True},
            "new_content": {"type": "str", "required": True, "no_log": True},
            "based_on_sha1": {"type": "str", "required": True},
            "backup": {"type": "bool", "default": False},
            "lock_timeout": {"type": "float", "default": 60.0},
        },
        supports_check_mode=False,
    )
    params = module.params
    try:
        data = base64.b64decode(params["new_content"], validate=True)
    except ValueError:
        module.fail_json(msg=f"{params['path']}: new_content is not base64")
    try:
        result = write_config(
            params["path"],
            data,
            based_on_sha1=params["based_on_sha1"],
            backup=params["backup"],
            timeout=params["lock_timeout"],
        )
    except WriterError as exc:
        module.fail_json(msg=str(exc), conflict=exc.conflict)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
