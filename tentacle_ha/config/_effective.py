"""Private: the effective configuration, the environment overlaid on the file.

Tentacle reads its settings through a chain of stores (tentacle-facts §1,
"Other stores"; ``AggregatedKeyValueStore``): the process environment first,
then a ``.env`` file, then Tentacle.config; the first store with a value
wins, and a default applies only when none has one. Both environment layers
are switched on only when the process environment has
``OCTOPUS_CONTRIBUTE_ENV_SETTINGS`` set to true (.NET ``bool.TryParse``: any
case, surrounding blanks allowed); the ``.env`` file cannot switch itself on.

The variables and the keys they stand for (`ENV_KEYS`) are exactly those of
Tentacle's ``MapsTentacleEnvironmentValuesToConfigItems`` and its shared base:
``TENTACLE_SERVICE_PORT``, ``TENTACLE_LISTEN_IP``, ``TENTACLE_NO_LISTEN``,
``TENTACLE_TRUSTED_SERVERS``, ``TENTACLE_APPLICATION_DIRECTORY``,
``TENTACLE_CERTIFICATE``, ``TENTACLE_CERTIFICATE_THUMBPRINT``,
``TENTACLE_POLLING_USE_DEFAULT_PROXY`` and
``TENTACLE_POLLING_CUSTOM_PROXY_{USER,PASSWORD,HOST,PORT}`` (the polling
proxy, ``Octopus.Server.Proxy.*``), and ``OCTOPUS_HOME``,
``OCTOPUS_NODE_CACHE``, ``OCTOPUS_USE_DEFAULT_PROXY`` and
``OCTOPUS_PROXY_{HOST,PORT,USER,PASSWORD}`` (the web proxy,
``Octopus.Proxy.*``). No other key has an environment variable:
``Tentacle.Communication.PollingConnectionCount``,
``Octopus.Communications.Squid`` and the rest come from the file only, and
no mapping is guessed for them. The polling connection count has its own
run-time variable, ``TentaclePollingConnectionCount``, read by the agent
whatever the flag says (`effective_polling_connections`).

A value that is empty or blank does not count, in either layer (Tentacle
keeps a variable only when ``!string.IsNullOrWhiteSpace``), so the next layer
is used. Values from the environment are plain text: proxy passwords and
``TENTACLE_CERTIFICATE`` are not machine-key encrypted there, and they are
shown masked (`tentacle_ha._secret.Secret`) like the file's secrets.

The ``.env`` format is Tentacle's own (``EnvFileConfigurationContributor``):
one ``NAME=VALUE`` per line, split at the first ``=``, name and value
trimmed; blank lines and lines starting with ``#`` in the first column are
skipped; quotes are not removed (``"x"`` is the three characters). Tentacle
ignores names it does not map, refuses a line without ``=`` and fails on a
mapped name given twice; `read_env_file` refuses both with
``path:line:col: message``. Lines are split at LF as on Linux (a CR before
it is trimmed with the value). Tentacle finds its ``.env`` by walking up from
its binary's folder (`locate_env_file`); here the file is given.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Final
from typing import Literal

import attrs

from tentacle_ha._atomic import read_regular
from tentacle_ha._secret import Secret
from tentacle_ha.config._document import TentacleConfig
from tentacle_ha.config._document import loads
from tentacle_ha.config._values import KEYS
from tentacle_ha.config._values import fold
from tentacle_ha.config._values import is_secret_key
from tentacle_ha.errors import ConfigValueError
from tentacle_ha.errors import EnvFileError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.servers import TrustedServers

if TYPE_CHECKING:
    from collections.abc import Iterator
    from collections.abc import Mapping

__all__ = [
    "CONTRIBUTE_FLAG",
    "ENV_KEYS",
    "MAX_POLLING_CONNECTIONS",
    "POLLING_COUNT_ENV",
    "EffectiveConfig",
    "EffectiveValue",
    "EnvFile",
    "SettingSource",
    "effective_config",
    "effective_polling_connections",
    "env_contributes",
    "locate_env_file",
    "parse_env_file",
    "read_env_file",
]

CONTRIBUTE_FLAG: Final = "OCTOPUS_CONTRIBUTE_ENV_SETTINGS"
"""The process environment variable that lets the environment and .env count."""

POLLING_COUNT_ENV: Final = "TentaclePollingConnectionCount"
"""The agent's run-time override of the polling connections per node."""

MAX_POLLING_CONNECTIONS: Final = 512
"""Tentacle caps the polling connections per node at this."""

_WEB: Final = KEYS.WEB_PROXY_PREFIX
_POLL: Final = KEYS.POLLING_PROXY_PREFIX

ENV_KEYS: Final[Mapping[str, str]] = {
    "TENTACLE_SERVICE_PORT": KEYS.PORT_NUMBER,
    "TENTACLE_LISTEN_IP": KEYS.LISTEN_IP,
    "TENTACLE_NO_LISTEN": KEYS.NO_LISTEN,
    "TENTACLE_TRUSTED_SERVERS": KEYS.TRUSTED_SERVERS,
    "TENTACLE_APPLICATION_DIRECTORY": KEYS.APPLICATION_DIRECTORY,
    "TENTACLE_CERTIFICATE": KEYS.CERTIFICATE,
    "TENTACLE_CERTIFICATE_THUMBPRINT": KEYS.CERTIFICATE_THUMBPRINT,
    "TENTACLE_POLLING_USE_DEFAULT_PROXY": _POLL + "UseDefaultProxy",
    "TENTACLE_POLLING_CUSTOM_PROXY_USER": _POLL + "ProxyUsername",
    "TENTACLE_POLLING_CUSTOM_PROXY_PASSWORD": _POLL + "ProxyPassword",
    "TENTACLE_POLLING_CUSTOM_PROXY_HOST": _POLL + "ProxyHost",
    "TENTACLE_POLLING_CUSTOM_PROXY_PORT": _POLL + "ProxyPort",
    "OCTOPUS_HOME": KEYS.HOME,
    "OCTOPUS_NODE_CACHE": "Octopus.Node.Cache",
    "OCTOPUS_USE_DEFAULT_PROXY": _WEB + "UseDefaultProxy",
    "OCTOPUS_PROXY_HOST": _WEB + "ProxyHost",
    "OCTOPUS_PROXY_PORT": _WEB + "ProxyPort",
    "OCTOPUS_PROXY_USER": _WEB + "ProxyUsername",
    "OCTOPUS_PROXY_PASSWORD": _WEB + "ProxyPassword",
}
"""Environment variable -> the Tentacle.config key it supplies (Tentacle's table)."""

_VARIABLE_OF: Final = {fold(key): name for name, key in ENV_KEYS.items()}
_ENV_FILE_MAX: Final = 1024 * 1024


def env_contributes(environ: Mapping[str, str]) -> bool:
    """Whether *environ* switches the environment layers on, as Tentacle reads it."""
    return environ.get(CONTRIBUTE_FLAG, "").strip().lower() == "true"


# -- where a value comes from --------------------------------------------------

SourceKind = Literal["environment", "env-file", "config", "default"]


@attrs.frozen(kw_only=True)
class SettingSource:
    """Where an effective value comes from.

    ``str()`` gives ``environment``, ``env-file FILE:LINE``,
    ``config PATH:LINE:COL`` or ``default``.

    .. versionadded:: 0.1.0
    """

    kind: SourceKind
    variable: str | None = None
    """The environment variable, for the environment layers."""
    path: str | None = None
    line: int | None = None
    col: int | None = None

    def __str__(self) -> str:
        if self.kind == "environment":
            return "environment"
        if self.kind == "default":
            return "default"
        where = [self.path or "-"]
        numbers = (self.line,) if self.kind == "env-file" else (self.line, self.col)
        where += [str(n) for n in numbers if n is not None]
        return f"{self.kind} {':'.join(where)}"

    def to_dict(self) -> dict[str, object]:
        """The source as plain JSON-ready values."""
        return {
            "source": self.kind,
            "variable": self.variable,
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "origin": str(self),
        }


@attrs.frozen(kw_only=True)
class EffectiveValue:
    """One key's effective value (secrets as `Secret`) and where it comes from.

    .. versionadded:: 0.1.0
    """

    key: str
    value: str | Secret | None = attrs.field(repr=False)
    source: SettingSource
    overrides: SettingSource | None = None
    """The file's element this value hides, when the environment supplies it."""


# -- the .env file -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EnvFile:
    """The mapped variables of a ``.env`` file (no public constructor).

    Attributes:
        path: the file.
        entries: variable -> (value, line, column of the value), mapped
            variables only; values may be blank (they then do not count).

    .. versionadded:: 0.1.0
    """

    path: str
    entries: Mapping[str, tuple[str, int, int]] = attrs.field(repr=False)


def parse_env_file(text: str, *, path: str) -> EnvFile:
    """Read ``.env`` text as Tentacle does (module docstring).

    Raises:
        EnvFileError: a line without ``=``, or a mapped variable given twice.
    """
    entries: dict[str, tuple[str, int, int]] = {}
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        split = line.find("=")
        if split < 0:
            msg = (
                "not NAME=VALUE (no '='); Tentacle refuses the whole file "
                f"(Line {number} is not formatted correctly)"
            )
            raise EnvFileError(msg, path=path, line=number, col=1)
        name = line[:split].strip()
        raw = line[split + 1 :]
        value = raw.strip()
        if name not in ENV_KEYS:
            continue  # Tentacle ignores what it does not map
        if name in entries:
            msg = (
                f"{name} is set twice (first on line {entries[name][1]}); "
                "Tentacle fails to start on such a file"
            )
            raise EnvFileError(msg, path=path, line=number, col=1)
        col = split + 2 + (len(raw) - len(raw.lstrip()))
        entries[name] = (value, number, col)
    return EnvFile(path=path, entries=entries)


def read_env_file(path: str | os.PathLike[str]) -> EnvFile:
    """Read and parse a ``.env`` file (UTF-8, an optional BOM; at most 1 MiB).

    Raises:
        EnvFileError: malformed (see `parse_env_file`), not UTF-8, or too large.
        OSError: it cannot be read.
    """
    shown = os.fspath(path)
    data, _ = read_regular(path, limit=_ENV_FILE_MAX)
    if len(data) > _ENV_FILE_MAX:
        raise EnvFileError(".env file is over 1 MiB; not read", path=shown)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start].decode("utf-8-sig", "replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise EnvFileError("not UTF-8", path=shown, line=line, col=col) from None
    return parse_env_file(text, path=shown)


def locate_env_file(binary_dir: str | os.PathLike[str]) -> str | None:
    """The ``.env`` Tentacle would read: in *binary_dir* or the nearest parent.

    Tentacle starts at its own binary's folder (e.g. ``/opt/octopus/tentacle``)
    and walks up to the root; None when no folder on the way has one.
    """
    folder = Path(binary_dir).absolute()
    for parent in (folder, *folder.parents):
        candidate = parent / ".env"
        if candidate.is_file():
            return str(candidate)
    return None


# -- the overlay ---------------------------------------------------------------------


def _shown(key: str, text: str) -> str | Secret | None:
    if not text.strip():
        return None
    return Secret(text) if is_secret_key(key) else text


@attrs.frozen(kw_only=True)
class EffectiveConfig:
    """A Tentacle.config with the environment Tentacle would overlay on it.

    Build one with `effective_config`. Iterating gives every key with a
    value in any layer: the file's keys in file order, then keys only the
    environment supplies, in `ENV_KEYS` order.

    .. versionadded:: 0.1.0
    """

    doc: TentacleConfig
    contributes: bool
    """Whether ``OCTOPUS_CONTRIBUTE_ENV_SETTINGS`` is true (else the file alone)."""
    env_file: EnvFile | None
    values: tuple[EffectiveValue, ...]
    polling_connections: tuple[int, SettingSource]
    """`effective_polling_connections` of the same layers."""

    def __iter__(self) -> Iterator[EffectiveValue]:
        return iter(self.values)

    def get(self, key: str) -> EffectiveValue | None:
        """The effective value of *key* (compared ignoring case), or None."""
        folded = fold(key)
        return next((v for v in self.values if fold(v.key) == folded), None)

    def _text(self, key: str) -> str | None:
        found = self.get(key)
        if found is None or found.value is None:
            return None
        value = found.value
        return value.reveal() if isinstance(value, Secret) else value

    @property
    def overridden(self) -> tuple[EffectiveValue, ...]:
        """The values an environment layer supplies."""
        return tuple(v for v in self.values if v.source.kind != "config")

    @property
    def trusted_servers(self) -> TrustedServers:
        """The effective TrustedOctopusServers, parsed.

        Raises:
            TrustedServersError: the array is broken; positioned in the file,
                in the ``.env`` file, or in ``$TENTACLE_TRUSTED_SERVERS``.
        """
        found = self.get(KEYS.TRUSTED_SERVERS)
        if found is None or found.source.kind == "config":
            return self.doc.trusted_servers
        text = self._text(KEYS.TRUSTED_SERVERS)
        source = found.source
        if source.kind == "env-file":
            line, start = source.line or 1, source.col or 1

            def locate(index: int) -> tuple[str | None, int, int]:
                return source.path, line, start + index
        else:

            def locate(index: int) -> tuple[str | None, int, int]:
                return f"${source.variable}", 1, index + 1

        return TrustedServers.from_json(text, locate=locate)

    def as_config(self) -> TentacleConfig:
        """An in-memory copy of the file with the effective values written in.

        For code that takes a `TentacleConfig` (the checks); never saved.
        Secrets from the environment go in as given: plain text, where the
        file holds machine-key-encrypted text.

        Raises:
            TrustedServersError: the effective server list is broken.
            InvalidValueError: an environment value cannot stand for its key
                (e.g. a port that is not a number); the message names where
                the value comes from.
        """
        copy = loads(self.doc.dumps(), path=self.doc.path)
        servers = self.trusted_servers  # positioned errors first
        for value in self.overridden:
            text = self._text(value.key)
            try:
                if fold(value.key) == fold(KEYS.TRUSTED_SERVERS):
                    copy.set(value.key, servers.to_json() if text else None)
                else:
                    copy.set(value.key, Secret(text) if text else None)
            except InvalidValueError as exc:
                source = value.source
                env_file = source.kind == "env-file"
                raise InvalidValueError(
                    f"{source.variable}: {exc.message}" if env_file else exc.message,
                    path=source.path if env_file else f"${source.variable}",
                    line=source.line,
                    col=source.col,
                ) from None
        return copy


def _config_source(doc: TentacleConfig, key: str) -> SettingSource:
    line, col = doc.position(key) or (None, None)
    return SettingSource(kind="config", path=doc.path, line=line, col=col)


def _layer_value(
    variable: str, environ: Mapping[str, str], env_file: EnvFile | None
) -> tuple[str, SettingSource] | None:
    text = environ.get(variable)
    if text is not None and text.strip():
        return text, SettingSource(kind="environment", variable=variable)
    if env_file is not None and variable in env_file.entries:
        value, line, _col = env_file.entries[variable]
        if value.strip():
            source = SettingSource(
                kind="env-file", variable=variable, path=env_file.path, line=line
            )
            return value, attrs.evolve(source, col=_col)
    return None


def _int32(text: str) -> int | None:
    """*text* as .NET ``int.TryParse`` reads it (blanks, a sign, digits), or None."""
    stripped = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", stripped):
        return None
    number = int(stripped)
    return number if -(2**31) <= number < 2**31 else None


def effective_polling_connections(
    doc: TentacleConfig, environ: Mapping[str, str] | None = None
) -> tuple[int, SettingSource]:
    """The polling connections per node the agent opens, and why.

    Tentacle's run-time rule (``HalibutInitializer``):
    ``TentaclePollingConnectionCount`` from the process environment if it
    parses as a non-negative whole number (read whatever
    ``OCTOPUS_CONTRIBUTE_ENV_SETTINGS`` says), else the configured count if
    above 0, else 1; 0 means 1, and at most 512.

    Raises:
        ConfigValueError: the file's count is not a whole number.
    """
    env = {} if environ is None else environ
    from_env = _int32(env.get(POLLING_COUNT_ENV, ""))
    if from_env is not None and from_env >= 0:
        count = from_env
        source = SettingSource(kind="environment", variable=POLLING_COUNT_ENV)
    else:
        configured = doc.polling_connection_count
        if configured is not None and configured > 0:
            count = configured
            source = _config_source(doc, KEYS.POLLING_CONNECTION_COUNT)
        else:
            count, source = 1, SettingSource(kind="default")
    return max(1, min(count, MAX_POLLING_CONNECTIONS)), source


def effective_config(
    doc: TentacleConfig,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: EnvFile | str | os.PathLike[str] | None = None,
) -> EffectiveConfig:
    """Overlay *environ* (default: this process's) and *env_file* on *doc*.

    The layers count only when *environ* has ``OCTOPUS_CONTRIBUTE_ENV_SETTINGS``
    true; then, per key, a non-blank value from *environ* wins, else one from
    *env_file*, else the file's (module docstring).

    Raises:
        EnvFileError: *env_file* is malformed.
        OSError: *env_file* cannot be read.

    .. versionadded:: 0.1.0
    """
    env = os.environ if environ is None else environ
    parsed = (
        env_file
        if isinstance(env_file, EnvFile) or env_file is None
        else read_env_file(env_file)
    )
    on = env_contributes(env)
    values: list[EffectiveValue] = []
    seen: set[str] = set()
    for key in doc:
        seen.add(fold(key))
        variable = _VARIABLE_OF.get(fold(key))
        layer = _layer_value(variable, env, parsed) if on and variable else None
        if layer is None:
            value = doc.get(key)
            values.append(
                EffectiveValue(key=key, value=value, source=_config_source(doc, key))
            )
        else:
            text, source = layer
            values.append(
                EffectiveValue(
                    key=key,
                    value=_shown(key, text),
                    source=source,
                    overrides=_config_source(doc, key),
                )
            )
    for variable, key in ENV_KEYS.items():
        if not on or fold(key) in seen:
            continue
        layer = _layer_value(variable, env, parsed)
        if layer is not None:
            text, source = layer
            values.append(
                EffectiveValue(key=key, value=_shown(key, text), source=source)
            )
    try:
        count = effective_polling_connections(doc, env)
    except ConfigValueError:
        count = (1, SettingSource(kind="default"))
    return EffectiveConfig(
        doc=doc,
        contributes=on,
        env_file=parsed,
        values=tuple(values),
        polling_connections=count,
    )
