"""A value that must not leak: API keys, certificates, proxy passwords."""

from __future__ import annotations

from typing import Final

__all__ = ["REDACTED", "Secret"]

REDACTED: Final = "***"


class Secret:
    """A string that never shows itself by accident.

    ``str()``, ``repr()`` and f-strings give ``***``; only `reveal()` gives the
    value. Two secrets compare equal when their values are equal.

    .. versionadded:: 0.1.0
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        checked: object = value
        if not isinstance(checked, str):
            msg = f"Secret holds a str, not {type(checked).__name__}"
            raise TypeError(msg)
        self._value = value

    def reveal(self) -> str:
        """Return the value itself: only to use it, or to print it on purpose."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return format(REDACTED, spec)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> tuple[object, ...]:
        return (Secret, (self._value,))
