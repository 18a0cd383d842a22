"""Finding configs: instance index files, folders, globs; hostile files left unread."""

from __future__ import annotations

import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha import fleet
from tentacle_ha.errors import FileTooLargeError
from tentacle_ha.fleet import discover
from tentacle_ha.fleet import edits
from tentacle_ha.fleet.audit import Finding
from tentacle_ha.fleet.audit import audit_fleet

CORPUS = Path(__file__).parent.parent / "corpus" / "valid"
SAMPLE = (CORPUS / "linux-ha-3node.config").read_bytes()
NODE3 = "https://octo-node3.example.com:10943"


def _index(folder: Path, name: str, payload: object, *, bom: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(payload, indent=2) if not isinstance(payload, str) else payload
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def _found(items: list[Path | Finding]) -> list[str]:
    return [str(i) for i in items if isinstance(i, Path)]


def _codes(items: list[Path | Finding]) -> list[tuple[str, str]]:
    return [(i.code, Path(i.path or "").name) for i in items if isinstance(i, Finding)]


# -- instances ---------------------------------------------------------------------


def test_linux_instances_under_a_root(tmp_path: Path) -> None:
    """Index files under root/etc/octopus are read; their paths map under root."""
    instances = tmp_path / "etc" / "octopus" / "Tentacle" / "Instances"
    _index(
        instances,
        "tentacle.config",
        {
            "Name": "Tentacle",
            "ConfigurationFilePath": "/etc/octopus/Tentacle/tentacle-Tentacle.config",
        },
    )
    _index(
        instances,
        "my-worker.config",
        {"name": "My Worker", "configurationFilePath": "/opt/w/../w2/Tentacle.config"},
        bom=True,
    )
    (instances / "notes.txt").write_text("not an index")
    found = discover.discover_instances(root=tmp_path, platform="linux")
    assert [(i.name, i.path, i.problem) for i in found] == [
        ("My Worker", tmp_path / "opt" / "w2" / "Tentacle.config", None),
        (
            "Tentacle",
            tmp_path / "etc" / "octopus" / "Tentacle" / "tentacle-Tentacle.config",
            None,
        ),
    ]
    assert found[1].config_path == "/etc/octopus/Tentacle/tentacle-Tentacle.config"
    assert found[1].index_path == instances / "tentacle.config"


def test_windows_instances_map_drives_and_unc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """%ProgramData%\\Octopus is home; C:\\x maps to root/C/x, UNC to root/UNC/..."""
    monkeypatch.delenv(discover.MACHINE_HOME_ENV, raising=False)
    monkeypatch.setenv("ProgramData", "D:\\Data")
    instances = tmp_path / "D" / "Data" / "Octopus" / "Tentacle" / "Instances"
    _index(
        instances,
        "tentacle.config",
        {"Name": "Tentacle", "ConfigurationFilePath": "c:\\Octopus\\Tentacle.config"},
    )
    _index(
        instances,
        "share.config",
        {
            "Name": "Share",
            "ConfigurationFilePath": "\\\\files\\cfg\\x\\..\\..\\..\\T.config",
        },
    )
    _index(
        instances,
        "long.config",
        {"Name": "Long", "ConfigurationFilePath": "\\\\?\\E:\\Octopus\\T.config"},
    )
    found = discover.discover_instances(root=tmp_path, platform="windows")
    assert [(i.name, i.path) for i in found] == [
        ("Long", tmp_path / "E" / "Octopus" / "T.config"),
        ("Share", tmp_path / "UNC" / "files" / "cfg" / "T.config"),
        ("Tentacle", tmp_path / "C" / "Octopus" / "Tentacle.config"),
    ]


def test_machine_home_override_and_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The env override wins; else /etc/octopus or %ProgramData%\\Octopus."""
    env = {discover.MACHINE_HOME_ENV: "/srv/octo"}
    assert discover.default_machine_home(platform="linux", environ=env) == "/srv/octo"
    assert discover.default_machine_home(platform="linux", environ={}) == "/etc/octopus"
    assert (
        discover.default_machine_home(platform="windows", environ={})
        == "C:\\ProgramData\\Octopus"
    )
    assert (
        discover.default_machine_home(
            platform="windows", environ={"ProgramData": "E:\\PD\\"}
        )
        == "E:\\PD\\Octopus"
    )
    monkeypatch.setenv(discover.MACHINE_HOME_ENV, "/srv/octo")
    _index(
        tmp_path / "srv" / "octo" / "Tentacle" / "Instances",
        "tentacle.config",
        {"Name": "Tentacle", "ConfigurationFilePath": "/x/Tentacle.config"},
    )
    found = discover.discover_instances(root=tmp_path, platform="linux")
    assert [i.path for i in found] == [tmp_path / "x" / "Tentacle.config"]
    explicit = discover.discover_instances(
        root=tmp_path, machine_home="/nowhere", platform="linux"
    )
    assert explicit == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "instance index file is not JSON"),
        ("[1, 2]", "instance index file is not a JSON object"),
        ('{"Name": "T"}', "instance index file has no ConfigurationFilePath"),
        (
            '{"Name": "T", "ConfigurationFilePath": 7}',
            "instance index file has no ConfigurationFilePath",
        ),
        (
            '{"Name": "T", "ConfigurationFilePath": "relative/Tentacle.config"}',
            "ConfigurationFilePath 'relative/Tentacle.config' is not an absolute path",
        ),
        (b"\xff\xfe{", "instance index file is not JSON"),
    ],
)
def test_broken_index_files_are_listed_with_a_problem(
    tmp_path: Path, content: str | bytes, problem: str
) -> None:
    """An unusable index file is reported, never silently dropped."""
    instances = tmp_path / "etc" / "octopus" / "Tentacle" / "Instances"
    instances.mkdir(parents=True)
    data = content if isinstance(content, bytes) else content.encode()
    (instances / "bad.config").write_bytes(data)
    (found,) = discover.discover_instances(root=tmp_path, platform="linux")
    assert found.problem is not None
    assert found.problem.startswith(problem)
    assert found.index_path == instances / "bad.config"


def test_huge_index_file_is_not_read(tmp_path: Path) -> None:
    """An index file over 1 MiB is a problem, not a read."""
    instances = tmp_path / "etc" / "octopus" / "Tentacle" / "Instances"
    instances.mkdir(parents=True)
    with (instances / "big.config").open("wb") as handle:
        handle.truncate(2 * 1024 * 1024)
    (found,) = discover.discover_instances(root=tmp_path, platform="linux")
    assert found.problem == "instance index file is over 1 MiB; not read"


def test_no_instances_folder_is_an_empty_list(tmp_path: Path) -> None:
    """A machine without Tentacle has no instances."""
    assert discover.discover_instances(root=tmp_path, platform="linux") == []


_PART = st.sampled_from(["a", "b", "..", ".", "", "etc", "C:", "x y"])


@given(
    parts=st.lists(_PART, max_size=8),
    sep=st.sampled_from(["/", "\\"]),
    windows=st.booleans(),
)
def test_mapped_paths_never_leave_the_root(
    parts: list[str], sep: str, *, windows: bool
) -> None:
    """Whatever an index file says, the mapped path stays inside the root."""
    root = Path("/r/o/o/t")
    text = ("C:" + sep if windows else "/") + sep.join(parts)
    platform: discover.Platform = "windows" if windows else "linux"
    mapped = discover._local_path(text, root=root, platform=platform)
    assert mapped is not None
    assert mapped == root or root in mapped.parents
    assert ".." not in mapped.relative_to(root).parts


# -- folders, globs, files ---------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder holding configs among everything that must not be taken for one."""
    top = tmp_path / "fleet"
    (top / "b" / "deep").mkdir(parents=True)
    (top / "a").mkdir()
    (top / "a" / "Tentacle.config").write_bytes(SAMPLE)
    (top / "b" / "tentacle-web.config").write_bytes(SAMPLE)
    (top / "b" / "deep" / "other-name.config").write_bytes(SAMPLE)
    (top / "b" / "utf16.config").write_bytes(
        b"\xff\xfe" + SAMPLE.decode().encode("utf-16-le")
    )
    (top / "b" / "Tentacle-broken.config").write_bytes(b"garbage, cut off")
    # Not configs:
    (top / "a" / "web.config").write_text(
        "<configuration><appSettings/></configuration>"
    )
    (top / "a" / "tentacle.config.bak").write_bytes(SAMPLE)
    (top / "a" / ".Tentacle.config.k2j4.tentacle-ha-tmp").write_bytes(SAMPLE)
    (top / "a" / ".Tentacle.config.tentacle-ha-lock").write_bytes(b"")
    (top / "a" / "tentacle.config.txt").write_bytes(SAMPLE)
    index = top / "etc" / "octopus" / "Tentacle" / "Instances"
    _index(
        index, "tentacle.config", {"Name": "Tentacle", "ConfigurationFilePath": "/x"}
    )
    return top


def test_crawl_takes_configs_only_in_sorted_order(tree: Path) -> None:
    """Configs (by content, or a Tentacle name) come depth-first, sorted."""
    found = list(discover.expand_paths([tree]))
    assert [Path(p).relative_to(tree).as_posix() for p in _found(found)] == [
        "a/Tentacle.config",
        "b/Tentacle-broken.config",
        "b/tentacle-web.config",
        "b/utf16.config",
        "b/deep/other-name.config",
    ]
    assert _codes(found) == []


def test_explicit_files_are_taken_whatever_their_name(tree: Path) -> None:
    """A named file is taken whatever its name; a missing one is a finding."""
    named = tree / "a" / "tentacle.config.txt"
    found = list(discover.expand_paths([named, tree / "missing.config"]))
    assert _found(found) == [str(named)]
    assert _codes(found) == [("not-found", "missing.config")]


def test_globs_expand_sorted_and_report_no_match(tree: Path) -> None:
    """A glob expands (** recurses) to configs only; matching nothing is a finding."""
    found = list(
        discover.expand_paths([str(tree / "**" / "t*.config"), str(tree / "z*")])
    )
    assert [Path(p).name for p in _found(found)] == ["tentacle-web.config"]
    assert _codes(found) == [("not-found", "z*")]


def test_fifo_in_a_folder_is_never_opened(tree: Path) -> None:
    """A FIFO named like a config neither blocks the crawl nor is taken."""
    os.mkfifo(tree / "a" / "Tentacle-fifo.config")
    start = time.monotonic()
    found = list(discover.expand_paths([tree]))
    assert time.monotonic() - start < 5
    assert "Tentacle-fifo.config" not in " ".join(_found(found))
    named = list(discover.expand_paths([tree / "a" / "Tentacle-fifo.config"]))
    assert _codes(named) == [("not-a-file", "Tentacle-fifo.config")]


def test_symlinks_outside_the_roots_are_not_followed(tmp_path: Path) -> None:
    """A link out of the folder is a finding, unless asked; links inside count once."""
    top = tmp_path / "fleet"
    outside = tmp_path / "elsewhere"
    (top / "real").mkdir(parents=True)
    outside.mkdir()
    (top / "real" / "Tentacle.config").write_bytes(SAMPLE)
    (outside / "Tentacle.config").write_bytes(SAMPLE)
    (top / "out-dir").symlink_to(outside)
    (top / "out-file.config").symlink_to(outside / "Tentacle.config")
    (top / "in-dir").symlink_to(top / "real")
    (top / "in-file.config").symlink_to(top / "real" / "Tentacle.config")
    (top / "dangling.config").symlink_to(tmp_path / "gone")
    found = list(discover.expand_paths([top]))
    assert [Path(p).relative_to(top).as_posix() for p in _found(found)] == [
        "real/Tentacle.config"
    ]
    assert _codes(found) == [
        ("broken-symlink", "dangling.config"),
        ("symlink-outside-roots", "out-dir"),
        ("symlink-outside-roots", "out-file.config"),
    ]
    followed = list(discover.expand_paths([top], follow_symlinks=True))
    assert [Path(p).relative_to(top).as_posix() for p in _found(followed)] == [
        "out-file.config",
        "out-dir/Tentacle.config",
        "real/Tentacle.config",
    ]
    wider = list(discover.expand_paths([top], roots=[tmp_path]))
    assert _codes(wider) == [("broken-symlink", "dangling.config")]
    assert _found(wider) == _found(followed)


def test_symlink_loops_end(tmp_path: Path) -> None:
    """Following symlinks through a loop visits each folder once."""
    top, outside = tmp_path / "fleet", tmp_path / "loop"
    top.mkdir()
    outside.mkdir()
    (outside / "Tentacle.config").write_bytes(SAMPLE)
    (outside / "again").symlink_to(outside)
    (top / "out").symlink_to(outside)
    found = list(discover.expand_paths([top], follow_symlinks=True))
    assert [Path(p).relative_to(top).as_posix() for p in _found(found)] == [
        "out/Tentacle.config"
    ]


def test_broken_explicit_symlink(tmp_path: Path) -> None:
    """A named symlink to nothing is a broken-symlink finding."""
    link = tmp_path / "Tentacle.config"
    link.symlink_to(tmp_path / "nowhere")
    assert _codes(list(discover.expand_paths([link]))) == [
        ("broken-symlink", "Tentacle.config")
    ]


# -- hostile files -------------------------------------------------------------------


def _hostile(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    huge = folder / "Tentacle-huge.config"
    with huge.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: no disk used
    binary = folder / "Tentacle-binary.config"
    binary.write_bytes(b"<octopus-settings>\x00\x01\x02" + os.urandom(2048))
    (folder / "Tentacle.config").write_bytes(SAMPLE)
    return huge, binary


def test_huge_and_binary_files_are_skipped_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 100 MB file is never opened; a binary one is read no further than its head."""
    huge, _ = _hostile(tmp_path)
    opened: list[str] = []
    real_open = os.open

    def spy(path: str | os.PathLike[str], *args: int, **kwargs: int) -> int:
        opened.append(os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found = list(discover.expand_paths([tmp_path]))
    plans = list(fleet.plan([tmp_path, huge], edits.RemoveNode(NODE3), jobs=1))
    findings = list(audit_fleet([tmp_path], jobs=1))
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert str(huge) not in opened
    assert grown_kib < 50 * 1024, "a big file was loaded"
    assert _codes(found) == [
        ("binary-file", "Tentacle-binary.config"),
        ("file-too-large", "Tentacle-huge.config"),
    ]
    assert [(Path(p.path).name, p.status, p.reason) for p in plans] == [
        ("Tentacle-binary.config", "skipped", "binary content (NUL bytes); skipped"),
        (
            "Tentacle-huge.config",
            "skipped",
            "104857600 bytes, over the 16 MiB limit; skipped without reading it",
        ),
        (
            "Tentacle.config",
            "changed",
            "updates Tentacle.Communication.TrustedOctopusServers",
        ),
        (
            "Tentacle-huge.config",
            "skipped",
            "104857600 bytes, over the 16 MiB limit; skipped without reading it",
        ),
    ]
    assert [(f.code, Path(f.path or "").name) for f in findings] == [
        ("binary-file", "Tentacle-binary.config"),
        ("file-too-large", "Tentacle-huge.config"),
    ]


def test_a_config_growing_past_the_limit_is_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading stops one byte past the limit, even if the file grew after stat."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes(SAMPLE)
    monkeypatch.setattr(discover, "MAX_FILE_SIZE", len(SAMPLE) - 1)
    with pytest.raises(FileTooLargeError):
        discover._read_config_bytes(str(path))
    monkeypatch.setattr(
        os, "fstat", lambda _fd: os.stat_result((0o100644, 0, 0, 1, 0, 0, 10, 0, 0, 0))
    )
    with pytest.raises(FileTooLargeError, match="grew over"):
        discover._read_config_bytes(str(path))


def test_path_mapping_without_a_root() -> None:
    """Without a root, paths are read where they are; relative ones are refused."""
    assert discover._local_path("/etc/x/../y", root=None, platform="linux") == Path(
        "/etc/y"
    )
    assert discover._local_path("C:\\x", root=None, platform="windows") == Path("C:\\x")
    assert discover._local_path("relative\\x", root=None, platform="windows") is None
    assert (
        discover._local_path("C:drive-relative", root=None, platform="windows") is None
    )
    assert discover._local_path("c:", root=Path("/r"), platform="windows") == Path(
        "/r/C"
    )


def test_unreadable_index_and_relative_machine_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An index file that cannot be read is a problem; a relative home is under root."""
    instances = tmp_path / "home" / "Tentacle" / "Instances"
    _index(instances, "a.config", {"Name": "A", "ConfigurationFilePath": "/a"})
    real_read = Path.read_bytes

    def deny(self: Path) -> bytes:
        if self.name == "a.config":
            raise PermissionError(13, "Permission denied")
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", deny)
    (found,) = discover.discover_instances(
        root=tmp_path, machine_home="home", platform="linux"
    )
    assert found.problem == (
        "cannot read the instance index file: Permission denied (EACCES)"
    )


def test_odd_files_and_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """UTF-32, unreadable heads and folders, links inside the folder, grown files."""
    top = tmp_path / "fleet"
    (top / "data").mkdir(parents=True)
    (top / "utf32.config").write_bytes(b"\xff\xfe\x00\x00<\x00\x00\x00")
    (top / "data" / "tentacle.xml").write_bytes(SAMPLE)
    (top / "x.config").symlink_to(top / "data" / "tentacle.xml")
    (top / "dangling").symlink_to(tmp_path / "nothing")
    (top / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = list(discover.expand_paths([top]))
    assert _found(found) == [str(top / "x.config")]
    assert _codes(found) == [("unreadable", "locked")]
    monkeypatch.undo()

    def no_head(_path: str) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(discover, "_read_head", no_head)
    assert _codes(list(discover.expand_paths([top / "x.config"]))) == [
        ("unreadable", "x.config")
    ]
    monkeypatch.undo()

    def grown(_path: str) -> bytes:
        raise FileTooLargeError("file grew over 16777216 bytes", path=_path)

    monkeypatch.setattr(discover, "_read_config", grown)
    plans = list(fleet.plan([top / "x.config"], edits.UnsetKey("X"), jobs=1))
    assert [(p.status, p.reason) for p in plans] == [
        ("skipped", "file grew over 16777216 bytes")
    ]


# -- index files read elsewhere (the Ansible collection slurps them) ----------


def test_parse_instance_index_same_as_discovery(tmp_path: Path) -> None:
    folder = tmp_path / "etc" / "octopus" / "Tentacle" / "Instances"
    folder.mkdir(parents=True)
    raw = b'\xef\xbb\xbf{"name": "Web Tentacle", "ConfigurationFilePath": "/w.config"}'
    (folder / "web-tentacle.config").write_bytes(raw)
    found = discover.discover_instances(
        root=tmp_path, machine_home="/etc/octopus", platform="linux"
    )
    parsed = discover.parse_instance_index(
        raw, folder / "web-tentacle.config", platform="linux"
    )
    assert (parsed.name, parsed.config_path, parsed.problem) == (
        found[0].name, found[0].config_path, found[0].problem
    )  # fmt: skip
    assert discover.instance_index_name("Web Tentacle") == "web-tentacle.config"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "cannot read the instance index file: denied"),
        (b"[]", "instance index file is not a JSON object"),
        (b'{"Name": "x"}', "instance index file has no ConfigurationFilePath"),
        (b'{"ConfigurationFilePath": "rel.config"}', "is not an absolute path"),
        (b" " * (1024 * 1024 + 1), "over 1 MiB"),
    ],
)
def test_parse_instance_index_problems(raw: bytes | None, problem: str) -> None:
    got = discover.parse_instance_index(
        raw, "C:\\ProgramData\\x.config", platform="windows", unreadable="denied"
    )
    assert got.problem is not None
    assert problem in got.problem


def test_pick_instance_exact_case_wins() -> None:
    def one(name: str) -> discover.Instance:
        raw = f'{{"Name": "{name}", "ConfigurationFilePath": "/x/{name}"}}'.encode()
        return discover.parse_instance_index(raw, f"/i/{name}", platform="linux")

    both = [one("tentacle"), one("Tentacle")]
    picked = discover.pick_instance(both, "Tentacle")
    assert picked is not None
    assert picked.name == "Tentacle"
    folded = discover.pick_instance(both, "TENTACLE")
    assert folded is not None
    assert folded.name == "tentacle"
    assert discover.pick_instance(both, "Other") is None
