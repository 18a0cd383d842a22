"""Loopback stand-ins for Octopus Server nodes, for your tests and demos.

`FakeOctopusNode` runs real servers on ``127.0.0.1`` (any free port):

* a web API answering ``GET /api`` with a root-document-like JSON and
  ``GET /api/octopusservernodes/ping`` with 200, 418 or 503 as `NodeMode` says
  (switchable while running), plain HTTP by default or HTTPS signed by a test CA;
* a comms listener speaking just enough Halibut: TLS with a self-signed RSA-2048
  certificate, the ``HTTP/1.0 200`` page for any request that does not start
  with ``MX`` (so ``POST /handshake`` gets 200), and ``MX-SERVER 1.0`` after an
  ``MX-SUBSCRIBER 1.0 poll://.../`` identity. No messages are exchanged after
  that: it proves the path, it does not run deployments.

`CommsMode` switches the comms listener into failure modes for negative tests:
refuse, stall, close after TLS, present another certificate, plain TCP, or an
ordinary HTTPS server that is not Halibut.

`FakeOctopusCluster` runs several nodes sharing one comms certificate (as a
real HA cluster does) on one background thread, optionally behind a TCP
passthrough load balancer. Both are context managers and stop cleanly: no
thread, socket or file is left behind. For pytest, import the fixtures
``fake_octopus_cluster`` and ``fake_octopus_node`` into your ``conftest.py``::

    from tentacle_ha.testing import fake_octopus_cluster  # noqa: F401

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import abc
import asyncio
import base64
import datetime as dt
import enum
import functools
import hashlib
import hmac
import ipaddress
import itertools
import json
import socket
import ssl
import tempfile
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final
from typing import Self
from typing import TypeVar

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID
from cryptography.x509.oid import NameOID

from tentacle_ha._proxy import WireError
from tentacle_ha._proxy import format_authority
from tentacle_ha._proxy import read_head
from tentacle_ha._proxy import start_tls
from tentacle_ha._secret import Secret
from tentacle_ha.check import thumbprint
from tentacle_ha.errors import FakeServerError

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from collections.abc import Callable
    from collections.abc import Coroutine
    from collections.abc import Iterator
    from collections.abc import Sequence
    from types import TracebackType

    _Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
    _Accept = Callable[[asyncio.StreamReader, asyncio.StreamWriter], None]

__all__ = [
    "CertificateBundle",
    "CommsMode",
    "FakeOctopusCluster",
    "FakeOctopusNode",
    "NodeMode",
    "fake_octopus_cluster",  # noqa: F822  (made on first use by __getattr__)
    "fake_octopus_node",  # noqa: F822  (made on first use by __getattr__)
    "generate_certificate",
]

_T = TypeVar("_T")

#: Seconds a start, stop or mode switch may take before it is an error.
_CONTROL_TIMEOUT: Final = 30.0
#: Seconds a finished connection may take to close politely before it is cut.
_CLOSE_GRACE: Final = 2.0
#: Connections accepted at most per readiness event of a listening socket.
_ACCEPT_BURST: Final = 64
#: Loop turns for already-scheduled close callbacks to run before a loop stops.
_SETTLE_TURNS: Final = 5
_BODY_LIMIT: Final = 1 << 20
_WS_GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_FRIENDLY_PAGE: Final = (
    b"<!DOCTYPE html>\n<html><head><title>Octopus Server</title></head><body>"
    b"<h1>Octopus Server configured successfully</h1>"
    b"<p>If you can view this page, the Octopus Server communications port is "
    b"listening and ready for polling Tentacles.</p></body></html>\n"
)
_NOT_FOUND_PAGE: Final = (
    b"<html><head><title>404 Not Found</title></head><body>"
    b"<center><h1>404 Not Found</h1></center><hr><center>nginx</center>"
    b"</body></html>\n"
)


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CertificateBundle:
    """A certificate and its private key, PEM-encoded, made for tests.

    Attributes:
        cert_pem: the certificate.
        key_pem: the unencrypted PKCS#8 private key (left out of ``repr()``).

    .. versionadded:: 0.1.0
    """

    cert_pem: bytes
    key_pem: bytes = attrs.field(repr=False)

    @property
    def der(self) -> bytes:
        """The certificate, DER-encoded."""
        cert = x509.load_pem_x509_certificate(self.cert_pem)
        return cert.public_bytes(serialization.Encoding.DER)

    @property
    def thumbprint(self) -> str:
        """SHA-1 of the DER certificate in upper-case hex, as Tentacle shows it."""
        return thumbprint(self.der)

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting this certificate; asks for no client cert."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # ssl loads keys from files only: a private folder that is gone on return.
        with tempfile.TemporaryDirectory(prefix="tentacle_ha-") as folder:
            cert_file = Path(folder, "cert.pem")
            key_file = Path(folder, "key.pem")
            cert_file.write_bytes(self.cert_pem)
            key_file.touch(mode=0o600)
            key_file.write_bytes(self.key_pem)
            context.load_cert_chain(cert_file, key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A verifying TLS client context that trusts this certificate as a CA."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))


def _host_names(hosts: Sequence[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def generate_certificate(
    common_name: str = "Octopus Portal",
    *,
    issuer: CertificateBundle | None = None,
    ca: bool = False,
    hosts: Sequence[str] = (),
) -> CertificateBundle:
    """Make an RSA-2048 SHA-256 certificate in memory, valid from yesterday, 10 years.

    Self-signed by default, like the Octopus Server comms certificate; signed by
    ``issuer`` when given (a CA made with ``ca=True``), for HTTPS that a client
    verifies normally.

    Args:
        common_name: the subject CN.
        issuer: the CA that signs it; None for self-signed.
        ca: make a CA certificate (basic constraints CA, may sign certificates).
        hosts: host names and IP addresses for the subjectAltName extension.

    .. versionadded:: 0.1.0
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    if issuer is None:
        issuer_name, signing_key = subject, key
    else:
        issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem)
        issuer_name = issuer_cert.subject
        loaded = serialization.load_pem_private_key(issuer.key_pem, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise FakeServerError("the issuer's key is not an RSA key")
        signing_key = loaded
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                signing_key.public_key()
            ),
            critical=False,
        )
    )
    if ca:
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=True,
            crl_sign=True,
            encipher_only=False,
            decipher_only=False,
        )
        builder = builder.add_extension(usage, critical=True)
    else:
        server_auth = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
        builder = builder.add_extension(server_auth, critical=False)
    if hosts:
        alt_names = x509.SubjectAlternativeName(_host_names(hosts))
        builder = builder.add_extension(alt_names, critical=False)
    cert = builder.sign(signing_key, hashes.SHA256())
    return CertificateBundle(
        cert_pem=cert.public_bytes(serialization.Encoding.PEM),
        key_pem=key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@attrs.frozen
class _WebPki:
    """A test CA and the HTTPS certificate it issued for the web API."""

    ca: CertificateBundle
    leaf: CertificateBundle

    @classmethod
    def make(cls, host: str) -> _WebPki:
        ca = generate_certificate("tentacle_ha test CA", ca=True)
        hosts = sorted({host, "127.0.0.1", "::1", "localhost"})
        leaf = generate_certificate("Octopus Deploy", issuer=ca, hosts=hosts)
        return cls(ca, leaf)


# --------------------------------------------------------------------------
# Plumbing: a loop on a thread, listeners, connection bookkeeping.
# --------------------------------------------------------------------------


class _LoopThread:
    """One asyncio loop on one daemon thread; coroutines are run on it from outside."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            leftover = asyncio.all_tasks(self._loop)
            for task in leftover:
                task.cancel()
            self._loop.run_until_complete(
                asyncio.gather(*leftover, return_exceptions=True)
            )
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def call(self, coro: Coroutine[object, object, _T]) -> _T:
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(_CONTROL_TIMEOUT)

    def stop(self) -> None:
        self.call(_settle())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CONTROL_TIMEOUT)


async def _settle() -> None:
    """Give callbacks already scheduled (closing sockets) their turns."""
    for _ in range(_SETTLE_TURNS):
        await asyncio.sleep(0)


class _Connections:
    """The connections of some listeners, so that stop can end every one of them.

    A connection is registered synchronously when it is accepted (asyncio
    calls a plain callback from ``connection_made``), so none can slip past a
    stop, even one whose handler task has not started yet.
    """

    def __init__(self) -> None:
        self._open: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    def wrap(self, handler: _Serve) -> _Accept:
        async def run(
            reader: asyncio.StreamReader, writer: asyncio.StreamWriter
        ) -> None:
            try:
                await handler(reader, writer)
            except (OSError, EOFError, WireError):
                pass  # the client went away or sent garbage: that is its business
            finally:
                self._open.pop(writer, None)
                await _close(writer)

        def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self._open[writer] = asyncio.get_running_loop().create_task(
                run(reader, writer)
            )

        return accept

    async def cancel_all(self) -> None:
        while self._open:
            pending = dict(self._open)
            for task in pending.values():
                task.cancel()
            await asyncio.gather(*pending.values(), return_exceptions=True)
            for writer in pending:
                # A task cancelled before it ran never reached its finally.
                if self._open.pop(writer, None) is not None:
                    writer.transport.abort()


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close politely (flushing what was written), cut after a grace period."""
    if writer.transport.is_closing():
        # Already closing, e.g. after a failed TLS handshake replaced the protocol.
        writer.transport.abort()
        return
    try:
        writer.close()
        async with asyncio.timeout(_CLOSE_GRACE):
            await writer.wait_closed()
    except (OSError, TimeoutError):
        pass
    finally:
        writer.transport.abort()


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class _Listener:
    """A TCP listener on a fixed port that can also refuse (bound, not listening).

    It accepts by itself rather than through `asyncio.start_server`: Python
    3.11 leaks the socket of a connection accepted just before
    ``Server.close()``. Here every accepted socket is either handed to the
    handler or closed, whenever the listener stops.
    """

    def __init__(self, host: str, handler: _Accept) -> None:
        self.host = host
        self.port = 0
        self._handler = handler
        self._sock: socket.socket | None = None
        self._held: socket.socket | None = None
        self._pending: dict[socket.socket, asyncio.Task[None]] = {}

    async def listen(self) -> None:
        if self._sock is not None:
            return
        sock = self._held or _bound_socket(self.host, self.port)
        self._held = None
        self.port = sock.getsockname()[1]
        sock.listen(128)
        sock.settimeout(0)  # non-blocking
        self._sock = sock
        loop = asyncio.get_running_loop()
        loop.add_reader(sock.fileno(), self._on_readable, loop, sock)

    def _protocol(self) -> asyncio.StreamReaderProtocol:
        return asyncio.StreamReaderProtocol(asyncio.StreamReader(), self._handler)

    def _on_readable(
        self, loop: asyncio.AbstractEventLoop, sock: socket.socket
    ) -> None:
        for _ in range(_ACCEPT_BURST):
            try:
                conn, _address = sock.accept()
            except OSError:  # nothing left (or out of descriptors): wait for more
                return
            conn.settimeout(0)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pending[conn] = loop.create_task(self._connect(loop, conn))

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, conn: socket.socket
    ) -> None:
        try:
            await loop.connect_accepted_socket(self._protocol, conn)
        except OSError:
            conn.close()
        finally:
            self._pending.pop(conn, None)

    async def refuse(self) -> None:
        """Stop accepting but keep the port, so that connecting is refused."""
        if self._held is not None:
            return
        await self.close()
        self._held = _bound_socket(self.host, self.port)
        self.port = self._held.getsockname()[1]

    async def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        tasks = list(self._pending.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for conn in list(self._pending):  # cancelled before they ran
            conn.close()
        self._pending.clear()
        if self._held is not None:
            self._held.close()
            self._held = None


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.transport.abort()


async def _splice(
    client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
) -> None:
    """Copy bytes both ways until both directions are done; then close upstream."""
    try:
        await asyncio.gather(
            _pipe(client[0], upstream[1]), _pipe(upstream[0], client[1])
        )
    finally:
        await _close(upstream[1])


def _http_response(
    status: str,
    body: bytes,
    content_type: str,
    *,
    version: str = "HTTP/1.1",
    extra: Sequence[str] = (),
) -> bytes:
    lines = [
        f"{version} {status}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *extra,
    ]
    if version == "HTTP/1.1":
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _headers(head: Sequence[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    return fields


# --------------------------------------------------------------------------
# The fake node
# --------------------------------------------------------------------------


class NodeMode(enum.StrEnum):
    """What a fake node's health ping says.

    .. versionadded:: 0.1.0
    """

    ONLINE = "online"  # 200
    DRAINING = "draining"  # 418
    DOWN = "down"  # 503


class CommsMode(enum.StrEnum):
    """How a fake node's comms port behaves.

    .. versionadded:: 0.1.0
    """

    #: TLS, Halibut's friendly page and MX handshake: the healthy case.
    HALIBUT = "halibut"
    #: The port is closed: connecting is refused.
    REFUSE = "refuse"
    #: Accepts TCP, then never answers (not even the TLS handshake).
    STALL = "stall"
    #: Completes the TLS handshake, then closes.
    CLOSE_AFTER_TLS = "close_after_tls"
    #: Halibut, but presenting a different certificate (stale trust, interception).
    OTHER_CERTIFICATE = "other_certificate"
    #: Plain TCP answering in clear text: no TLS at all.
    PLAIN_TCP = "plain_tcp"
    #: An ordinary HTTPS server (same certificate) answering 404: not Halibut.
    NOT_HALIBUT = "not_halibut"


_NODE_CODES: Final = {
    NodeMode.ONLINE: "200 OK",
    NodeMode.DRAINING: "418 I'm a teapot",
    NodeMode.DOWN: "503 Service Unavailable",
}
_TLS_MODES: Final = frozenset(
    {
        CommsMode.HALIBUT,
        CommsMode.CLOSE_AFTER_TLS,
        CommsMode.OTHER_CERTIFICATE,
        CommsMode.NOT_HALIBUT,
    }
)


class _Service(abc.ABC):
    """Start, stop and the context-manager protocol shared by the fakes."""

    _certificate: CertificateBundle

    @property
    def certificate(self) -> CertificateBundle:
        """The comms certificate presented (by every node, for a cluster)."""
        return self._certificate

    @property
    def thumbprint(self) -> str:
        """The comms certificate's thumbprint: what Tentacles must trust."""
        return self._certificate.thumbprint

    @abc.abstractmethod
    def _is_running(self) -> bool: ...

    @abc.abstractmethod
    def _start(self) -> None: ...

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop listening and end every open connection (a no-op when stopped).

        .. versionadded:: 0.1.0
        """

    def start(self) -> Self:
        """Start listening (a no-op when running) and return self.

        A start that fails part way stops what it started, then raises.

        .. versionadded:: 0.1.0
        """
        if not self._is_running():
            try:
                self._start()
            except BaseException:
                self.stop()
                raise
        return self

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FakeOctopusNode(_Service):
    """One fake Octopus Server node on loopback: web API, health ping and comms port.

    Use it as a context manager, or call `start` and `stop`. Ports are picked
    free at the first start and kept across restarts.

    Args:
        name: the node name, shown in the ping JSON.
        mode: what the health ping answers; settable while running.
        comms_mode: how the comms port behaves; settable while running.
        certificate: the comms certificate; a new self-signed one when None.
        api_key: when set, ``/api`` requires it (``X-Octopus-ApiKey`` or
            ``Authorization: Bearer``); the ping never does.
        api_tls: serve the web API over HTTPS with a certificate from a test CA
            (see `api_ca`); plain HTTP otherwise.
        host: the loopback address to listen on.
        version: the Octopus Server version the root document reports.
        websocket_path: the path at which the comms port accepts WebSocket
            upgrades (see `websocket_address`).

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        name: str = "Node1",
        *,
        mode: NodeMode = NodeMode.ONLINE,
        comms_mode: CommsMode = CommsMode.HALIBUT,
        certificate: CertificateBundle | None = None,
        api_key: str | Secret | None = None,
        api_tls: bool = False,
        host: str = "127.0.0.1",
        version: str = "2025.1.0",
        websocket_path: str = "/OctopusComms",
    ) -> None:
        self.name = name
        self.mode = NodeMode(mode)
        self.version = version
        self.websocket_path = websocket_path
        self.host = host
        self._comms_mode = CommsMode(comms_mode)
        self._certificate = certificate or generate_certificate("Octopus Portal")
        self._other: CertificateBundle | None = None
        self._api_key = Secret(api_key) if isinstance(api_key, str) else api_key
        self._web_pki = _WebPki.make(host) if api_tls else None
        self._subscriptions: list[str] = []
        self._connections = _Connections()
        self._runner: _LoopThread | None = None
        self._own_runner = False
        self._comms: _Listener | None = None
        self._web: _Listener | None = None
        self._started = False

    def __repr__(self) -> str:
        state = "running" if self._started else "stopped"
        return (
            f"<FakeOctopusNode {self.name!r} {state} mode={self.mode} "
            f"comms_mode={self._comms_mode}>"
        )

    # ---- life cycle --------------------------------------------------------

    def _is_running(self) -> bool:
        return self._started

    def _start(self) -> None:
        if self._runner is None:
            self._runner = _LoopThread(f"tentacle_ha.testing:{self.name}")
            self._runner.start()
            self._own_runner = True
        self._runner.call(self._astart())

    def stop(self) -> None:
        """Stop listening and end every open connection (a no-op when stopped).

        .. versionadded:: 0.1.0
        """
        runner = self._runner
        if runner is None:
            return
        runner.call(self._astop())
        if self._own_runner:
            runner.stop()
            self._runner = None
            self._own_runner = False

    async def _astart(self) -> None:
        if self._comms is None or self._web is None:
            self._web = _Listener(self.host, self._connections.wrap(self._serve_web))
            self._comms = _Listener(
                self.host, self._connections.wrap(self._serve_comms)
            )
        self._started = True
        await self._web.listen()
        await self._apply_comms_mode()

    async def _astop(self) -> None:
        self._started = False
        for listener in (self._comms, self._web):
            if listener is not None:
                await listener.close()
        await self._connections.cancel_all()

    async def _apply_comms_mode(self) -> None:
        if self._comms is None or not self._started:
            return
        if self._comms_mode is CommsMode.REFUSE:
            await self._comms.refuse()
        else:
            await self._comms.listen()

    # ---- properties --------------------------------------------------------

    def _running(self, listener: _Listener | None) -> _Listener:
        if listener is None or not self._started:
            raise FakeServerError(f"fake node {self.name!r} is not running")
        return listener

    @property
    def comms_port(self) -> int:
        """The comms listener's port (raises when not running)."""
        return self._running(self._comms).port

    @property
    def comms_address(self) -> str:
        """``https://127.0.0.1:PORT``: the address a polling Tentacle stores."""
        return f"https://{format_authority(self.host, self.comms_port)}"

    @property
    def websocket_address(self) -> str:
        """``wss://127.0.0.1:PORT/OctopusComms`` on the comms port."""
        authority = format_authority(self.host, self.comms_port)
        return f"wss://{authority}{self.websocket_path}"

    @property
    def web_port(self) -> int:
        """The web API's port (raises when not running)."""
        return self._running(self._web).port

    @property
    def web_url(self) -> str:
        """``http://127.0.0.1:PORT`` (https with ``api_tls``), without a slash."""
        scheme = "http" if self._web_pki is None else "https"
        return f"{scheme}://{format_authority(self.host, self.web_port)}"

    @property
    def api_ca(self) -> CertificateBundle | None:
        """The test CA behind the HTTPS web API (None for plain HTTP).

        Pass ``node.api_ca.client_context()`` as ``verify=`` to trust it.
        """
        return None if self._web_pki is None else self._web_pki.ca

    @property
    def comms_mode(self) -> CommsMode:
        """How the comms port behaves; setting it takes effect at once."""
        return self._comms_mode

    @comms_mode.setter
    def comms_mode(self, value: CommsMode) -> None:
        self._comms_mode = CommsMode(value)
        if self._runner is not None and self._started:
            self._runner.call(self._apply_comms_mode())

    @property
    def subscriptions(self) -> tuple[str, ...]:
        """Subscription IDs seen in ``MX-SUBSCRIBER`` identities, oldest first."""
        return tuple(self._subscriptions)

    # ---- comms port ----------------------------------------------------------

    def _other_certificate(self) -> CertificateBundle:
        if self._other is None:
            self._other = generate_certificate("Octopus Portal")
        return self._other

    async def _serve_comms(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        mode = self._comms_mode
        if mode is CommsMode.STALL:
            while await reader.read(65536):
                pass
            return
        if mode is CommsMode.PLAIN_TCP:
            await reader.read(65536)
            writer.write(_http_response("400 Bad Request", b"", "text/plain"))
            await writer.drain()
            return
        bundle = self._certificate
        if mode is CommsMode.OTHER_CERTIFICATE:
            bundle = self._other_certificate()
        await start_tls(writer, _server_context(bundle))
        if mode is CommsMode.CLOSE_AFTER_TLS:
            return
        head = await read_head(reader)
        if mode is CommsMode.NOT_HALIBUT:
            writer.write(_http_response("404 Not Found", _NOT_FOUND_PAGE, "text/html"))
        elif head:
            writer.write(await self._halibut_answer(reader, head))
        # An empty request is dropped without an answer, as Halibut does.
        await writer.drain()

    async def _halibut_answer(
        self, reader: asyncio.StreamReader, head: Sequence[str]
    ) -> bytes:
        if head[0].startswith("MX"):
            identity = await read_head(reader)
            words = identity[0].split() if identity else []
            if len(words) == 3 and words[0] == "MX-SUBSCRIBER":  # noqa: PLR2004  (kind, version, id)
                self._subscriptions.append(words[2])
            return b"MX-SERVER 1.0\r\n\r\n"
        fields = _headers(head)
        request = head[0].split()
        if (
            len(request) == 3  # noqa: PLR2004  (method, target, version)
            and request[1] == self.websocket_path
            and fields.get("upgrade", "").lower() == "websocket"
        ):
            return _websocket_accept(fields.get("sec-websocket-key", ""))
        return _http_response(
            "200 OK",
            _FRIENDLY_PAGE,
            "text/html; charset=utf-8",
            version="HTTP/1.0",
            extra=("X-Content-Type-Options: nosniff", "X-Frame-Options: DENY"),
        )

    # ---- web API ---------------------------------------------------------------

    async def _serve_web(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if self._web_pki is not None:
            await start_tls(writer, _server_context(self._web_pki.leaf))
        head = await read_head(reader)
        if not head:
            return
        fields = _headers(head)
        length = fields.get("content-length", "0")
        if length.isdigit() and 0 < int(length) <= _BODY_LIMIT:
            await reader.readexactly(int(length))
        request = head[0].split()
        if len(request) == 3:  # noqa: PLR2004  (method, target, version)
            answer = self._route(request[0], request[1].split("?")[0], fields)
        else:
            answer = _json_response("400 Bad Request", {"ErrorMessage": "Bad request"})
        writer.write(answer)
        await writer.drain()

    def _route(self, method: str, path: str, fields: dict[str, str]) -> bytes:
        if method != "GET":
            return _json_response(
                "405 Method Not Allowed", {"ErrorMessage": "GET only"}
            )
        if path == "/api/octopusservernodes/ping":
            return _json_response(_NODE_CODES[self.mode], self.node_json())
        if path not in {"/api", "/api/"}:
            return _json_response("404 Not Found", {"ErrorMessage": "Not found"})
        if not self._authorised(fields):
            message = "You must be logged in to perform this action."
            return _json_response("401 Unauthorized", {"ErrorMessage": message})
        return _json_response("200 OK", self.root_document())

    def _authorised(self, fields: dict[str, str]) -> bool:
        if self._api_key is None:
            return True
        given = fields.get("x-octopus-apikey") or fields.get("authorization", "")
        given = given.removeprefix("Bearer ")
        return hmac.compare_digest(given.encode(), self._api_key.reveal().encode())

    def node_json(self) -> dict[str, object]:
        """The JSON body of this node's ping (field names like Octopus's node resource).

        .. versionadded:: 0.1.0
        """
        return {
            "Id": f"OctopusServerNodes-{self.name}",
            "Name": self.name,
            "MaxConcurrentTasks": 5,
            "IsInMaintenanceMode": self.mode is NodeMode.DRAINING,
            "IsOffline": self.mode is NodeMode.DOWN,
            "Rank": "Leader" if self.name.endswith("1") else "Follower",
        }

    def root_document(self) -> dict[str, object]:
        """The JSON ``GET /api`` answers: a trimmed Octopus root document.

        .. versionadded:: 0.1.0
        """
        links = {
            "Self": "/api",
            "CurrentUser": "/api/users/me",
            "CertificateConfiguration": "/api/configuration/certificates{/id}",
            "Spaces": "/api/spaces{/id}{?skip,ids,take,partialName}",
            "OctopusServerNodes": "/api/octopusservernodes{/id}{?skip,take,ids}",
            "SignIn": "/api/users/login{?returnUrl}",
        }
        return {
            "Application": "Octopus Deploy",
            "Version": self.version,
            "ApiVersion": "3.0.0",
            "InstallationId": str(uuid.uuid5(uuid.NAMESPACE_URL, self.name)),
            "Links": links,
        }


def _json_response(status: str, body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    return _http_response(status, data, "application/json; charset=utf-8")


def _websocket_accept(key: str) -> bytes:
    digest = hashlib.sha1((key + _WS_GUID).encode(), usedforsecurity=False).digest()
    accept = base64.b64encode(digest).decode("ascii")
    lines = (
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept}",
        "Sec-WebSocket-Protocol: Octopus",
    )
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@functools.lru_cache(maxsize=64)
def _server_context(bundle: CertificateBundle) -> ssl.SSLContext:
    return bundle.server_context()


# --------------------------------------------------------------------------
# The fake cluster
# --------------------------------------------------------------------------


class FakeOctopusCluster(_Service):
    """Several fake nodes sharing one comms certificate, as a real HA cluster does.

    All nodes run on one background thread. With ``load_balancer=True`` a TCP
    passthrough on loopback spreads comms connections over the running nodes in
    turn (see `load_balancer_address`).

    Args:
        n: how many nodes (named ``Node1``, ``Node2``, ... unless ``names`` is given).
        names: the node names; overrides ``n``.
        certificate: the shared comms certificate; a new one when None.
        api_key: as for `FakeOctopusNode`, on every node.
        api_tls: HTTPS web APIs, all signed by one test CA (`api_ca`).
        load_balancer: also run the TCP passthrough load balancer.
        host: the loopback address to listen on.

    .. versionadded:: 0.1.0
    """

    def __init__(
        self,
        n: int = 3,
        *,
        names: Sequence[str] | None = None,
        certificate: CertificateBundle | None = None,
        api_key: str | Secret | None = None,
        api_tls: bool = False,
        load_balancer: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        names = list(names) if names is not None else [f"Node{i + 1}" for i in range(n)]
        if not names or len(set(names)) != len(names):
            raise FakeServerError("a fake cluster needs one or more unique node names")
        self._certificate = certificate or generate_certificate("Octopus Portal")
        pki = _WebPki.make(host) if api_tls else None
        self.nodes: tuple[FakeOctopusNode, ...] = tuple(
            FakeOctopusNode(
                name, certificate=self._certificate, api_key=api_key, host=host
            )
            for name in names
        )
        for node in self.nodes:
            node._web_pki = pki  # noqa: SLF001  (one CA and HTTPS cert for the cluster)
        self.host = host
        self._pki = pki
        self._runner: _LoopThread | None = None
        self._connections = _Connections()
        self._balancer: _Listener | None = None
        self._want_balancer = load_balancer
        self._turn = itertools.count()

    def __repr__(self) -> str:
        state = "running" if self._runner is not None else "stopped"
        return f"<FakeOctopusCluster {len(self.nodes)} nodes {state}>"

    def _is_running(self) -> bool:
        return self._runner is not None

    def _start(self) -> None:
        self._runner = _LoopThread(f"tentacle_ha.testing:cluster-{id(self):x}")
        self._runner.start()
        for node in self.nodes:
            node._runner = self._runner  # noqa: SLF001  (nodes share our loop)
            node.start()
        if self._want_balancer:
            serve = self._connections.wrap(self._balance)
            self._balancer = _Listener(self.host, serve)
            self._runner.call(self._balancer.listen())

    def stop(self) -> None:
        """Stop every node and the load balancer, then the background thread.

        .. versionadded:: 0.1.0
        """
        runner = self._runner
        if runner is None:
            return
        for node in self.nodes:
            node.stop()
            node._runner = None  # noqa: SLF001  (detach from our loop)
        runner.call(self._astop())
        runner.stop()
        self._runner = None

    async def _astop(self) -> None:
        if self._balancer is not None:
            await self._balancer.close()
            self._balancer = None
        await self._connections.cancel_all()

    @property
    def api_ca(self) -> CertificateBundle | None:
        """The test CA behind the HTTPS web APIs (None for plain HTTP)."""
        return None if self._pki is None else self._pki.ca

    @property
    def server_url(self) -> str:
        """The URL to register through: the first node's web URL."""
        return self.nodes[0].web_url

    @property
    def comms_addresses(self) -> tuple[str, ...]:
        """Every node's comms address, in node order."""
        return tuple(node.comms_address for node in self.nodes)

    @property
    def load_balancer_address(self) -> str:
        """``https://127.0.0.1:PORT`` of the load balancer (raises without one)."""
        if self._balancer is None:
            raise FakeServerError("this fake cluster runs no load balancer")
        return f"https://{format_authority(self.host, self._balancer.port)}"

    def node(self, name: str) -> FakeOctopusNode:
        """The node called ``name``.

        Raises:
            FakeServerError: no node has that name.

        .. versionadded:: 0.1.0
        """
        for node in self.nodes:
            if node.name == name:
                return node
        raise FakeServerError(f"no fake node named {name!r}")

    async def _balance(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        running = [n for n in self.nodes if n._started]  # noqa: SLF001  (same module)
        if not running:
            return
        node = running[next(self._turn) % len(running)]
        upstream = await asyncio.open_connection(node.host, node.comms_port)
        await _splice((reader, writer), upstream)


# --------------------------------------------------------------------------
# pytest fixtures, made on first use so that pytest is not a dependency.
# --------------------------------------------------------------------------

_FIXTURES: Final = ("fake_octopus_cluster", "fake_octopus_node")


@functools.cache
def _fixtures() -> dict[str, object]:
    import pytest  # noqa: PLC0415  (only when a test suite asks for the fixtures)

    @pytest.fixture
    def fake_octopus_cluster() -> Iterator[FakeOctopusCluster]:
        """A running three-node `FakeOctopusCluster`, stopped after the test."""
        with FakeOctopusCluster() as cluster:
            yield cluster

    @pytest.fixture
    def fake_octopus_node() -> Iterator[FakeOctopusNode]:
        """A running `FakeOctopusNode`, stopped after the test."""
        with FakeOctopusNode() as node:
            yield node

    return {
        "fake_octopus_cluster": fake_octopus_cluster,
        "fake_octopus_node": fake_octopus_node,
    }


def __getattr__(name: str) -> object:
    if name in _FIXTURES:
        return _fixtures()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_FIXTURES})
