"""The cluster as the server API describes it: ``cluster init`` and server-side drift.

`server_target` makes the `ApiTarget` for a server URL the way ``check``
does (the API key from an environment variable, the system proxy unless
``no_proxy`` says otherwise, ``--ca-bundle`` or ``REQUESTS_CA_BUNDLE`` /
``SSL_CERT_FILE``, no API key over plain http without ``insecure_http``).
`init_command` is ``tentacle-ha cluster init --server URL``: it reads the
server (`tentacle_ha.check.read_server`) and prints a first cluster file
(`tentacle_ha.cluster.draft_cluster`) or the same as JSON. `drift_rows`
turns `tentacle_ha.cluster.server_drift` into check rows for ``check
--cluster``; `skipped_row` says why they could not be made.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tentacle_ha.check._checks import DEFAULT_TIMEOUT
from tentacle_ha.check._checks import ApiTarget
from tentacle_ha.check._checks import _strip_userinfo
from tentacle_ha.check._driftrows import drift_rows
from tentacle_ha.check._driftrows import rotation_fix
from tentacle_ha.check._driftrows import skipped_row
from tentacle_ha.check._server import read_server_sync
from tentacle_ha.check.targets import _ca_verify
from tentacle_ha.check.targets import _env_secret
from tentacle_ha.check.targets import proxy_from_settings
from tentacle_ha.check.targets import system_proxies
from tentacle_ha.cluster import draft_cluster
from tentacle_ha.cluster import draft_data
from tentacle_ha.config import ProxySettings
from tentacle_ha.errors import InvalidValueError

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping

    from tentacle_ha._secret import Secret
    from tentacle_ha.check._proxy import HttpProxy
    from tentacle_ha.cluster import ServerState

__all__ = [
    "drift_rows",
    "init_command",
    "read_command_server",
    "rotation_fix",
    "server_target",
    "skipped_row",
]


def server_target(
    server: str,
    *,
    api_key: Secret | None,
    environ: Mapping[str, str] | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure_http: bool = False,
    proxy: HttpProxy | None = None,
) -> ApiTarget:
    """The `ApiTarget` for *server*, with ``check``'s proxy and CA rules.

    Args:
        server: the Octopus Server URL.
        api_key: sent as ``X-Octopus-ApiKey``.
        environ: where the system proxy and CA bundle variables are read
            (the process environment when None).
        ca_bundle: PEM CA certificates for https (see ``check``).
        insecure_http: allow the API key over plain http.
        proxy: the proxy to use; when None the system proxy applies, as
            Tentacle's ``Octopus.Proxy.UseDefaultProxy`` (its default) does.

    Raises:
        InvalidValueError: not an http(s) URL, the CA bundle cannot be read,
            or the key would go over plain http without ``insecure_http``.

    .. versionadded:: 0.1.0
    """
    env = os.environ if environ is None else environ
    if proxy is None:
        system = None if environ is None else system_proxies(environ)
        proxy = proxy_from_settings(ProxySettings(), url=server, system=system)
    return ApiTarget(
        server_url=server,
        api_key=api_key,
        proxy=proxy,
        verify=_ca_verify(ca_bundle, env),
        name="server",
        insecure_http=insecure_http,
    )


def read_command_server(
    server: str,
    *,
    api_key_env: str = "OCTOPUS_API_KEY",
    environ: Mapping[str, str] | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure_http: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    warn: Callable[[str], None] | None = None,
    space: str | None = None,
) -> ServerState:
    """Read *server* for a command (``cluster init``, ``fleet audit --server``).

    The API key comes from the ``api_key_env`` environment variable (never
    the command line), the rest as for `server_target`; with
    ``insecure_http`` and an http:// URL, ``warn`` gets a one-line warning
    before the key is sent; *space* is looked up too (see `read_server`).

    Raises:
        InvalidValueError: no API key, a bad URL or CA bundle, or plain http
            without ``insecure_http``.
        ServerApiError: the API could not be read (one line, naming the URL).

    .. versionadded:: 0.1.0
    """
    env = os.environ if environ is None else environ
    key = _env_secret(env, api_key_env)
    if key is None:
        msg = f"the node list and the certificate need an API key: set ${api_key_env}"
        raise InvalidValueError(msg, path=_strip_userinfo(server))
    target = server_target(
        server,
        api_key=key,
        environ=environ,
        ca_bundle=ca_bundle,
        insecure_http=insecure_http,
    )
    if warn is not None and urlsplit(server).scheme.lower() == "http":
        warn(
            f"warning: sending the API key over plain http:// to "
            f"{_strip_userinfo(server)} (--insecure-http): anyone on the path "
            "can read it"
        )
    return read_server_sync(target, timeout=timeout, space=space)


def init_command(
    server: str,
    *,
    api_key_env: str = "OCTOPUS_API_KEY",
    environ: Mapping[str, str] | None = None,
    space: str | None = None,
    ca_bundle: str | os.PathLike[str] | None = None,
    insecure_http: bool = False,
    json_output: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    warn: Callable[[str], None] | None = None,
) -> str:
    """Run ``tentacle-ha cluster init --server URL``; return what it prints.

    Reads the root document, the node list and ``certificate-global`` with
    the API key from the ``api_key_env`` environment variable and returns
    the cluster file `tentacle_ha.cluster.draft_cluster` draws, or with
    ``json_output`` the same as data (`tentacle_ha.cluster.draft_data`).
    ``space`` is looked up in the server's ``Spaces`` list (trimmed, any
    case) and goes into ``[defaults]`` as the server spells it. With
    ``insecure_http`` and an http:// URL, ``warn`` gets a one-line warning
    before the key is sent.

    Raises:
        InvalidValueError: no API key, a bad URL or CA bundle, or plain http
            without ``insecure_http``.
        ServerApiError: the API could not be read (one line, naming the URL).

    .. versionadded:: 0.1.0
    """
    state = read_command_server(
        server,
        api_key_env=api_key_env,
        environ=environ,
        ca_bundle=ca_bundle,
        insecure_http=insecure_http,
        timeout=timeout,
        warn=warn,
        space=space,
    )
    if json_output:
        return json.dumps(draft_data(state), indent=2) + "\n"
    return draft_cluster(state)
