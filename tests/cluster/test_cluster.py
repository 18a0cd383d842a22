"""Tests for tentacle_ha.cluster: the cluster file, its validation and addresses."""

from __future__ import annotations

import contextlib
import ipaddress
import pickle
import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import attrs
import pytest
from cluster_strategies import clusters
from hypothesis import example
from hypothesis import given
from hypothesis import note
from hypothesis import strategies as st

from tentacle_ha.cluster import DEFAULT_COMMS_PORT
from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import Layout
from tentacle_ha.cluster import TargetOS
from tentacle_ha.cluster import Tentacle
from tentacle_ha.cluster import TentacleKind
from tentacle_ha.cluster import dumps_cluster
from tentacle_ha.cluster import format_host
from tentacle_ha.cluster import load_cluster
from tentacle_ha.cluster import loads_cluster
from tentacle_ha.cluster._values import host_key
from tentacle_ha.errors import ClusterError
from tentacle_ha.servers import normalize_thumbprint

TESTS = Path(__file__).parent.parent
EXAMPLES = TESTS.parent / "examples"
CLUSTERS = TESTS / "corpus" / "clusters"
VALID = sorted((CLUSTERS / "valid").glob("*.toml"))
INVALID = sorted((CLUSTERS / "invalid").glob("*.toml"))
THUMB = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"


def _minimal(layout: str = "unique-address", extra: str = "") -> str:
    return (
        f'[cluster]\nserver = "https://octopus.example.com"\n'
        f'thumbprint = "{THUMB}"\nlayout = "{layout}"\n{extra}\n'
        '[[nodes]]\nname = "node1"\naddress = "node1.example.com"\n'
    )


# --- examples and the corpus ---------------------------------------------------


EXAMPLE_ADDRESSES = {
    "cluster-unique-address.toml": (
        "https://node1.octopus.example.com:10943",
        "https://node2.octopus.example.com:10943",
        "https://node3.octopus.example.com:10943",
    ),
    "cluster-unique-port.toml": (
        "https://octopus-lb.example.com:10943",
        "https://octopus-lb.example.com:10944",
        "https://octopus-lb.example.com:10945",
    ),
    "cluster-load-balancer.toml": ("https://polling.octopus.example.com:10943",),
    "cluster-websocket.toml": ("wss://octopus.example.com/OctopusComms",),
}


def test_every_example_cluster_is_tested() -> None:
    """Each examples/cluster-*.toml has expected addresses here; all layouts appear."""
    names = {p.name for p in EXAMPLES.glob("cluster-*.toml")}
    assert names == set(EXAMPLE_ADDRESSES)
    layouts = {load_cluster(EXAMPLES / n).layout for n in names}
    assert layouts == set(Layout)


@pytest.mark.parametrize("name", sorted(EXAMPLE_ADDRESSES))
def test_example_cluster_addresses(name: str) -> None:
    """An example file loads and gives exactly the addresses its layout promises."""
    cluster = load_cluster(EXAMPLES / name)
    assert cluster.comms_addresses() == EXAMPLE_ADDRESSES[name]
    assert cluster.path == str(EXAMPLES / name)
    assert cluster.thumbprint == THUMB or name == "cluster-websocket.toml"
    oses = {t.os for t in load_cluster(EXAMPLES / name).tentacles}
    assert oses <= set(TargetOS)


def test_examples_cover_both_operating_systems() -> None:
    """Across the examples there is at least one Windows and one Linux Tentacle."""
    oses = {
        t.os for p in EXAMPLES.glob("cluster-*.toml") for t in load_cluster(p).tentacles
    }
    assert oses == {TargetOS.WINDOWS, TargetOS.LINUX}


def test_example_defaults_merge() -> None:
    """[defaults] fill in what a [[tentacles]] entry omits; the entry wins."""
    cluster = load_cluster(EXAMPLES / "cluster-unique-address.toml")
    web, sql, worker = cluster.tentacles
    assert web == Tentacle(
        name="web01",
        os=TargetOS.LINUX,
        space="Default",
        environments=("Production",),
        roles=("web-server",),
        machine_policy="Default Machine Policy",
        config_path="/etc/octopus/Tentacle/tentacle-Tentacle.config",
    )
    assert sql.config_path == "C:\\Octopus\\Tentacle.config"
    assert sql.os is TargetOS.WINDOWS
    # The worker clears the inherited environments with an empty array.
    assert worker.kind is TentacleKind.WORKER
    assert worker.environments == ()
    assert worker.worker_pools == ("Linux Workers",)
    assert worker.machine_policy == "Default Machine Policy"


def test_valid_corpus_is_not_empty() -> None:
    """The valid and invalid cluster corpora hold files (a glob typo cannot pass)."""
    assert len(VALID) >= 4
    assert len(INVALID) >= 40


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_corpus(path: Path) -> None:
    """A valid corpus file gives the addresses listed in its '# address:' lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = tuple(
        line.removeprefix("# address: ")
        for line in lines
        if line.startswith("# address: ")
    )
    cluster = load_cluster(path)
    assert expected
    assert cluster.comms_addresses() == expected
    assert loads_cluster(dumps_cluster(cluster)) == cluster


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_corpus(path: Path) -> None:
    """An invalid corpus file fails with exactly the error on its first line."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    spec = first.removeprefix("# error: ")
    assert spec != first
    expected = f"{path}: {spec[3:]}" if spec.startswith("-: ") else f"{path}:{spec}"
    with pytest.raises(ClusterError) as info:
        load_cluster(path)
    assert str(info.value) == expected
    assert info.value.path == str(path)


def test_inline_tables_and_case_folding() -> None:
    """Inline node tables load; enum values ignore case; https:// websockets become wss://."""
    cluster = load_cluster(CLUSTERS / "valid" / "inline-tables.toml")
    assert cluster.layout is Layout.WEBSOCKET
    assert cluster.websocket_url == "wss://octopus.example.com:8443/OctopusComms"
    assert [n.name for n in cluster.nodes] == ["node-1", "node-2"]
    worker, target = cluster.tentacles
    assert worker.worker_pools == ("Pool A",)
    assert worker.instance == "Prod Tentacle"
    assert target.worker_pools == ()
    assert target.os is TargetOS.WINDOWS


def test_unique_port_defaults_and_addresses() -> None:
    """Public ports default to 10943 + position; explicit ones are kept."""
    text = _minimal("unique-port", 'load_balancer = "lb.example.com"') + (
        '[[nodes]]\nname = "node2"\naddress = "10.0.0.2"\n'
        '[[nodes]]\nname = "node3"\naddress = "10.0.0.3"\npublic_port = 11000\n'
    )
    cluster = loads_cluster(text)
    assert [n.public_port for n in cluster.nodes] == [10943, 10944, 11000]
    assert [n.comms_port for n in cluster.nodes] == [DEFAULT_COMMS_PORT] * 3
    assert cluster.load_balancer_port is None
    assert cluster.comms_addresses() == (
        "https://lb.example.com:10943",
        "https://lb.example.com:10944",
        "https://lb.example.com:11000",
    )


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3", THUMB),
        ("8e2f430b7a91c5d26f11e83ca0579b44d12e6cf3", THUMB),
        ("8E:2F:43:0B:7A:91:C5:D2:6F:11:E8:3C:A0:57:9B:44:D1:2E:6C:F3", THUMB),
        ("8e 2f 43 0b 7a 91 c5 d2 6f 11 e8 3c a0 57 9b 44 d1 2e 6c f3", THUMB),
    ],
)
def test_thumbprint_is_normalised(written: str, stored: str) -> None:
    """Spaces, colons and lower case are accepted; it is stored upper-case."""
    cluster = loads_cluster(_minimal().replace(THUMB, written))
    assert cluster.thumbprint == stored


@pytest.mark.parametrize(
    ("lb", "host", "port"),
    [
        ("lb.example.com", "lb.example.com", 10943),
        ("lb.example.com:443", "lb.example.com", 443),
        ("https://lb.example.com:10999/", "lb.example.com", 10999),
        ("[2001:db8::5]", "2001:db8::5", 10943),
        ("2001:db8::5", "2001:db8::5", 10943),
        ("[2001:db8::5]:10000", "2001:db8::5", 10000),
        ("192.0.2.1:1", "192.0.2.1", 1),
    ],
)
def test_load_balancer_forms(lb: str, host: str, port: int) -> None:
    """load_balancer: host, host:port, [v6]:port or https URL; default port 10943."""
    cluster = loads_cluster(_minimal("load-balancer", f'load_balancer = "{lb}"'))
    assert (cluster.load_balancer_host, cluster.load_balancer_port) == (host, port)
    assert cluster.comms_addresses() == (f"https://{format_host(host)}:{port}",)


def test_ipv6_node_addresses_are_bracketed() -> None:
    """An IPv6 node address appears in brackets in its comms address."""
    text = _minimal().replace('"node1.example.com"', '"fd00::1"')
    assert loads_cluster(text).comms_addresses() == ("https://[fd00::1]:10943",)


@pytest.mark.parametrize(
    ("written", "emitted"),
    [("::ffff:0:0", "::ffff:0.0.0.0"), ("::FFFF:c000:201", "::ffff:192.0.2.1")],
)
def test_ipv4_mapped_node_addresses_are_dotted(written: str, emitted: str) -> None:
    """An IPv4-mapped node address is written dotted, as .NET's Uri writes it
    (the case the comms-address property once met only by chance)."""
    text = _minimal().replace('"node1.example.com"', f'"{written}"')
    assert loads_cluster(text).comms_addresses() == (f"https://[{emitted}]:10943",)


def test_bom_is_accepted(tmp_path: Path) -> None:
    """A UTF-8 BOM (as Notepad writes) is ignored."""
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xef\xbb\xbf" + _minimal().encode())
    assert load_cluster(path).layout is Layout.UNIQUE_ADDRESS


def test_not_utf8_is_refused_with_position(tmp_path: Path) -> None:
    """Bytes that are not UTF-8 give a ClusterError pointing at the bad byte."""
    path = tmp_path / "c.toml"
    path.write_bytes(_minimal().encode() + b"# caf\xe9\n")
    with pytest.raises(ClusterError) as info:
        load_cluster(path)
    assert str(info.value) == f"{path}:9:6: the cluster file is not UTF-8"


def test_missing_file_is_a_cluster_error(tmp_path: Path) -> None:
    """A file that cannot be read gives a ClusterError naming it, not an OSError."""
    path = tmp_path / "absent.toml"
    with pytest.raises(ClusterError) as info:
        load_cluster(path)
    assert (
        str(info.value)
        == f"{path}: cannot read the cluster file: No such file or directory"
    )
    assert isinstance(info.value.__cause__, FileNotFoundError)


def test_in_memory_errors_name_string() -> None:
    """Errors from loads_cluster without a path say <string>."""
    with pytest.raises(ClusterError) as info:
        loads_cluster(_minimal().replace("unique-address", "bogus"))
    assert str(info.value).startswith(
        "<string>:4:1: cluster.layout: 'bogus' is not one"
    )


def test_cluster_error_survives_pickling() -> None:
    """A ClusterError keeps its position across processes (fleet workers)."""
    with pytest.raises(ClusterError) as info:
        loads_cluster(
            _minimal().replace("node1.example.com", "bad host"), path="c.toml"
        )
    copy = pickle.loads(pickle.dumps(info.value))  # noqa: S301 - our own object
    assert (copy.path, copy.line, copy.col) == ("c.toml", 8, 1)
    assert str(copy) == str(info.value)


def test_path_is_not_part_of_equality() -> None:
    """Two clusters with the same content are equal wherever they were read from."""
    text = _minimal()
    assert loads_cluster(text, path="a.toml") == loads_cluster(text, path="b.toml")


def test_layout_polls_every_node() -> None:
    """Only the unique-address and unique-port layouts poll every node."""
    per_node = {layout for layout in Layout if layout.polls_every_node}
    assert per_node == {Layout.UNIQUE_ADDRESS, Layout.UNIQUE_PORT}


def test_dumps_escapes_strings() -> None:
    """dumps_cluster escapes quotes and backslashes; non-ASCII reads back."""
    base = loads_cluster(_minimal())
    odd = Tentacle(
        name='we"b\\01 ü',
        os=TargetOS.WINDOWS,
        environments=("Prod ✓",),
        roles=("r\\",),
        config_path="C:\\Octopus\\Tentacle.config",
    )
    cluster = attrs.evolve(base, tentacles=(odd,))
    assert loads_cluster(dumps_cluster(cluster)) == cluster


# --- properties --------------------------------------------------------------


@given(clusters())
def test_dumps_loads_round_trip(cluster: Cluster) -> None:
    """Any valid cluster written by dumps_cluster reads back equal."""
    text = dumps_cluster(cluster)
    note(text)
    assert loads_cluster(text) == cluster


@given(clusters())
def test_comms_addresses_are_https_urls_one_per_node(cluster: Cluster) -> None:
    """Per-node layouts: a distinct https URL with explicit port per node, in order."""
    addresses = cluster.comms_addresses()
    if not cluster.layout.polls_every_node:
        assert len(addresses) == 1
        assert addresses[0].startswith(
            "wss://" if cluster.websocket_url else "https://"
        )
        return
    assert len(addresses) == len(cluster.nodes)
    endpoints = set()
    for node, address in zip(cluster.nodes, addresses, strict=True):
        url = urlsplit(address)
        assert url.scheme == "https"
        assert url.path == ""
        assert not address.endswith("/")
        assert url.port is not None
        assert f":{url.port}" in address
        host = url.hostname
        assert host is not None
        if cluster.layout is Layout.UNIQUE_ADDRESS:
            assert (host, url.port) == (host_key(node.address), node.comms_port)
        else:
            assert url.port == node.public_port
        if ":" in host:
            # Compressed lower-case hex, an IPv4-mapped address dotted (as
            # .NET's Uri writes it): ::ffff:0:0 is ::ffff:0.0.0.0.
            parsed = ipaddress.IPv6Address(host)
            mapped = parsed.ipv4_mapped
            assert host == (f"::ffff:{mapped}" if mapped else parsed.compressed)
            assert f"[{host}]" in address.lower()
        endpoints.add((host_key(host), url.port))
    assert len(endpoints) == len(cluster.nodes)


@given(clusters(), st.data())
def test_errors_point_at_the_bad_key(cluster: Cluster, data: st.DataObject) -> None:
    """A bad node value is reported at the line and column of its key."""
    lines = dumps_cluster(cluster).splitlines()
    index = data.draw(st.integers(0, len(cluster.nodes) - 1))
    key, bad = data.draw(
        st.sampled_from(
            [
                ("comms_port", "0"),
                ("comms_port", '"10943"'),
                ("address", '"not a host!"'),
                ("address", '"http://h:1"'),
                ("name", '"-x"'),
            ]
        )
    )
    headers = [i for i, line in enumerate(lines) if line == "[[nodes]]"]
    start = headers[index]
    target = next(
        i for i in range(start + 1, len(lines)) if lines[i].startswith(f"{key} = ")
    )
    indent = data.draw(st.sampled_from(["", "  ", "\t"]))
    lines[target] = f"{indent}{key} = {bad}"
    with pytest.raises(ClusterError) as info:
        loads_cluster("\n".join(lines), path="c.toml")
    assert (info.value.line, info.value.col) == (target + 1, len(indent) + 1)
    assert info.value.message.startswith(f"nodes[{index}].{key}: ")


@given(clusters(), st.data())
def test_unknown_keys_are_named_at_their_line(
    cluster: Cluster, data: st.DataObject
) -> None:
    """An unknown key anywhere is refused by name, at its own line."""
    lines = dumps_cluster(cluster).splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("[")]
    after = data.draw(st.sampled_from(headers))
    key = data.draw(st.from_regex(r"x[a-z_]{0,8}", fullmatch=True))
    lines.insert(after + 1, f"{key} = 1")
    with pytest.raises(ClusterError) as info:
        loads_cluster("\n".join(lines))
    assert info.value.line == after + 2
    assert info.value.message.startswith(f"unknown key {key!r} in [")


@given(st.text(max_size=300))
@example("[cluster]\nlayout = 1\n")
@example("[[cluster]]\n")
@example("cluster = 1\n")
@example("[[tentacles]]\nos = 1\n")
@example("[defaults]\nroles = 'x'\n")
@example("[cluster]\n[[nodes]]\naddress = [1]\n")
def test_garbage_gives_only_cluster_errors(text: str) -> None:
    """Any text either loads or raises ClusterError, never another exception."""
    with contextlib.suppress(ClusterError):
        loads_cluster(text)


_EXAMPLE_TEXTS = [
    p.read_text(encoding="utf-8") for p in sorted(EXAMPLES.glob("*.toml"))
]


@given(st.sampled_from(_EXAMPLE_TEXTS), st.data())
def test_mutated_examples_give_only_cluster_errors(
    text: str, data: st.DataObject
) -> None:
    """Examples with lines dropped, repeated or re-valued load or raise ClusterError."""
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["drop", "repeat", "value"]))
        if action == "drop":
            del lines[i]
        elif action == "repeat":
            lines.insert(i, lines[i])
        elif "=" in lines[i]:
            value = data.draw(
                st.sampled_from(["0", "true", '""', "[]", '"x"', "{}", "1.5", '"::"'])
            )
            lines[i] = re.sub(r"=.*", f"= {value}", lines[i])
        if not lines:
            break
    with contextlib.suppress(ClusterError):
        loads_cluster("\n".join(lines))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("address", '""', "nodes[0].address: must not be empty"),
        (
            "address",
            '"fe80::zz"',
            "nodes[0].address: 'fe80::zz' is not a valid IPv6 address",
        ),
        (
            "address",
            '"[10.0.0.1]"',
            "nodes[0].address: '[10.0.0.1]': brackets are for IPv6 addresses only",
        ),
        ("address", '"[::1]x"', "nodes[0].address: '[::1]x' is not host[:port]"),
        ("address", '"h:1x"', "nodes[0].address: 'h:1x': the port must be a number"),
        (
            "address",
            '"h:\u0661"',
            "nodes[0].address: 'h:\u0661': the port must be a number",
        ),
        (
            "address",
            '"ftp://h"',
            "nodes[0].address: 'ftp://h': a comms address is host[:port] or https://host:port",
        ),
        (
            "web_url",
            '"http://h/?x=1"',
            (
                "nodes[0].web_url: 'http://h/?x=1': "
                "a query or fragment is not allowed here"
            ),
        ),
        (
            "web_url",
            '"http://h/a b"',
            "nodes[0].web_url: 'http://h/a b' must not contain spaces",
        ),
        ("web_url", "[]", "nodes[0].web_url: must be a string, not an array"),
        ("name", "1.5", "nodes[0].name: must be a string, not a float"),
        ("name", "1979-05-27", "nodes[0].name: must be a string, not a date or time"),
    ],
)
def test_bad_node_values(key: str, value: str, message: str) -> None:
    """Each kind of bad node value is refused with its own message, at its key."""
    text = _minimal() + f"{key} = {value}\n"
    text = text.replace(f'{key} = "node1', f'# {key} = "node1')
    with pytest.raises(ClusterError) as info:
        loads_cluster(text, path="c.toml")
    assert info.value.message == message
    assert info.value.line == 9


def test_bad_websocket_with_space() -> None:
    """A websocket URL with a space in its path is refused."""
    text = _minimal("websocket", 'websocket = "wss://o.example.com/a b"')
    with pytest.raises(
        ClusterError, match=r"5:1: cluster\.websocket: .* must not contain"
    ):
        loads_cluster(text, path="c.toml")


def test_positions_skip_multiline_strings() -> None:
    """Lines inside a multi-line string are not taken for keys when placing errors."""
    text = _minimal() + (
        "\n[[tentacles]]\n"
        'machine_policy = """\\\nroles = 1\\\n"""\n'
        "os = 'linux'\n"
        'roles = "web"\n'
    )
    with pytest.raises(ClusterError) as info:
        loads_cluster(text, path="c.toml")
    assert str(info.value) == (
        "c.toml:15:1: tentacles[0].roles: must be an array of strings, not a string"
    )


def test_dumps_escapes_control_characters() -> None:
    """dumps_cluster writes control characters as TOML escapes, not raw bytes."""
    base = loads_cluster(_minimal())
    odd = Tentacle(
        name="a\x01b\x7f", os=TargetOS.LINUX, environments=("e",), roles=("r",)
    )
    text = dumps_cluster(attrs.evolve(base, tentacles=(odd,)))
    assert 'name = "a\\u0001b\\u007F"' in text
    assert tomllib.loads(text)["tentacles"][0]["name"] == "a\x01b\x7f"


def test_module_dir_is_the_public_api() -> None:
    """dir(tentacle_ha.cluster) lists the public names only."""
    import tentacle_ha.cluster as module  # noqa: PLC0415 - the module object itself

    assert dir(module) == sorted(module.__all__)


def test_cluster_thumbprint_follows_the_library_rule() -> None:
    """A cluster file takes what normalize_thumbprint takes (openssl's form too)."""
    digits = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"
    pairs = ":".join(digits[i : i + 2] for i in range(0, 40, 2))
    text = (
        "[cluster]\n"
        'server = "https://octopus.example.com"\n'
        f'thumbprint = "SHA1 Fingerprint={pairs}"\n'
        'layout = "unique-address"\n\n'
        '[[nodes]]\nname = "node1"\naddress = "node1.example.com"\n'
    )
    assert loads_cluster(text).thumbprint == normalize_thumbprint(pairs) == digits
