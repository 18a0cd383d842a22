"""The compact clone store finds what a plain dict of lists finds, in order."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha.fleet._clones import Clones
from tentacle_ha.fleet.findings import Finding
from tentacle_ha.fleet.findings import Severity

_Place = tuple[str, str, int | None, int | None]

places = st.lists(
    st.tuples(
        st.sampled_from(["T1", "T2", "poll://a/", "poll://\u00e9/", ""]),
        st.sampled_from(["/a/x.config", "/a/y.config", "/b/\udcff.config", "c"]),
        st.none() | st.integers(1, 10**6),
        st.none() | st.integers(1, 10**5),
    ),
    max_size=80,
)


def _plain(entries: list[_Place]) -> list[Finding]:
    """The store as it was: every value's places in a dict of lists."""
    seen: dict[str, list[tuple[str, int | None, int | None]]] = {}
    for value, path, line, col in entries:
        seen.setdefault(value, []).append((path, line, col))
    out = []
    for value, where in seen.items():
        paths = list(dict.fromkeys(p for p, _, _ in where))
        if len(paths) == 1:
            continue
        for path, line, col in where:
            others = [p for p in paths if p != path]
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            out.append(
                Finding(
                    severity=Severity.ERROR,
                    code="cloned-x",
                    path=path,
                    message=f"x {value} is also used by {len(others)} "
                    f"other config(s): {shown} (cloned machine?)",
                    line=line,
                    col=col,
                )
            )
    return out


@given(places)
def test_same_findings_as_a_dict_of_lists(entries: list[_Place]) -> None:
    clones = Clones("cloned-x", "x")
    for entry in entries:
        clones.add(*entry)
    assert list(clones.findings()) == _plain(entries)


def test_many_paths_decode_across_restarts() -> None:
    """Front-coded paths come back exactly, past several restart points."""
    clones = Clones("cloned-x", "x")
    paths = [
        f"/fleet/site-{i // 7:03d}/host-{i:05d}/Tentacle.config" for i in range(200)
    ]
    for path in paths:
        clones.add("SAME", path, 1, 2)
    found = list(clones.findings())
    assert [f.path for f in found] == paths
    assert found[-1].message.startswith("x SAME is also used by 199 other config(s): ")
