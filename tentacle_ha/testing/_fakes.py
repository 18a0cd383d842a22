"""Loopback stand-ins for Octopus Server nodes, for your tests and demos.

`FakeOctopusNode` runs real servers on ``127.0.0.1`` (any free port):

* a web API answering ``GET /api`` with a root-document-like JSON (with the
  ``Links`` Octopus.Client follows), ``GET /api/octopusservernodes`` with the
  node list (every node of a `FakeOctopusCluster`, paged by ``take``/``skip``
  with ``Links["Page.Next"]``), ``GET
  /api/configuration/certificates/certificate-global`` with the comms
  certificate's ``Thumbprint``, ``GET /api/spaces`` with the `spaces`, and
  ``GET /api/octopusservernodes/ping``
  with 200, 418 or 503 as `NodeMode` says (switchable while running), plain
  HTTP by default or HTTPS signed by a test CA; with ``api_key`` every
  ``/api`` document but the ping answers 401 without it;
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

    from tentacle_ha.testing._fakes import fake_octopus_cluster  # noqa: F401

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import abc
import asyncio
import base64
import enum
import functools
import hashlib
import hmac
import itertools
import json
import uuid
from typing import TYPE_CHECKING
from typing import Final
from typing import Self

from tentacle_ha._secret import Secret
from tentacle_ha.check._proxy import format_authority
from tentacle_ha.check._proxy import read_head
from tentacle_ha.check._proxy import start_tls
from tentacle_ha.errors import FakeServerError
from tentacle_ha.testing._certs import CertificateBundle
from tentacle_ha.testing._certs import WebPki
from tentacle_ha.testing._certs import generate_certificate
from tentacle_ha.testing._loopback import Connections
from tentacle_ha.testing._loopback import Listener
from tentacle_ha.testing._loopback import LoopThread
from tentacle_ha.testing._loopback import headers
from tentacle_ha.testing._loopback import http_response
from tentacle_ha.testing._loopback import splice

if TYPE_CHECKING:
    import ssl
    from collections.abc import Callable
    from collections.abc import Iterator
    from collections.abc import Sequence
    from types import TracebackType

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
        api_key: when set, ``/api``, the node list and the certificate
            document require it (``X-Octopus-ApiKey`` or ``Authorization:
            Bearer``) and answer 401 without it; the ping never does.
        api_tls: serve the web API over HTTPS with a certificate from a test CA
            (see `api_ca`); plain HTTP otherwise.
        host: the loopback address to listen on.
        version: the Octopus Server version the root document reports
            (``Version``); settable while running. The default, 2026.4.0, has
            multi-node polling (the load-balancer layout); set e.g.
            ``"2025.1.0"`` to test a server that lacks it.
        websocket_path: the path at which the comms port accepts WebSocket
            upgrades (see `websocket_address`).
        spaces: the space names ``/api/spaces`` lists (the first is the
            default space); settable while running.

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
        version: str = "2026.4.0",
        websocket_path: str = "/OctopusComms",
        spaces: Sequence[str] = ("Default",),
    ) -> None:
        self.name = name
        self.spaces = list(spaces)
        self.mode = NodeMode(mode)
        self.version = version
        self.websocket_path = websocket_path
        self.host = host
        self._comms_mode = CommsMode(comms_mode)
        self._certificate = certificate or generate_certificate("Octopus Portal")
        self._other: CertificateBundle | None = None
        self._api_key = Secret(api_key) if isinstance(api_key, str) else api_key
        self._web_pki = WebPki.make(host) if api_tls else None
        self._subscriptions: list[str] = []
        # What ``/api/octopusservernodes`` lists: this node alone, or a
        # cluster's nodes (set by `FakeOctopusCluster`).
        self._listed: Callable[[], Sequence[FakeOctopusNode]] = lambda: (self,)
        self._connections = Connections()
        self._runner: LoopThread | None = None
        self._own_runner = False
        self._comms: Listener | None = None
        self._web: Listener | None = None
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
            self._runner = LoopThread(f"tentacle_ha.testing:{self.name}")
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
            self._web = Listener(self.host, self._connections.wrap(self._serve_web))
            self._comms = Listener(self.host, self._connections.wrap(self._serve_comms))
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

    def _running(self, listener: Listener | None) -> Listener:
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
            writer.write(http_response("400 Bad Request", b"", "text/plain"))
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
            writer.write(http_response("404 Not Found", _NOT_FOUND_PAGE, "text/html"))
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
        fields = headers(head)
        request = head[0].split()
        if (
            len(request) == 3  # noqa: PLR2004  (method, target, version)
            and request[1] == self.websocket_path
            and fields.get("upgrade", "").lower() == "websocket"
        ):
            return _websocket_accept(fields.get("sec-websocket-key", ""))
        return http_response(
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
        fields = headers(head)
        length = fields.get("content-length", "0")
        if length.isdigit() and 0 < int(length) <= _BODY_LIMIT:
            await reader.readexactly(int(length))
        request = head[0].split()
        if len(request) == 3:  # noqa: PLR2004  (method, target, version)
            path, _, query = request[1].partition("?")
            answer = self._route(request[0], path, fields, query)
        else:
            answer = _json_response("400 Bad Request", {"ErrorMessage": "Bad request"})
        writer.write(answer)
        await writer.drain()

    def _route(
        self, method: str, path: str, fields: dict[str, str], query: str = ""
    ) -> bytes:
        if method != "GET":
            return _json_response(
                "405 Method Not Allowed", {"ErrorMessage": "GET only"}
            )
        if path == "/api/octopusservernodes/ping":
            return _json_response(_NODE_CODES[self.mode], self.node_json())
        documents: dict[str, Callable[[], dict[str, object]]] = {
            "/api": self.root_document,
            "/api/": self.root_document,
            _NODES_PATH: lambda: self.node_list(_query(query)),
            _SPACES_PATH: self.space_list,
            _CERTIFICATE_PATH: self.certificate_document,
        }
        document = documents.get(path)
        if document is None:
            return _json_response("404 Not Found", {"ErrorMessage": "Not found"})
        if not self._authorised(fields):
            message = "You must be logged in to perform this action."
            return _json_response("401 Unauthorized", {"ErrorMessage": message})
        return _json_response("200 OK", document())

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

    def node_list(self, query: dict[str, str] | None = None) -> dict[str, object]:
        """The JSON of ``GET /api/octopusservernodes``: a page of node resources.

        Octopus's collection shape: ``Items`` (the nodes' `node_json`),
        ``TotalResults``, ``ItemsPerPage`` and ``Links`` with ``Page.Next``
        while more follow; ``take`` (default 30) and ``skip`` page it.

        .. versionadded:: 0.1.0
        """
        query = query or {}
        nodes = list(self._listed())
        take = int(query["take"]) if query.get("take", "").isdigit() else 30
        skip = int(query["skip"]) if query.get("skip", "").isdigit() else 0
        take = max(take, 1)
        links = {"Self": f"{_NODES_PATH}?skip={skip}&take={take}"}
        if skip + take < len(nodes):
            links["Page.Next"] = f"{_NODES_PATH}?skip={skip + take}&take={take}"
        return {
            "ItemType": "OctopusServerNode",
            "TotalResults": len(nodes),
            "ItemsPerPage": take,
            "Items": [node.node_json() for node in nodes[skip : skip + take]],
            "Links": links,
        }

    def space_list(self) -> dict[str, object]:
        """The JSON of ``GET /api/spaces``: one page of every space in `spaces`.

        .. versionadded:: 0.1.0
        """
        items = [
            {"Id": f"Spaces-{number}", "Name": name, "IsDefault": number == 1}
            for number, name in enumerate(self.spaces, 1)
        ]
        return {
            "ItemType": "Space",
            "TotalResults": len(items),
            "Items": items,
            "Links": {"Self": _SPACES_PATH},
        }

    def certificate_document(self) -> dict[str, object]:
        """The JSON of ``certificate-global``: the comms certificate's thumbprint.

        .. versionadded:: 0.1.0
        """
        return {
            "Id": "certificate-global",
            "Name": "Octopus Portal",
            "Thumbprint": self._certificate.thumbprint,
            "SignatureAlgorithm": "sha256RSA",
            "Links": {"Self": _CERTIFICATE_PATH},
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


_NODES_PATH: Final = "/api/octopusservernodes"
_SPACES_PATH: Final = "/api/spaces"
_CERTIFICATE_PATH: Final = "/api/configuration/certificates/certificate-global"


def _query(text: str) -> dict[str, str]:
    pairs = (part.partition("=") for part in text.split("&") if part)
    return {name: value for name, _, value in pairs}


def _json_response(status: str, body: dict[str, object]) -> bytes:
    data = json.dumps(body).encode()
    return http_response(status, data, "application/json; charset=utf-8")


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
        version: the Octopus Server version every node's root document reports
            (see `FakeOctopusNode`); each node's ``version`` can be changed later.
        spaces: the space names every node's ``/api/spaces`` lists.

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
        version: str = "2026.4.0",
        spaces: Sequence[str] = ("Default",),
    ) -> None:
        names = list(names) if names is not None else [f"Node{i + 1}" for i in range(n)]
        if not names or len(set(names)) != len(names):
            raise FakeServerError("a fake cluster needs one or more unique node names")
        self._certificate = certificate or generate_certificate("Octopus Portal")
        self.host = host
        self._pki = WebPki.make(host) if api_tls else None
        self._api_key = api_key
        self._version = version
        self._spaces = tuple(spaces)
        self.nodes: tuple[FakeOctopusNode, ...] = tuple(map(self._member, names))
        self._runner: LoopThread | None = None
        self._connections = Connections()
        self._balancer: Listener | None = None
        self._want_balancer = load_balancer
        self._turn = itertools.count()

    def __repr__(self) -> str:
        state = "running" if self._runner is not None else "stopped"
        return f"<FakeOctopusCluster {len(self.nodes)} nodes {state}>"

    def _is_running(self) -> bool:
        return self._runner is not None

    def _start(self) -> None:
        self._runner = LoopThread(f"tentacle_ha.testing:cluster-{id(self):x}")
        self._runner.start()
        for node in self.nodes:
            node._runner = self._runner  # noqa: SLF001  (nodes share our loop)
            node.start()
        if self._want_balancer:
            serve = self._connections.wrap(self._balance)
            self._balancer = Listener(self.host, serve)
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

    def _member(self, name: str) -> FakeOctopusNode:
        """A node of this cluster: our certificate, key, CA and node list."""
        node = FakeOctopusNode(
            name,
            certificate=self._certificate,
            api_key=self._api_key,
            host=self.host,
            version=self._version,
            spaces=self._spaces,
        )
        node._web_pki = self._pki  # noqa: SLF001  (one CA and HTTPS cert for the cluster)
        node._listed = lambda: self.nodes  # noqa: SLF001  (one node list, as one database)
        return node

    def add_node(self, name: str) -> FakeOctopusNode:
        """Add a node to the cluster (started when the cluster runs) and return it.

        It shares the comms certificate, API key and test CA, and every
        node's ``/api/octopusservernodes`` lists it from now on: a node that
        joined the cluster, e.g. for a drift test.

        Raises:
            FakeServerError: a node already has that name.

        .. versionadded:: 0.1.0
        """
        if any(node.name == name for node in self.nodes):
            raise FakeServerError(f"a fake node named {name!r} already exists")
        node = self._member(name)
        if self._runner is not None:
            node._runner = self._runner  # noqa: SLF001  (nodes share our loop)
            node.start()
        self.nodes = (*self.nodes, node)
        return node

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
        await splice((reader, writer), upstream)


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
