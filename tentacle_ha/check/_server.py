"""Private: reading the cluster as the Octopus Server API describes it.

`read_server` follows the links of the root document as Octopus.Client does:
``GET {server}/api``, then the ``OctopusServerNodes`` link (every page, by
``Links["Page.Next"]``) for the node list and the
``CertificateConfiguration`` link with the id ``certificate-global`` for the
comms certificate's ``Thumbprint``. Every request carries the API key as
``X-Octopus-ApiKey`` and goes through `tentacle_ha.check._httpget.http_get`
(the check's proxy, CA bundle and timeout rules); a link that leads to
another host than the server is not followed, so the key goes nowhere else.

Any failure is a `ServerApiError` with one line naming the URL (never the
key). The result is a `tentacle_ha.cluster.ServerState`.

With a space name, the ``Spaces`` link's list is read too. Field names
(``Items``, ``Name``, ``IsOffline``, ``IsInMaintenanceMode``,
``Thumbprint``, ``Links``) are Octopus.Client's resource models; they have
been checked against the loopback fakes only, not a live server.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING
from typing import Final
from typing import NoReturn
from urllib.parse import quote
from urllib.parse import urljoin
from urllib.parse import urlsplit

from tentacle_ha.check._checks import DEFAULT_TIMEOUT
from tentacle_ha.check._checks import ApiTarget
from tentacle_ha.check._checks import _strip_userinfo
from tentacle_ha.check._httpget import http_get
from tentacle_ha.check._httpget import json_object
from tentacle_ha.check._outcome import Stop
from tentacle_ha.cluster import ServerNode
from tentacle_ha.cluster import ServerState
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import ServerApiError
from tentacle_ha.servers import normalize_thumbprint

if TYPE_CHECKING:
    import httpx

__all__ = ["read_server", "read_server_sync"]

#: Pages of the node list followed at most (a real cluster has one).
MAX_PAGES: Final = 100
_HTTP_OK: Final = 200
_HINTS: Final = {401: ": API key missing or rejected", 403: ": API key not allowed"}
# A version as Octopus writes one (2026.4.1, 2025.3.12345-hotfix): anything
# else (control characters, TOML, a novel) is "unknown", never copied out.
_VERSION: Final = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+-]{0,63}")
_SHOWN_MAX: Final = 60
_NAMES_SHOWN: Final = 10


def _clip(text: str) -> str:
    return text if len(text) <= _SHOWN_MAX else text[: _SHOWN_MAX - 3] + "..."


def _shown(value: object) -> str:
    """A server's value for a one-line message: at most 60 characters; a
    string as it is when printable, anything else as its repr."""
    if isinstance(value, str) and value.isprintable():
        return _clip(value)
    return _clip(repr(value))


def _version(value: object) -> str | None:
    if isinstance(value, str) and _VERSION.fullmatch(value.strip()):
        return value.strip()
    return None


_EXPRESSION: Final = re.compile(r"\{([/?&]?)([^}]*)\}")


def expand_link(template: str, **values: str) -> str:
    """Expand the RFC 6570 subset Octopus links use: ``{/id}``, ``{?a,b}``.

    A variable given in *values* is filled in (``{/id}`` -> ``/value``,
    ``{?skip,take}`` -> ``?take=value``); the others are dropped.
    """

    def fill(match: re.Match[str]) -> str:
        operator, names = match[1], match[2].split(",")
        given = [(n, values[n]) for n in names if n in values]
        if not given:
            return ""
        if operator == "/":
            return "".join(f"/{quote(v, safe='')}" for _, v in given)
        query = "&".join(f"{n}={quote(v, safe='')}" for n, v in given)
        if operator in {"?", "&"}:
            return f"{operator}{query}"
        return ",".join(quote(v, safe="") for _, v in given)

    return _EXPRESSION.sub(fill, template)


class _Reader:
    """The GETs of one `read_server`, sharing the target's settings."""

    def __init__(
        self,
        target: ApiTarget,
        seconds: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.target = target
        self.seconds = seconds
        self.transport = transport
        self.origin = urlsplit(target.server_url)[:2]
        self.headers = {"Accept": "application/json"}
        if target.api_key is not None:
            self.headers["X-Octopus-ApiKey"] = target.api_key.reveal()

    def resolve(self, link: object, what: str) -> str:
        """A link of the API as a URL on the server; refuse one to elsewhere."""
        if not isinstance(link, str) or not link:
            self.fail(f"the root document has no {what} link", "/api")
        base = self.target.server_url + "/"
        url = urljoin(base, link.removeprefix("~/"))
        parts = urlsplit(url)
        if (parts.scheme.lower(), parts.netloc.lower()) != (
            self.origin[0].lower(),
            self.origin[1].lower(),
        ):
            self.fail(
                f"the {what} link leads to another host ({_strip_userinfo(url)}); "
                "not sending the API key there",
                "/api",
            )
        return url

    def fail(self, message: str, where: str) -> NoReturn:
        url = _strip_userinfo(urljoin(self.target.server_url + "/", where))
        raise ServerApiError(message, path=url)

    async def get(self, url: str) -> dict[str, object]:
        shown = _strip_userinfo(url)
        try:
            response = await http_get(
                url,
                proxy=self.target.proxy,
                verify=self.target.verify,
                headers=self.headers,
                seconds=self.seconds,
                transport=self.transport,
            )
        except Stop as stop:
            raise ServerApiError(stop.outcome.reason, path=shown) from None
        code = response.status_code
        if code != _HTTP_OK:
            raise ServerApiError(f"HTTP {code}{_HINTS.get(code, '')}", path=shown)
        body = json_object(response)
        if body is None:
            raise ServerApiError("the answer is not a JSON object", path=shown)
        return body

    async def items(self, link: object, what: str) -> list[tuple[object, str]]:
        """Every item of a collection, page by page: (item, the page's URL)."""
        url = self.resolve(expand_link(str(link or "")), what)
        found: list[tuple[object, str]] = []
        for _ in range(MAX_PAGES):
            page = await self.get(url)
            items = page.get("Items")
            if not isinstance(items, list):
                msg = f"the {what} list has no Items array"
                raise ServerApiError(msg, path=_strip_userinfo(url))
            found.extend((item, url) for item in items)
            links = page.get("Links")
            following = links.get("Page.Next") if isinstance(links, dict) else None
            if not following:
                return found
            url = self.resolve(following, "Page.Next")
        raise ServerApiError(
            f"the {what} list goes on for more than {MAX_PAGES} pages",
            path=_strip_userinfo(url),
        )

    async def nodes(self, link: object) -> tuple[ServerNode, ...]:
        listed = await self.items(link, "OctopusServerNodes")
        return tuple(_node(item, url) for item, url in listed)

    async def space(self, link: object, wanted: str | None) -> str | None:
        """The server's spelling of the space *wanted* (trimmed, any case)."""
        if wanted is None:
            return None
        names = [
            item["Name"]
            for item, _ in await self.items(link, "Spaces")
            if isinstance(item, dict) and isinstance(item.get("Name"), str)
        ]
        for name in names:
            if name.strip().lower() == wanted.strip().lower():
                return str(name).strip()
        known = ", ".join(_shown(n) for n in names[:_NAMES_SHOWN]) or "none"
        extra = len(names) - _NAMES_SHOWN
        more = f" and {extra} more" if extra > 0 else ""
        msg = f"no space named {wanted.strip()!r} (the server has: {known}{more})"
        raise ServerApiError(msg, path=_strip_userinfo(self.target.server_url + "/api"))

    async def thumbprint(self, link: object) -> str:
        template = str(link or "")
        url = self.resolve(
            expand_link(template, id="certificate-global"), "CertificateConfiguration"
        )
        document = await self.get(url)
        value = document.get("Thumbprint")
        try:
            return normalize_thumbprint(value if isinstance(value, str) else "")
        except InvalidValueError:
            msg = f"certificate-global has no SHA-1 Thumbprint ({_clip(repr(value))})"
            raise ServerApiError(msg, path=_strip_userinfo(url)) from None


def _flag(item: dict[str, object], key: str) -> bool | None:
    value = item.get(key)
    return value if isinstance(value, bool) else None


def _node(item: object, url: str) -> ServerNode:
    fields: dict[str, object] = item if isinstance(item, dict) else {}
    name = fields.get("Name")
    if not isinstance(name, str) or not name.strip():
        msg = f"a node in the list has no Name: {_clip(repr(item))}"
        raise ServerApiError(msg, path=_strip_userinfo(url))
    return ServerNode(
        name=name.strip(),
        offline=_flag(fields, "IsOffline"),
        draining=_flag(fields, "IsInMaintenanceMode"),
    )


async def read_server(
    target: ApiTarget,
    *,
    timeout: float = DEFAULT_TIMEOUT,  # noqa: ASYNC109  (per-request limit, applied inside)
    transport: httpx.AsyncBaseTransport | None = None,
    space: str | None = None,
) -> ServerState:
    """Read the version, nodes and comms thumbprint of the server *target* names.

    Args:
        target: the server URL, API key, proxy and verification settings.
        timeout: seconds per request.
        transport: an httpx transport to use instead of the network (tests).
        space: also look this space up in the ``Spaces`` list (its name
            trimmed and compared ignoring case, as Tentacle's ``--space``
            does) and keep the server's spelling in `ServerState.space`.

    Raises:
        ServerApiError: a request failed (network, HTTP status, not JSON),
            an answer lacks what is needed, or there is no such *space*; one
            line, naming the URL.

    .. versionadded:: 0.1.0
    """
    reader = _Reader(target, timeout, transport)
    root = await reader.get(f"{target.server_url}/api")
    links = root.get("Links")
    if not isinstance(links, dict):
        reader.fail("the root document has no Links", "/api")
    nodes, thumbprint, found_space = await asyncio.gather(
        reader.nodes(links.get("OctopusServerNodes")),
        reader.thumbprint(links.get("CertificateConfiguration")),
        reader.space(links.get("Spaces"), space),
    )
    version = root.get("Version")
    return ServerState(
        server_url=_strip_userinfo(target.server_url),
        version=_version(version),
        thumbprint=thumbprint,
        nodes=nodes,
        space=found_space,
    )


def read_server_sync(
    target: ApiTarget, *, timeout: float = DEFAULT_TIMEOUT, space: str | None = None
) -> ServerState:
    """`read_server` for synchronous code: runs its own event loop.

    .. versionadded:: 0.1.0
    """
    return asyncio.run(read_server(target, timeout=timeout, space=space))
