"""The exception tree of tentacle_ha.

Every exception the library raises on purpose derives from `TentacleHAError` and
from the nearest builtin, so callers can catch either::

    TentacleHAError(Exception)
    ├── ConfigError(ValueError)          a Tentacle.config cannot be used safely
    │   ├── ConfigParseError             malformed XML, empty, wrong root, garbage
    │   │   ├── ConfigEncodingError      bytes that do not decode as declared
    │   │   └── UnsafeXMLError           DOCTYPE / entities: refused, not resolved
    │   ├── UnsupportedConstructError    well-formed but unsafe to edit
    │   ├── FileTooLargeError            over the size limit; not loaded
    │   ├── NotRegularFileError          a FIFO, device, folder...: refused unread
    │   ├── ConfigValueError             a stored value does not parse as its type
    │   ├── TrustedServersError          the TrustedOctopusServers JSON is broken
    │   └── EnvFileError                 a .env file Tentacle would read is malformed
    ├── KeyNotFoundError(KeyError)       no such key in the document
    ├── InvalidValueError(ValueError)    a value from the caller cannot be written
    │   ├── OrphaningEditError           the edit would leave nothing to poll
    │   ├── NothingMatchedError          the edit's target is in no entry or key
    │   └── UnknownKeyError              a key Tentacle does not know (a typo?)
    ├── MachineKeyError(ValueError)      a machine key is unusable or cannot decrypt
    ├── ClusterError(ValueError)         a cluster description is invalid
    ├── CommandError(ValueError)         a Tentacle command cannot be built
    ├── CheckFailedError(RuntimeError)   raised only by raise_for_failures()
    ├── ServerApiError(RuntimeError)     the Octopus Server API could not be read
    ├── FleetError(RuntimeError)         a fleet operation failed for some files
    │   └── ConflictError                a file changed between plan and apply
    ├── FakeServerError(RuntimeError)    a tentacle_ha.testing fake used wrongly
    ├── WriteError(OSError)              a write failed; the original is intact
    └── InternalError(AssertionError)    scanner and lxml disagree: our bug

Messages read ``path:line:col: message`` (compiler style), or ``path: message``
when there is no position. The parts are also attributes: ``path``, ``line``,
``col`` and ``message``. Positions are 1-based; ``col`` counts characters.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

__all__ = [
    "CheckFailedError",
    "ClusterError",
    "CommandError",
    "ConfigEncodingError",
    "ConfigError",
    "ConfigParseError",
    "ConfigValueError",
    "ConflictError",
    "EnvFileError",
    "FakeServerError",
    "FileTooLargeError",
    "FleetError",
    "InternalError",
    "InvalidValueError",
    "KeyNotFoundError",
    "MachineKeyError",
    "NotRegularFileError",
    "NothingMatchedError",
    "OrphaningEditError",
    "ServerApiError",
    "TentacleHAError",
    "TrustedServersError",
    "UnknownKeyError",
    "UnsafeXMLError",
    "UnsupportedConstructError",
    "WriteError",
]


class TentacleHAError(Exception):
    """Base of every error raised by tentacle_ha.

    Args:
        message: what went wrong, one line, no trailing period needed.
        path: the file (or ``<bytes>`` for in-memory input) the error is about.
        line: 1-based line, when the error has a position.
        col: 1-based column in characters, when the error has a position.
    """

    message: str
    path: str | None
    line: int | None
    col: int | None

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        col: int | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.col = col
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.path is not None:
            parts.append(self.path)
            if self.line is not None:
                parts.append(str(self.line))
                if self.col is not None:
                    parts.append(str(self.col))
        if not parts:
            return self.message
        return ":".join(parts) + ": " + self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Errors cross process boundaries in fleet work; keep the keywords.
        return (
            _rebuild,
            (type(self), self.message, self.path, self.line, self.col),
            self.__dict__,
        )


def _rebuild(
    cls: type[TentacleHAError],
    message: str,
    path: str | None,
    line: int | None,
    col: int | None,
) -> TentacleHAError:
    err = cls.__new__(cls)
    TentacleHAError.__init__(err, message, path=path, line=line, col=col)
    return err


class ConfigError(TentacleHAError, ValueError):
    """A Tentacle.config cannot be read or written safely; nothing was written."""


class ConfigParseError(ConfigError):
    """The bytes are not a well-formed ``<octopus-settings>`` document."""


class ConfigEncodingError(ConfigParseError):
    """The bytes do not decode in the encoding the BOM or declaration names."""


class UnsafeXMLError(ConfigParseError):
    """A DOCTYPE or entity declaration: refused, never resolved, nothing fetched."""


class UnsupportedConstructError(ConfigError):
    """Well-formed XML that cannot be edited safely, e.g. an element inside <set>."""


class FileTooLargeError(ConfigError):
    """The file is over the size limit and was not loaded."""


class NotRegularFileError(ConfigError):
    """The path is not a regular file (a FIFO, a device, a folder...): never read,
    never written, refused at once instead of blocking."""


class ConfigValueError(ConfigError):
    """A stored value does not parse as the type its key holds.

    The message follows Tentacle's own: ``Unable to parse configuration key
    'KEY' as a 'TYPE'``; the stored value is included unless it is a secret.
    """


class TrustedServersError(ConfigError):
    """The ``Tentacle.Communication.TrustedOctopusServers`` JSON is broken.

    The position points into the file, at the JSON error.
    """


class EnvFileError(ConfigError):
    """A ``.env`` file (the settings Tentacle reads beside the environment) is
    malformed: a line without ``=``, a variable set twice, not UTF-8.

    The position points at the line.
    """


class KeyNotFoundError(TentacleHAError, KeyError):
    """The document has no such key (compared ignoring case, as Tentacle does)."""

    def __str__(self) -> str:
        # KeyError.__str__ would repr-quote the message; keep ours.
        return TentacleHAError.__str__(self)


class InvalidValueError(TentacleHAError, ValueError):
    """A value given by the caller cannot be written (e.g. a bad thumbprint)."""


class OrphaningEditError(InvalidValueError):
    """An edit would leave a Tentacle with no polling entry (or trusting nothing).

    The Tentacle would poll nothing and its SubscriptionId would be lost;
    refused unless the caller allows it explicitly (``allow_empty=True``,
    ``--allow-empty``).
    """


class NothingMatchedError(InvalidValueError):
    """An edit names a thumbprint, address or key that nothing in the file has."""


class UnknownKeyError(InvalidValueError):
    """A key to write is not one Tentacle knows; the message suggests the nearest."""


class MachineKeyError(TentacleHAError, ValueError):
    """A machine key cannot be read, or cannot decrypt a Tentacle secret.

    Also a Windows (DPAPI) secret, which only that machine can decrypt. The
    message names where the key came from, never the key or the value.
    """


class ClusterError(TentacleHAError, ValueError):
    """A cluster description is invalid; the position points into the TOML file."""


class CommandError(TentacleHAError, ValueError):
    """A Tentacle command line cannot be built as asked."""


class CheckFailedError(TentacleHAError, RuntimeError):
    """One or more connectivity checks failed (opt-in, via raise_for_failures())."""


class ServerApiError(TentacleHAError, RuntimeError):
    """The Octopus Server API could not be read (network, HTTP status, answer).

    The path is the URL asked for; the message never holds the API key.
    """


class FleetError(TentacleHAError, RuntimeError):
    """A fleet operation failed for one or more files."""


class ConflictError(FleetError):
    """A file changed between plan and apply; it was left alone."""


class FakeServerError(TentacleHAError, RuntimeError):
    """A `tentacle_ha.testing` fake was used wrongly (e.g. asked for its port
    while stopped)."""


class WriteError(TentacleHAError, OSError):
    """Writing a file failed; the original file is intact."""


class InternalError(TentacleHAError, AssertionError):
    """tentacle_ha's scanner and lxml disagree about a document: a bug in tentacle_ha.

    Please report it with the file that caused it (secrets removed).
    """
