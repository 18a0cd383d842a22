"""A throwaway OpenSSH server on 127.0.0.1 for the Ansible tests.

Its config, host key, client key and authorized_keys live in the test's temp
folder; it runs in the foreground (``-D``) as a child of the test, which stops
it by PID. Only loopback, only key authentication.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"


def available() -> bool:
    return SSHD.exists() and Path(SSH_KEYGEN).exists() and os.geteuid() == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Sshd:
    """A running sshd: `port`, `user`, `key` (the client's private key)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        self.key = folder / "client_ed25519"
        host_key = folder / "host_ed25519"
        for path in (self.key, host_key):
            subprocess.run(
                [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
                check=True, capture_output=True, timeout=30,
            )  # fmt: skip
        authorized = folder / "authorized_keys"
        authorized.write_bytes(self.key.with_suffix(".pub").read_bytes())
        authorized.chmod(0o600)
        self.port = _free_port()
        self.user = "root"
        config = folder / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1:{self.port}\n"
            f"HostKey {host_key}\n"
            f"AuthorizedKeysFile {authorized}\n"
            f"PidFile {folder / 'sshd.pid'}\n"
            "PermitRootLogin prohibit-password\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "Subsystem sftp internal-sftp\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privsep folder
        self._log = (folder / "sshd.log").open("wb")
        self.process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)],
            stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self._wait_listening(folder)

    def _wait_listening(self, folder: Path) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (folder / "sshd.log").read_text(errors="replace")
                msg = f"sshd exited with {self.process.returncode}: {log}"
                raise RuntimeError(msg)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        msg = "sshd did not listen within 30 s"
        raise RuntimeError(msg)

    def stop(self) -> None:
        """Stop the server by its PID and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

    def inventory_vars(self) -> list[str]:
        """Inventory variables (one per line) that reach this server with its key."""
        return [
            "ansible_connection=ssh",
            "ansible_host=127.0.0.1",
            f"ansible_port={self.port}",
            f"ansible_user={self.user}",
            f"ansible_ssh_private_key_file={self.key}",
            (
                "ansible_ssh_common_args='-o StrictHostKeyChecking=no "
                "-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes'"
            ),
        ]


def running(folder: Path) -> Iterator[Sshd]:
    """A generator fixture body: start, yield, stop by PID."""
    server = Sshd(folder)
    try:
        yield server
    finally:
        server.stop()
