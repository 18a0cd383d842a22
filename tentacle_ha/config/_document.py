"""`TentacleConfig`: read and edit a Tentacle.config without losing a byte.

Tentacle.config is XML: ``<octopus-settings>`` holding one ``<set key="...">``
per setting. `TentacleConfig` keeps the file's own text and splices edits into
it, so an untouched document comes back byte for byte and an edit changes only
the bytes of the setting it edits. lxml parses every input first (hardened: no
DTD, no entities, no network) and re-parses every output before it is returned
or written; the two views must agree. The one exception is the fast path
(`tentacle_ha.config._fast`): a common file edited only by value splices of
text escaped here, whose output is well-formed by construction; the property
tests run it against the general path, re-parsing its output, on every
generated document (``TENTACLE_HA_VERIFY_EDITS=1`` re-parses it at run time).

Keys follow Tentacle's rules: lookup ignores case and keeps the first spelling;
when two elements differ only in case the last one's value counts, and editing
that key collapses them into one element; setting a key to None or blank
writes an empty ``<set key="K" />`` (Tentacle never removes a key; `delete` is
ours). New keys go where Tentacle would sort them (ordinal order), styled like
their neighbours.

Secrets (``Tentacle.Certificate``, proxy passwords, ``Octopus.Storage.MasterKey``)
are opaque: kept exactly, returned as `Secret`, and never shown unless asked.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

import difflib
import os
from typing import TYPE_CHECKING
from typing import Final
from typing import overload

import attrs

from tentacle_ha import _writer
from tentacle_ha._atomic import MAX_FILE_SIZE
from tentacle_ha._atomic import read_regular
from tentacle_ha._secret import REDACTED
from tentacle_ha._secret import Secret
from tentacle_ha.config import _fast
from tentacle_ha.config import _source
from tentacle_ha.config import _splice
from tentacle_ha.config._values import KEYS
from tentacle_ha.config._values import SECRET_KEYS
from tentacle_ha.config._values import Value
from tentacle_ha.config._values import fold
from tentacle_ha.config._values import is_secret_key
from tentacle_ha.config._values import parse_bool
from tentacle_ha.config._values import parse_int
from tentacle_ha.config._values import stored_text
from tentacle_ha.errors import ConfigValueError
from tentacle_ha.errors import FileTooLargeError
from tentacle_ha.errors import InternalError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import KeyNotFoundError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import normalize_thumbprint

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator

__all__ = [
    "KEYS",
    "MAX_FILE_SIZE",
    "SECRET_KEYS",
    "ProxySettings",
    "TentacleConfig",
    "dumps",
    "load",
    "loads",
]

_IN_MEMORY: Final = "<bytes>"


@attrs.frozen(kw_only=True)
class ProxySettings:
    """A proxy as Tentacle keeps it: ``Octopus.Proxy.*`` (REST) or
    ``Octopus.Server.Proxy.*`` (polling).

    Tentacle uses the system proxy when ``use_default_proxy`` is true and no
    host is set, the given host when one is, and no proxy otherwise.

    .. versionadded:: 0.1.0
    """

    use_default_proxy: bool = True
    host: str | None = None
    port: int = 80
    username: str | None = None
    password: Secret | None = attrs.field(default=None, repr=False)

    @property
    def custom(self) -> bool:
        """True when a specific proxy host is configured."""
        return bool(self.host)


# -- the document -----------------------------------------------------------


class TentacleConfig:
    """A Tentacle.config document, edited in place without disturbing its bytes.

    Build one with `load` or `loads`. Mapping-style access reads values as
    Tentacle does: ``doc[key]`` is the text (None for an empty element),
    secrets come back as `Secret`.

    .. versionadded:: 0.1.0
    """

    __slots__ = (
        "_cache",
        "_changed",
        "_data",
        "_decoded",
        "_fast",
        "_index",
        "_last_save",
        "_path",
        "_scan",
        "_servers",
        "_style",
    )

    def __init__(
        self, data: bytes, *, path: str | os.PathLike[str] | None = None
    ) -> None:
        """Parse *data*; prefer `loads` and `load`.

        Raises:
            ConfigError: (a subclass of) anything that makes the bytes unsafe
                to read or edit; see `tentacle_ha.errors`.
        """
        self._path = os.fspath(path) if path is not None else None
        self._last_save: _writer.WriteResult | None = None
        self._reset(data)

    def _reset(self, data: bytes) -> None:
        name = self.name
        if len(data) > MAX_FILE_SIZE:
            raise FileTooLargeError(
                f"file is {len(data)} bytes; the limit is {MAX_FILE_SIZE}", path=name
            )
        decoded = _source.decode(data, name)
        self._data = data
        self._decoded = decoded
        self._cache: bytes | None = data
        self._changed: list[str] = []
        self._servers: TrustedServers | None = None
        # The fast path (`_fast`) when the document allows it: spans, nodes
        # on use; else (or once an edit needs more than a value splice) the
        # general scan. Both read the same document the same way.
        fast = _fast.scan(data, decoded.text, name) if _fast.ENABLED else None
        if fast is not None:
            self._fast: _fast.Spans | None = fast
            self._scan: _source.Scan | None = None
            self._index = fast.index
            self._style: _splice.Style | None = None  # on first use
            return
        root = _source.parse_tree(data, decoded.text, name)
        self._fast = None
        self._scan = _source.scan(decoded.text, root, name)
        self._style = _splice.Style.of(self._scan, decoded)
        self._reindex()

    def _general(self) -> _source.Scan:
        """The general scan, leaving the fast path for good (same document)."""
        if self._scan is None:
            assert self._fast is not None  # noqa: S101 -- one of the two is set
            self._styled()  # built while the spans are here (it reads their input)
            self._scan = self._fast.to_scan()
            self._fast = None
            self._reindex()
        return self._scan

    def _styled(self) -> _splice.Style:
        """What new text copies from this document (read once, from the input)."""
        if self._style is None:
            assert self._fast is not None  # noqa: S101 -- the general path sets it
            self._style = self._fast.style(self._decoded)
        return self._style

    def _reindex(self) -> None:
        index: dict[str, list[int]] = {}
        for i, node in enumerate(self._general().nodes):
            if node.kind == _source.Node.SET:
                index.setdefault(fold(node.key), []).append(i)
        self._index = index

    def _node_at(self, index: int) -> _source.Node:
        """The node an `_index` entry names (an ordinal on the fast path)."""
        if self._fast is not None:
            return self._fast.node(index)
        return self._general().nodes[index]

    # -- identity ------------------------------------------------------------

    @property
    def path(self) -> str | None:
        """The file this document was loaded from (or will be saved to)."""
        return self._path

    @property
    def name(self) -> str:
        """The path for messages, or ``<bytes>`` for in-memory documents."""
        return self._path if self._path is not None else _IN_MEMORY

    @property
    def encoding(self) -> str:
        """The codec of the file, e.g. ``utf-8`` or ``utf-16-le``."""
        return self._decoded.codec

    @property
    def has_bom(self) -> bool:
        """Whether the file starts with a byte order mark."""
        return bool(self._decoded.bom)

    @property
    def newline(self) -> str:
        """The file's main line ending (``"\\r\\n"``, ``"\\n"``, ``"\\r"``, or "")."""
        return self._styled().newline

    @property
    def changed_keys(self) -> tuple[str, ...]:
        """Keys edited since loading (or saving), in the order they were edited."""
        return tuple(self._changed)

    @property
    def changed(self) -> bool:
        """Whether `dumps` would differ from the bytes loaded."""
        return self._cache is None or self._cache != self._data

    def __repr__(self) -> str:
        return f"<TentacleConfig {self.name!r} keys={len(self)}>"

    # -- reading -------------------------------------------------------------

    def __iter__(self) -> Iterator[str]:
        """Each key once, spelled as first written, in file order."""
        for indices in self._index.values():
            yield self._node_at(indices[0]).key

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and fold(key) in self._index

    def _node(self, key: str) -> _source.Node | None:
        indices = self._index.get(fold(key))
        return self._node_at(indices[-1]) if indices else None

    def __getitem__(self, key: str) -> str | Secret | None:
        """The value of *key* as Tentacle reads it: text, or None when empty.

        Raises:
            KeyNotFoundError: no such key.
        """
        node = self._node(key)
        if node is None:
            raise KeyNotFoundError(f"no key {key!r}", path=self.name)
        return self._present(key, node.value, reveal=False)

    @staticmethod
    def _present(key: str, value: str, *, reveal: bool) -> str | Secret | None:
        if not value.strip():
            return None
        if is_secret_key(key) and not reveal:
            return Secret(value)
        return value

    @overload
    def get(
        self, key: str, default: None = None, *, reveal: bool = False
    ) -> str | Secret | None: ...
    @overload
    def get(self, key: str, default: str, *, reveal: bool = False) -> str | Secret: ...
    def get(
        self, key: str, default: str | None = None, *, reveal: bool = False
    ) -> str | Secret | None:
        """The value of *key*, or *default* when it is missing or empty (null).

        Secrets come back as `Secret` unless *reveal* is true.
        """
        node = self._node(key)
        value = self._present(key, node.value, reveal=reveal) if node else None
        return default if value is None else value

    def raw(self, key: str) -> str:
        """The exact text of *key*'s element content as written in the file.

        Raises:
            KeyNotFoundError: no such key.
        """
        node = self._node(key)
        if node is None:
            raise KeyNotFoundError(f"no key {key!r}", path=self.name)
        return node.content

    def items(self, *, reveal: bool = False) -> Iterator[tuple[str, str | None]]:
        """``(key, value)`` pairs in file order; secrets as ``***`` unless *reveal*."""
        for key in self:
            value = self.get(key, reveal=reveal)
            yield key, (REDACTED if isinstance(value, Secret) else value)

    def position(self, key: str) -> tuple[int, int] | None:
        """1-based (line, column) of *key*'s element in the loaded file, if known."""
        node = self._node(key)
        if node is None or node.offset < 0:
            return None
        return _source.line_col(self._decoded.text, node.offset)

    # -- typed accessors -----------------------------------------------------

    def _typed(
        self, key: str, type_name: str, parse: Callable[[str], object]
    ) -> object:
        value = self.get(key, reveal=True)
        if value is None:
            return None
        assert isinstance(value, str)  # noqa: S101 -- reveal=True gives str
        try:
            return parse(value)
        except ValueError:
            node = self._node(key)
            line, col = (
                _source.line_col(self._decoded.text, node.offset)
                if node and node.offset >= 0
                else (None, None)
            )
            shown = "" if is_secret_key(key) else f" Value was {value!r}."
            raise ConfigValueError(
                f"Unable to parse configuration key '{key}' as a '{type_name}'.{shown}",
                path=self.name,
                line=line,
                col=col,
            ) from None

    def get_int(self, key: str, default: int | None = None) -> int | None:
        """An integer setting (Tentacle stores plain digits).

        Raises:
            ConfigValueError: the stored text is not a whole number.
        """
        value = self._typed(key, "Int32", parse_int)
        return default if value is None else int(str(value))

    def get_bool(self, key: str, *, default: bool = False) -> bool:
        """A boolean setting; like .NET ``bool.Parse``, any case is accepted.

        Raises:
            ConfigValueError: the stored text is not true or false.
        """
        value = self._typed(key, "Boolean", parse_bool)
        return default if value is None else bool(value)

    @property
    def home(self) -> str | None:
        """``Octopus.Home``: the instance's home folder (may be relative)."""
        return self._text(KEYS.HOME)

    @home.setter
    def home(self, value: str | None) -> None:
        self.set(KEYS.HOME, value)

    @property
    def application_directory(self) -> str | None:
        """``Tentacle.Deployment.ApplicationDirectory``."""
        return self._text(KEYS.APPLICATION_DIRECTORY)

    @application_directory.setter
    def application_directory(self, value: str | None) -> None:
        self.set(KEYS.APPLICATION_DIRECTORY, value)

    @property
    def listen_port(self) -> int:
        """``Tentacle.Services.PortNumber`` (default 10933)."""
        port = self.get_int(KEYS.PORT_NUMBER, 10933)
        return 10933 if port is None else port

    @listen_port.setter
    def listen_port(self, value: int) -> None:
        self.set(KEYS.PORT_NUMBER, value)

    @property
    def listen_ip(self) -> str | None:
        """``Tentacle.Services.ListenIP``; None means every address."""
        return self._text(KEYS.LISTEN_IP)

    @listen_ip.setter
    def listen_ip(self, value: str | None) -> None:
        self.set(KEYS.LISTEN_IP, value)

    @property
    def no_listen(self) -> bool:
        """``Tentacle.Services.NoListen`` (true for a polling-only Tentacle)."""
        return self.get_bool(KEYS.NO_LISTEN, default=False)

    @no_listen.setter
    def no_listen(self, value: bool) -> None:
        self.set(KEYS.NO_LISTEN, value)

    @property
    def polling_connection_count(self) -> int | None:
        """``Tentacle.Communication.PollingConnectionCount`` (unset = 1 at run time)."""
        return self.get_int(KEYS.POLLING_CONNECTION_COUNT)

    @polling_connection_count.setter
    def polling_connection_count(self, value: int | None) -> None:
        self.set(KEYS.POLLING_CONNECTION_COUNT, value)

    @property
    def certificate_thumbprint(self) -> str | None:
        """``Tentacle.CertificateThumbprint``: this Tentacle's own certificate."""
        return self._text(KEYS.CERTIFICATE_THUMBPRINT)

    @certificate_thumbprint.setter
    def certificate_thumbprint(self, value: str | None) -> None:
        self.set(KEYS.CERTIFICATE_THUMBPRINT, value)

    def _text(self, key: str) -> str | None:
        value = self.get(key)
        return None if value is None else str(value)

    def _proxy(self, prefix: str) -> ProxySettings:
        port = self.get_int(prefix + "ProxyPort", 80)
        password = self.get(prefix + "ProxyPassword")
        return ProxySettings(
            use_default_proxy=self.get_bool(prefix + "UseDefaultProxy", default=True),
            host=self._text(prefix + "ProxyHost"),
            port=80 if port is None else port,
            username=self._text(prefix + "ProxyUsername"),
            password=password if isinstance(password, Secret) else None,
        )

    def _set_proxy(self, prefix: str, proxy: ProxySettings) -> None:
        self.set(prefix + "UseDefaultProxy", proxy.use_default_proxy)
        self.set(prefix + "ProxyHost", proxy.host)
        self.set(prefix + "ProxyPort", proxy.port)
        self.set(prefix + "ProxyUsername", proxy.username)
        self.set(prefix + "ProxyPassword", proxy.password)

    @property
    def web_proxy(self) -> ProxySettings:
        """``Octopus.Proxy.*``: the proxy for REST calls (registration)."""
        return self._proxy(KEYS.WEB_PROXY_PREFIX)

    @web_proxy.setter
    def web_proxy(self, value: ProxySettings) -> None:
        self._set_proxy(KEYS.WEB_PROXY_PREFIX, value)

    @property
    def polling_proxy(self) -> ProxySettings:
        """``Octopus.Server.Proxy.*``: the proxy polling connections go through."""
        return self._proxy(KEYS.POLLING_PROXY_PREFIX)

    @polling_proxy.setter
    def polling_proxy(self, value: ProxySettings) -> None:
        self._set_proxy(KEYS.POLLING_PROXY_PREFIX, value)

    # -- trusted servers -----------------------------------------------------

    @property
    def trusted_servers(self) -> TrustedServers:
        """``Tentacle.Communication.TrustedOctopusServers``, parsed.

        Raises:
            TrustedServersError: the array is broken; the position points into
                the file. Other keys stay readable and editable.
        """
        if self._servers is None:
            node = self._node(KEYS.TRUSTED_SERVERS)
            text = node.value if node else None
            self._servers = TrustedServers.from_json(
                text, locate=self._locator(node) if node else None
            )
        return self._servers

    @trusted_servers.setter
    def trusted_servers(self, servers: TrustedServers) -> None:
        if not servers and KEYS.TRUSTED_SERVERS not in self:
            return  # absent reads as empty: writing [] would change nothing real
        current = self._servers_or_empty()
        for server in servers._not_in(current):  # noqa: SLF001 -- compares unbuilt rows
            normalize_thumbprint(server.thumbprint)  # new entries must be valid
            if server.thumbprint != normalize_thumbprint(server.thumbprint):
                msg = (
                    f"thumbprint {server.thumbprint!r} must be written upper-case "
                    "without separators; use normalize_thumbprint()"
                )
                raise InvalidValueError(msg)
        # Our own rendering of a valid list: no need to parse it again.
        self._set_text(KEYS.TRUSTED_SERVERS, servers.to_json())
        self._servers = servers

    def _write_checked_servers(self, text: str) -> None:
        """Store *text*: what the setter wrote for a list it checked.

        For ``tentacle_ha.fleet._sync_memo``, which gives a file the setter's
        rendering of another file's list with this file's SubscriptionIds (a
        renaming no check looks at); the old and new lists are not parsed.
        """
        self._set_text(KEYS.TRUSTED_SERVERS, text)

    def _servers_or_empty(self) -> TrustedServers:
        try:
            return self.trusted_servers
        except TentacleHAError:
            return TrustedServers()

    def _locator(
        self, node: _source.Node
    ) -> Callable[[int], tuple[str | None, int, int]]:
        def locate(index: int) -> tuple[str | None, int, int]:
            if node.offset < 0:  # set in this session: no file position
                line = node.value.count("\n", 0, index) + 1
                return self.name, line, index - node.value.rfind("\n", 0, index)
            offset = node.content_offset + _source.raw_offset(node.content, index)
            line, col = _source.line_col(self._decoded.text, offset)
            return self.name, line, col

        return locate

    # -- editing -------------------------------------------------------------

    def __setitem__(self, key: str, value: Value) -> None:
        self.set(key, value)

    def __delitem__(self, key: str) -> None:
        self.delete(key)

    def set(self, key: str, value: Value) -> bool:
        """Set *key* to *value*, as Tentacle would store it; return whether it changed.

        ``bool`` is stored as ``true``/``false``, ``int`` as digits, None or a
        blank string as an empty element, a `Secret` as its value, a
        `TrustedServers` as its JSON. Text for a key of a known type is
        checked and normalised (e.g. ``True`` -> ``true`` for NoListen, a
        thumbprint to upper case). An existing key keeps its spelling; if it
        appears more than once (differing in case), the copies collapse into
        the first element.

        Raises:
            InvalidValueError: the value cannot be stored for this key, holds
                a character XML cannot carry, or is the redaction marker
                ``***`` for a secret key (a copy of masked output).
        """
        if not key or not key.strip():
            msg = "a key cannot be empty"
            raise InvalidValueError(msg, path=self.name)
        text = stored_text(key, value)
        if is_secret_key(key) and text.strip() == REDACTED:
            msg = (
                f"{key}: {REDACTED!r} is the redaction marker, not a secret; "
                "writing it would destroy the real value (copy it with "
                "get --reveal-secrets)"
            )
            raise InvalidValueError(msg, path=self.name)
        return self._set_text(key, text)

    def _set_text(self, key: str, text: str) -> bool:
        """Store *text* exactly as given ("" = an empty element)."""
        indices = self._index.get(fold(key))
        if indices and len(indices) == 1:
            node = self._node_at(indices[0])
            if node.value == text or (not text and not node.value.strip()):
                return False
        try:
            if indices and self._fast is not None:  # a pure value splice
                node = self._fast.node(indices[0])
                _splice.write_value(node, text, self._styled())
                self._fast.edited.add(indices[0])
            elif indices:
                self._update(indices, text)
            else:
                self._insert(key, text)
        except ValueError as exc:
            raise InvalidValueError(f"{key}: {exc}", path=self.name) from None
        self._touched(key)
        return True

    def _touched(self, key: str) -> None:
        self._cache = None
        if fold(key) == fold(KEYS.TRUSTED_SERVERS):
            self._servers = None
        if not self._changed or all(fold(k) != fold(key) for k in self._changed):
            self._changed.append(key)

    def _update(self, indices: list[int], text: str) -> None:
        nodes = self._general().nodes
        _splice.write_value(nodes[indices[0]], text, self._styled())
        if len(indices) > 1:
            for index in reversed(indices[1:]):
                _splice.remove(nodes, index)
            self._reindex()

    def _insert(self, key: str, text: str) -> None:
        _splice.insert(self._general(), key, text, self._styled())
        self._reindex()

    def delete(self, key: str, *, missing_ok: bool = False) -> bool:
        """Remove *key*'s element(s) and their lines; return whether anything went.

        Tentacle itself never removes a key (it writes an empty element);
        use ``set(key, None)`` for that.

        Raises:
            KeyNotFoundError: no such key and not *missing_ok*.
        """
        indices = self._index.get(fold(key))
        if not indices:
            if missing_ok:
                return False
            raise KeyNotFoundError(f"no key {key!r}", path=self.name)
        nodes = self._general().nodes
        indices = self._index[fold(key)]  # node indices now
        for index in reversed(indices):
            _splice.remove(nodes, index)
        self._reindex()
        self._touched(key)
        return True

    # -- output --------------------------------------------------------------

    def dumps(self) -> bytes:
        """The document as bytes: exactly the input when nothing was edited.

        Every edited output is re-parsed by lxml and must agree with this
        model before it is returned, but for value splices on the fast path
        (see the module docstring), which are well-formed by construction.

        Raises:
            InternalError: the output does not read back as intended (a bug
                in tentacle_ha; nothing is written).
        """
        if self._cache is not None:
            return self._cache
        if self._fast is not None:
            # Value splices of text we escaped: well-formed by construction.
            text = self._fast.render()
            data = self._decoded.encode(text)
            if _fast.VERIFY:
                self._verify(data, text)
        else:
            text = self._general().render()
            data = self._decoded.encode(text)
            self._verify(data, text)
        self._cache = data
        return data

    def _current_scan(self) -> _source.Scan:
        """The general scan of the document as it stands, staying on the fast path."""
        return self._fast.to_scan() if self._fast is not None else self._general()

    def _expected(self) -> list[tuple[str, str]]:
        return [
            (n.key, n.value)
            for n in self._current_scan().nodes
            if n.kind == _source.Node.SET
        ]

    def _verify(self, data: bytes, text: str) -> None:
        try:
            root = _source.parse_tree(data, text, self.name)
        except TentacleHAError as exc:
            raise InternalError(
                f"an edit produced a document that does not read back: {exc.message}",
                path=self.name,
            ) from exc
        if root.tag != _source.ROOT or _source.settings_of(root) != self._expected():
            raise InternalError(
                "an edit produced a document that reads back differently",
                path=self.name,
            )

    def redacted_text(self) -> str:
        """The document text with every secret value replaced by ``***``."""
        if self._fast is not None:
            return self._fast.redacted(REDACTED)
        scan = self._current_scan()
        parts = [scan.head]
        for node in scan.nodes:
            if (
                node.kind == _source.Node.SET
                and node.content
                and is_secret_key(node.key)
            ):
                parts.append(node.start_tag + REDACTED + "</set>")
            else:
                parts.append(node.text)
        parts.append(scan.tail)
        return "".join(parts)

    def diff(self, *, reveal: bool = False, context: int = 3) -> str:
        """A unified diff from the loaded bytes to `dumps`; "" when unchanged.

        Secret values show as ``***`` (``*** (changed)`` where one changed)
        unless *reveal* is true.
        """
        after_bytes = self.dumps()
        if after_bytes == self._data:
            return ""
        before = TentacleConfig(self._data, path=self._path)
        if reveal:
            old, new = before._decoded.text, self._decoded_text(after_bytes)
        else:
            old, new = before.redacted_text(), self._redacted_after(before)
        label = self.name
        lines = difflib.unified_diff(
            old.splitlines(),
            new.splitlines(),
            fromfile=f"a/{label}" if not label.startswith("/") else f"a{label}",
            tofile=f"b/{label}" if not label.startswith("/") else f"b{label}",
            lineterm="",
            n=context,
        )
        return "\n".join(lines) + "\n"

    def _decoded_text(self, data: bytes) -> str:
        return data[len(self._decoded.bom) :].decode(self._decoded.codec)

    def _redacted_after(self, before: TentacleConfig) -> str:
        text = self.redacted_text()
        for key in self._changed:
            if not is_secret_key(key):
                continue
            old = before.raw(key) if key in before else ""
            new = self.raw(key) if key in self else ""
            if old != new and new:
                node = self._node(key)
                if node is not None:
                    text = text.replace(
                        node.start_tag + REDACTED + "</set>",
                        node.start_tag + REDACTED + " (changed)</set>",
                    )
        return text

    def save(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        backup_suffix: str | None = None,
        force: bool = False,
    ) -> bool:
        """Write the document atomically; return whether a file was written.

        This is the one safe writer (`tentacle_ha._writer`) that every write
        path shares: it takes the file's lock (the one ``fleet apply`` and
        ``tentacle-ha set`` take), re-reads the file under it and compares
        with the bytes loaded: if someone else changed it meanwhile,
        `ConflictError` is raised and nothing is written, unless *force*.
        Nothing is written when the file already holds the new bytes (its
        modification time stays). A symlink is resolved once and its target
        replaced; a FIFO, device or folder is refused.

        Args:
            path: where to write; by default the file it was loaded from.
            backup_suffix: keep the replaced bytes in a *new* file,
                ``path + backup_suffix``, or ``path + backup_suffix + ".N"``
                (1, 2, ...) when that exists; an existing path is never
                followed or overwritten. See `save_backup`.
            force: overwrite even if the file changed since it was loaded.

        Raises:
            ConflictError: the file changed on disk since it was loaded.
            NotRegularFileError: the path is a FIFO, device or folder.
            InvalidValueError: a backup suffix that is not a plain ending.
            WriteError: the write failed; the old file is intact.
            FleetError: another process held the file's lock for over 60 s.
            InternalError: see `dumps`.
        """
        target = os.fspath(path) if path is not None else self._path
        if target is None:
            msg = "this document has no path; pass one to save()"
            raise InvalidValueError(msg)
        same_file = self._path is not None and _same_file(target, self._path)
        data = self.dumps()
        result = _writer.replace_config(
            target,
            data,
            based_on=self._data if same_file and not force else None,
            backup_suffix=backup_suffix,
        )
        self._last_save = result
        if not result.written:
            return False
        self._path = target
        self._reset(data)
        return True

    @property
    def save_warnings(self) -> tuple[str, ...]:
        """Warnings from the last `save` that wrote, one line each.

        E.g. the file had several hard links: the write replaced this name
        only, the other links keep the old bytes.

        .. versionadded:: 0.1.0
        """
        return self._last_save.warnings if self._last_save is not None else ()

    @property
    def save_backup(self) -> str | None:
        """The backup file the last `save` created, if any.

        .. versionadded:: 0.1.0
        """
        return self._last_save.backup if self._last_save is not None else None


def _same_file(a: str, b: str) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


# -- module functions, json-style -------------------------------------------


def loads(data: bytes, *, path: str | os.PathLike[str] | None = None) -> TentacleConfig:
    """Parse a Tentacle.config from bytes.

    Args:
        data: the file's bytes (any BOM, encoding and line endings).
        path: used in error messages and as the default `TentacleConfig.save` target.

    Raises:
        ConfigError: (a subclass of) anything unsafe to read or edit.

    .. versionadded:: 0.1.0
    """
    given: object = data
    if not isinstance(given, bytes | bytearray | memoryview):
        msg = "loads() takes bytes; the file declares its own encoding"
        raise TypeError(msg)
    return TentacleConfig(bytes(data), path=path)


def load(path: str | os.PathLike[str]) -> TentacleConfig:
    """Read and parse the Tentacle.config at *path*.

    The file is opened without blocking and must be a regular file (a FIFO
    or device is refused at once); at most `MAX_FILE_SIZE` + 1 bytes are read.

    Raises:
        FileTooLargeError: over `MAX_FILE_SIZE`; not read.
        NotRegularFileError: a FIFO, device, folder...; not read.
        ConfigError: (a subclass of) anything unsafe to read or edit.
        OSError: the file cannot be read (e.g. FileNotFoundError).

    .. versionadded:: 0.1.0
    """
    name = os.fspath(path)
    data, _ = read_regular(name)
    return TentacleConfig(data, path=name)


def dumps(doc: TentacleConfig) -> bytes:
    """The bytes of *doc* (same as ``doc.dumps()``).

    .. versionadded:: 0.1.0
    """
    return doc.dumps()
