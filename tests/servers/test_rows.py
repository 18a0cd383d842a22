"""A list kept as unbuilt rows behaves exactly as the same list of entries.

`TrustedServers.from_json` keeps an array in Tentacle's own form as rows and
builds `TrustedServer` objects on use (the round trip's fast path). Here
every array is read both ways (rows, and entries built by `parse_fast` as
before) and each drawn operation must give the same answer on both: the same
error (class and message), the same entries, length, JSON text and orphaning
verdict.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hypothesis import event
from hypothesis import given
from hypothesis import strategies as st
from strategies import ADDRESS_CLASSES
from strategies import JsonEntry
from strategies import json_entries
from strategies import tentacle_json
from strategies import thumbprints

from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import _json
from tentacle_ha.servers import leaves_orphaned

if TYPE_CHECKING:
    from collections.abc import Callable

_ADDRESSES = [a for group in ADDRESS_CLASSES.values() for a in group]


def _outcome(
    operation: Callable[[TrustedServers], TrustedServers], servers: TrustedServers
) -> tuple[str, object]:
    try:
        out = operation(servers)
    except Exception as exc:  # noqa: BLE001 -- the class is part of the answer
        return ("error", (type(exc).__name__, str(exc)))
    return ("ok", (list(out), len(out), out.to_json(), bool(out), out.polling()))


@st.composite
def _operation(
    draw: st.DrawFn, thumbs: list[str]
) -> Callable[[TrustedServers], TrustedServers]:
    kind = draw(st.sampled_from(["remove", "add", "keep", "rotate", "same"]))
    thumb = draw(st.sampled_from(thumbs) if thumbs else thumbprints())
    address = draw(st.sampled_from(_ADDRESSES))
    allow = draw(st.booleans())
    if kind == "remove":
        by = draw(st.sampled_from(["thumbprint", "address", "both"]))
        return lambda s: s.remove(
            thumbprint=thumb if by != "address" else None,
            address=address if by != "thumbprint" else None,
            allow_empty=allow,
        )
    if kind == "add":
        return lambda s: s.add_polling(
            thumb, address, subscription_id="poll://abcdefghjkmnpqrstuvw/"
        )
    if kind == "keep":
        return lambda s: s.keep_only([address], allow_empty=allow)
    if kind == "rotate":
        new = draw(thumbprints())
        return lambda s: s.rotate(thumb, new, staged=allow)
    return lambda s: s


@given(
    st.lists(json_entries(tentacle_form=True), max_size=4),
    st.data(),
)
def test_rows_and_built_entries_agree(
    entries: list[JsonEntry], data: st.DataObject
) -> None:
    """Every operation gives the same answer on rows and on built entries."""
    text = tentacle_json([e.model for e in entries])
    rows = TrustedServers.from_json(text)
    event("rows" if rows._rows is not None else "built")
    parsed = _json.parse_fast(text)
    assert parsed is not None
    built = TrustedServers(parsed, _source=text, _parsed=parsed)
    assert rows.to_json() == built.to_json() == text
    assert len(rows) == len(built)
    assert leaves_orphaned(rows, []) == leaves_orphaned(built, [])
    thumbs = [e.model.thumbprint for e in entries]
    for _ in range(data.draw(st.integers(1, 3), label="operations")):
        operation = data.draw(_operation(thumbs), label="operation")
        after_rows = _outcome(operation, rows)
        after_built = _outcome(operation, built)
        assert after_rows == after_built
        if after_rows[0] == "ok":
            rows, built = operation(rows), operation(built)
            assert list(built._not_in(rows)) == list(rows._not_in(built))
            assert leaves_orphaned(rows, rows) == leaves_orphaned(built, built)
    assert list(rows) == list(built)
    assert rows == built
