"""tentacle_ha.octopus.poll_check: the poll-path check, run from the target.

Standard library only (targets do not need tentacle_ha). For each polling
entry: TCP, TLS without a client certificate (no chain or host name checks:
Halibut certificates are self-signed and pinned), the presented
certificate's SHA-1 thumbprint against the trusted one, then ``POST
/handshake`` (``https://``) or a WebSocket upgrade request (``wss://``). The
result classes are those of ``tentacle-ha check``.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: poll_check
short_description: Check each polling path from where the Tentacle stands
version_added: "0.1.0"
description:
  - For each polling entry, from the target host, connects over TCP, does TLS
    without a client certificate, compares the presented certificate's SHA-1
    thumbprint with the trusted one, then sends C(POST /handshake) (Halibut,
    C(https://) addresses) or a WebSocket upgrade request (C(wss://)).
  - Each entry gets one status of C(tentacle-ha check), C(ok), C(dns_error),
    C(refused), C(unreachable), C(timeout), C(tls_error),
    C(thumbprint_mismatch), C(not_halibut), C(http_error) or C(closed_by_peer).
  - The task fails when any entry is not C(ok), unless O(fail_on_error=false).
  - Python standard library only on the target.
  - B(Windows targets are not supported yet), the module is Python and has no
    PowerShell counterpart; run C(tentacle-ha check) on Windows hosts instead.
options:
  servers:
    description:
      - The trusted servers, as C(tentacle-ha servers list --json) prints them
        and as M(tentacle_ha.octopus.tentacle_config) returns them in
        C(trusted_servers); only polling entries (C(CommunicationStyle) 2)
        are checked.
    type: list
    elements: dict
    required: true
  timeout:
    description: Seconds each entry may take, from connect to answer.
    type: float
    default: 10
  fail_on_error:
    description: Fail the task when an entry is not C(ok).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Only connects; the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes.
  platform:
    platforms: [posix]
    support: full
    description: Linux and other POSIX targets; not Windows (yet).
author:
  - tentacle_ha maintainers
"""

EXAMPLES = r"""
- name: Converge, then check the poll paths this Tentacle now has
  tentacle_ha.octopus.tentacle_config:
    instance: Tentacle
    sync: clusters/production.toml
  register: converged

- name: Check them from the Tentacle's host
  tentacle_ha.octopus.poll_check:
    servers: "{{ converged.trusted_servers }}"
    timeout: 5
"""

RETURN = r"""
results:
  description: One per polling entry.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The polling address.
      type: str
    status:
      description: The result class, as C(tentacle-ha check) names it.
      type: str
    reason:
      description: One line saying why.
      type: str
    presented_thumbprint:
      description: The thumbprint the far end presented, when TLS got that far.
      type: str
ok:
  description: Whether every entry is C(ok).
  returned: always
  type: bool
"""

import base64
import errno
import hashlib
import os
import socket
import ssl
import time
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

POLLING = 2  # CommunicationStyle.TentacleActive
DEFAULT_PORTS = {"https": 443, "wss": 443}
HALIBUT_ANSWERS = (200, 400)
NOT_FOUND = 404
SERVER_ERROR = 500


class Stop(Exception):  # noqa: N818 -- control flow inside one check
    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def thumbprint_key(value: str) -> str:
    """Thumbprints compare ignoring case, spaces and colons (as the library)."""
    return "".join(c for c in value if c.isalnum()).upper()


def _connect(host: str, port: int, deadline: float) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Stop("dns_error", f"{host!r} does not resolve: {exc.strerror}") from exc
    first: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            sock.connect(sockaddr)
        except OSError as exc:
            sock.close()
            first = first or exc
            continue
        return sock
    what = f"{host}:{port}"
    if isinstance(first, ConnectionRefusedError):
        raise Stop("refused", f"{what}: connection refused")
    if isinstance(first, ConnectionResetError):
        raise Stop("closed_by_peer", f"{what}: accepted the connection, then reset it")
    if isinstance(first, TimeoutError | socket.timeout):
        raise Stop("timeout", f"{what}: connect timed out")
    code = errno.errorcode.get(getattr(first, "errno", 0) or 0, "error")
    raise Stop("unreachable", f"{what}: {code}: {first}")


def _tls(sock: socket.socket, host: str, port: int) -> tuple[ssl.SSLSocket, str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # pinned by thumbprint, below
    context.verify_mode = ssl.CERT_NONE
    try:
        tls = context.wrap_socket(sock, server_hostname=host)
    except TimeoutError as exc:
        raise Stop(
            "timeout", f"no answer during the TLS handshake with {host}:{port}"
        ) from exc
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError, EOFError) as exc:
        raise Stop(
            "closed_by_peer",
            f"{host}:{port} accepted the connection, then closed it without a TLS "
            "answer (a load balancer whose node does not answer?)",
        ) from exc
    except (ssl.SSLError, OSError) as exc:
        detail = getattr(exc, "reason", None) or str(exc)
        raise Stop(
            "tls_error", f"TLS handshake with {host}:{port} failed: {detail}"
        ) from exc
    der = tls.getpeercert(binary_form=True)
    if not der:
        raise Stop("tls_error", "the far end presented no certificate")
    return tls, hashlib.sha1(der).hexdigest().upper()  # noqa: S324 -- a thumbprint is SHA-1


def _status_line(tls: ssl.SSLSocket, request: bytes, no_http: str) -> tuple[int, str]:
    try:
        tls.sendall(request)
        line = tls.makefile("rb").readline(1024).decode("latin-1").rstrip("\r\n")
    except TimeoutError as exc:
        raise Stop("timeout", "no answer to the request") from exc
    except OSError as exc:
        raise Stop(no_http, f"connection failed: {exc}") from exc
    if not line:
        raise Stop(no_http, "closed the connection without an HTTP answer")
    version, _sep, rest = line.partition(" ")
    code = rest.partition(" ")[0]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise Stop(no_http, f"answered {line[:60]!r}, not HTTP")
    return int(code), line


def _split(address: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of a polling address (`Stop` if not one)."""
    parts = urlsplit(address)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    except ValueError as exc:
        raise Stop("dns_error", f"{address!r} is not a valid address: {exc}") from exc
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        msg = f"{address!r} is not https://host:port or wss://host/path"
        raise Stop("dns_error", msg)
    return scheme, parts.hostname, port, parts.path or "/"


def _request(scheme: str, authority: str, path: str) -> bytes:
    if scheme == "wss":
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        text = (
            f"GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: Octopus\r\n\r\n"
        )
    else:
        text = (
            f"POST /handshake HTTP/1.1\r\nHost: {authority}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
    return text.encode("latin-1")


def _answer(scheme: str, path: str, status: int, line: str) -> str:
    """The reason of an ok answer (`Stop` for a wrong one)."""
    if scheme == "wss":
        if status == NOT_FOUND or status >= SERVER_ERROR:
            msg = f"{path} answered {line!r}: nothing serves this path"
            raise Stop("http_error", msg)
        return f"{path} answers ({line}), trusted certificate"
    if status not in HALIBUT_ANSWERS:
        msg = f"POST /handshake answered {line!r}; Halibut answers 200 or 400"
        raise Stop("not_halibut", msg)
    return f"Halibut listener, trusted certificate ({status})"


def _probe(
    address: str, trusted: str, timeout: float, result: dict[str, object]
) -> str:
    """Walk one polling path; the ok reason (`Stop` at the first failure)."""
    deadline = time.monotonic() + timeout
    scheme, host, port, path = _split(address)
    sock: socket.socket = _connect(host, port, deadline)
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock, presented = _tls(sock, host, port)
        result["presented_thumbprint"] = presented
        expected = thumbprint_key(trusted)
        if presented != expected:
            raise Stop(
                "thumbprint_mismatch",
                f"presented certificate {presented} is not the trusted "
                f"{expected or '(empty)'}: stale trust, or TLS interception",
            )
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        no_http = "http_error" if scheme == "wss" else "not_halibut"
        status, line = _status_line(sock, _request(scheme, authority, path), no_http)
        return _answer(scheme, path, status, line)
    finally:
        sock.close()


def check_one(address: str, trusted: str, timeout: float) -> dict[str, object]:
    """One polling entry's result: address, status, reason, presented_thumbprint."""
    result: dict[str, object] = {"address": address, "presented_thumbprint": None}
    try:
        reason = _probe(address, trusted, timeout, result)
    except Stop as stop:
        result.update(status=stop.status, reason=stop.reason)
    else:
        result.update(status="ok", reason=reason)
    return result


def check_all(
    servers: list[dict[str, object]], timeout: float
) -> list[dict[str, object]]:
    """Every polling entry of *servers*, in order."""
    return [
        check_one(str(s.get("Address") or ""), str(s.get("Thumbprint") or ""), timeout)
        for s in servers
        if s.get("CommunicationStyle") in (POLLING, "TentacleActive")
    ]


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "servers": {"type": "list", "elements": "dict", "required": True},
            "timeout": {"type": "float", "default": 10.0},
            "fail_on_error": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    results = check_all(module.params["servers"], module.params["timeout"])
    ok = all(r["status"] == "ok" for r in results)
    if not ok and module.params["fail_on_error"]:
        bad = "; ".join(
            f"{r['address']}: {r['status']}" for r in results if r["status"] != "ok"
        )
        module.fail_json(
            msg=f"poll path check failed: {bad}", results=results, ok=False
        )
    module.exit_json(changed=False, results=results, ok=ok)


if __name__ == "__main__":
    main()
