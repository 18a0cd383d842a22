"""TentacleConfig: round trip, edits, Tentacle's key rules, typed values, secrets."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

import tentacle_ha
from tentacle_ha import config
from tentacle_ha.config import KEYS
from tentacle_ha.config import ProxySettings
from tentacle_ha.config import TentacleConfig
from tentacle_ha.errors import ConfigValueError
from tentacle_ha.errors import ConflictError
from tentacle_ha.errors import FileTooLargeError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import KeyNotFoundError
from tentacle_ha.errors import TrustedServersError

CORPUS = Path(__file__).parent.parent / "corpus"
VALID = sorted((CORPUS / "valid").glob("*.config"))
GOLDEN = Path(__file__).parent.parent / "golden" / "edits"
THUMB = "9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7"
NEW_THUMB = "1111111111111111111111111111111111111111"


def _load(name: str) -> TentacleConfig:
    return config.load(CORPUS / "valid" / name)


def _lxml_settings(data: bytes) -> dict[str, str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(data, parser)
    out: dict[str, str] = {}
    for child in root:
        if child.tag == "set":
            text = (child.text or "") + "".join(c.tail or "" for c in child)
            out[child.get("key", "")] = text
    return out


def test_corpus_is_not_empty() -> None:
    """The valid corpus exists, so the identity test below cannot pass vacuously."""
    assert len(VALID) >= 20


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_corpus_round_trips_byte_for_byte(path: Path) -> None:
    """Loading and dumping an untouched file gives back its exact bytes."""
    data = path.read_bytes()
    assert config.loads(data).dumps() == data
    assert config.load(path).dumps() == data


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_corpus_model_agrees_with_lxml(path: Path) -> None:
    """Every key's value is what lxml reads (last one wins for case duplicates)."""
    doc = config.load(path)
    expected: dict[str, str] = {}
    spelling: dict[str, str] = {}
    for key, value in _lxml_settings(path.read_bytes()).items():
        spelling.setdefault(key.upper(), key)
        expected[key.upper()] = value
    assert [k.upper() for k in doc] == list(expected)
    for folded, value in expected.items():
        got = doc.get(spelling[folded], reveal=True)
        assert got == (value if value.strip() else None)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_corpus_edit_keeps_everything_else(path: Path) -> None:
    """Setting a new key changes no byte outside the inserted element."""
    data = path.read_bytes()
    doc = config.loads(data)
    doc.set("Zz.Test.Key", "v")
    out = doc.dumps()
    before = _lxml_settings(data)
    after = _lxml_settings(out)
    assert after.pop("Zz.Test.Key") == "v"
    assert after == before
    if b"<octopus-settings />" in data:  # the root must open up; checked by golden
        return
    matcher = difflib.SequenceMatcher(None, data, out, autojunk=False)
    inserted = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    assert all(op[0] == "insert" for op in inserted), inserted


# -- golden edits --------------------------------------------------------------

Edit = Callable[[TentacleConfig], object]


def _add_node(doc: TentacleConfig) -> None:
    doc.trusted_servers = doc.trusted_servers.add_polling(
        THUMB, "https://octo-node4.example.com:10943"
    )


def _remove_node(doc: TentacleConfig) -> None:
    doc.trusted_servers = doc.trusted_servers.remove(
        address="https://node2.example.com:10943"
    )


def _rotate_staged(doc: TentacleConfig) -> None:
    doc.trusted_servers = doc.trusted_servers.rotate(THUMB, NEW_THUMB, staged=True)


def _set_many(doc: TentacleConfig) -> None:
    doc.set("Octopus.Home", "/srv/octopus & co")
    doc.set("Tentacle.Communication.PollingConnectionCount", 3)
    doc.set("Tentacle.Services.NoListen", value=False)
    doc.set("Aaa.First", "first")
    doc.set("Zzz.Last", None)


def _delete_and_null(doc: TentacleConfig) -> None:
    doc.delete("Tentacle.Deployment.ApplicationDirectory")
    doc.set("Tentacle.Services.PortNumber", None)
    doc.set("Tentacle.Services.ListenIP", "10.0.0.5")


def _first_key(doc: TentacleConfig) -> None:
    doc.set("Octopus.Home", "/etc/octopus/Tentacle")
    doc.set("Tentacle.Services.NoListen", value=True)


def _collapse_duplicates(doc: TentacleConfig) -> None:
    doc.set("OCTOPUS.HOME", "/third")


def _migrate_to_lb(doc: TentacleConfig) -> None:
    servers = doc.trusted_servers.add_polling(
        THUMB, "https://octopus-lb.example.com:10943"
    )
    doc.trusted_servers = servers.keep_only(["https://octopus-lb.example.com:10943"])


GOLDEN_CASES: list[tuple[str, str, Edit]] = [
    ("windows-ha-3node.config", "windows-add-node", _add_node),
    ("linux-ha-3node.config", "linux-add-node", _add_node),
    ("utf16-le-bom.config", "utf16-add-node", _add_node),
    ("one-entry-per-line.config", "per-line-remove-node", _remove_node),
    ("docs-pretty-json.config", "pretty-remove-node", _remove_node),
    ("quot-escaped-json.config", "quot-add-node", _add_node),
    ("legacy-string-style-squid.config", "legacy-rotate-staged", _rotate_staged),
    ("windows-polling-single.config", "windows-set-many", _set_many),
    ("single-quotes-tabs.config", "tabs-set-many", _set_many),
    ("linux-ha-3node.config", "linux-delete-and-null", _delete_and_null),
    ("create-instance.config", "create-instance-first-keys", _first_key),
    ("empty-root-self-closing.config", "self-closing-root-first-keys", _first_key),
    ("duplicate-case-keys.config", "duplicates-collapse", _collapse_duplicates),
    ("comments-and-pis.config", "comments-add-node", _add_node),
    ("linux-ha-3node.config", "linux-migrate-to-lb", _migrate_to_lb),
]


@pytest.mark.parametrize(
    ("source", "name", "edit"), GOLDEN_CASES, ids=[c[1] for c in GOLDEN_CASES]
)
def test_golden_edit(
    source: str, name: str, edit: Edit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit gives exactly the reviewed output file, byte for byte."""
    monkeypatch.setattr(
        "tentacle_ha.servers._model.generate_subscription_id",
        lambda: "poll://bcdefghjkmnpqrstuvwx/",
    )
    doc = _load(source)
    edit(doc)
    out = doc.dumps()
    golden = GOLDEN / f"{name}.out.config"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_bytes(out)
    expected = golden.read_bytes()
    if out != expected:
        diff = difflib.unified_diff(
            expected.decode("latin-1").splitlines(),
            out.decode("latin-1").splitlines(),
            "golden",
            "actual",
            lineterm="",
        )
        pytest.fail("\n".join(diff))
    assert config.loads(out).dumps() == out


# -- keys ---------------------------------------------------------------------


def test_lookup_ignores_case_and_keeps_first_spelling() -> None:
    """Two keys differing in case read as one: first spelling, last value."""
    doc = _load("duplicate-case-keys.config")
    assert list(doc) == ["Octopus.Home", "Tentacle.Services.NoListen"]
    assert doc["OCTOPUS.home"] == "/second"
    assert "octopus.HOME" in doc
    assert len(doc) == 2


def test_set_existing_key_with_other_case_keeps_spelling() -> None:
    """Setting a key spelled differently edits the existing element."""
    doc = _load("linux-ha-3node.config")
    doc.set("OCTOPUS.HOME", "/opt/x")
    assert b'<set key="Octopus.Home">/opt/x</set>' in doc.dumps()
    assert b"OCTOPUS.HOME" not in doc.dumps()


def test_set_same_value_changes_nothing() -> None:
    """Setting a key to its current value is not an edit."""
    doc = _load("windows-ha-3node.config")
    assert doc.set("Octopus.Home", "C:\\Octopus") is False
    assert doc.set("Tentacle.Services.ListenIP", None) is False
    assert not doc.changed
    assert doc.changed_keys == ()


def test_blank_values_are_null_elements() -> None:
    """None, '' and whitespace are stored as an empty element and read as None."""
    for value in (None, "", "   "):
        doc = _load("linux-ha-3node.config")
        doc.set("Octopus.Home", value)
        assert b'<set key="Octopus.Home" />' in doc.dumps()
        assert doc["Octopus.Home"] is None
        assert doc.get("Octopus.Home", "dflt") == "dflt"
        assert "Octopus.Home" in doc


def test_self_closing_style_follows_the_file() -> None:
    """A new empty element copies the file's ``/>`` style."""
    doc = _load("self-closing-variants.config")
    assert doc["B.Tight"] is None
    assert doc["C.Pair"] is None
    doc.set("B.Tight", "now set")
    doc.set("E.Empty", None)
    text = doc.dumps().decode()
    assert '<set key="B.Tight">now set</set>' in text
    assert '<set key="E.Empty" />' in text


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "general"])
@pytest.mark.parametrize(
    ("empties", "written"),
    [
        ('<set key="E"/>\n  <set key="F" />', "/>"),
        ('<set key="E" />\n  <set key="F"/>', " />"),
        ("", " />"),
    ],
    ids=["tight", "spaced", "none"],
)
def test_new_empty_elements_take_the_first_empty_ones_form(
    monkeypatch: pytest.MonkeyPatch, empties: str, written: str, *, fast: bool
) -> None:
    """Blanking a value and adding an empty key both copy the file's first
    empty element (" />" when the file has none), on either path."""
    monkeypatch.setattr(config._fast, "ENABLED", fast)
    data = (
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        f'  <set key="A">1</set>\n  {empties}\n</octopus-settings>'
    ).encode()
    doc = config.loads(data)
    assert (doc._fast is not None) == fast
    doc.set("A", "two")  # a value first: the form is read only when needed
    doc.set("A", None)
    doc.set("Z", None)
    text = doc.dumps().decode()
    assert f'<set key="A"{written}' in text
    assert f'<set key="Z"{written}' in text


def test_missing_key_raises_key_not_found() -> None:
    """A missing key raises KeyNotFoundError, which is also a KeyError."""
    doc = _load("linux-ha-3node.config")
    with pytest.raises(KeyNotFoundError) as info:
        doc["Nope.Key"]
    assert isinstance(info.value, KeyError)
    assert str(info.value).endswith("no key 'Nope.Key'")
    with pytest.raises(KeyError):
        doc.delete("Nope.Key")
    assert doc.delete("Nope.Key", missing_ok=True) is False
    with pytest.raises(KeyError):
        doc.raw("Nope.Key")


def test_delete_removes_element_and_its_line() -> None:
    """Deleting a key removes its element and the line it stood on, nothing else."""
    doc = _load("linux-ha-3node.config")
    before = doc.dumps().decode()
    doc.delete("Tentacle.Services.ListenIP")
    after = doc.dumps().decode()
    assert after == before.replace('\n  <set key="Tentacle.Services.ListenIP" />', "")


def test_delete_all_case_duplicates() -> None:
    """Deleting a key removes every element that differs only in case."""
    doc = _load("duplicate-case-keys.config")
    doc.delete("octopus.home")
    assert "Octopus.Home" not in doc
    assert b"/first" not in doc.dumps()
    assert b"/second" not in doc.dumps()


def test_delete_then_set_again() -> None:
    """A deleted key can be added back; it lands in sorted position."""
    doc = _load("linux-ha-3node.config")
    original = doc.dumps()
    doc.delete("Tentacle.Services.NoListen")
    doc.set("Tentacle.Services.NoListen", value=True)
    assert doc.dumps() == original


def test_empty_key_is_refused() -> None:
    """A blank key cannot be set."""
    doc = _load("linux-ha-3node.config")
    with pytest.raises(InvalidValueError):
        doc.set("  ", "x")


def test_control_characters_are_refused() -> None:
    """A character XML 1.0 cannot hold is refused, and nothing changes."""
    doc = _load("linux-ha-3node.config")
    with pytest.raises(InvalidValueError, match="U\\+0001"):
        doc.set("Octopus.Home", "a\x01b")
    assert not doc.changed


def test_cr_and_newlines_survive() -> None:
    """CR, LF and tabs in a value read back exactly (CR as a character reference)."""
    doc = _load("windows-ha-3node.config")
    doc.set("Custom.Multi", "a\r\nb\nc\td")
    out = doc.dumps()
    assert config.loads(out)["Custom.Multi"] == "a\r\nb\nc\td"
    assert b"a&#xD;\r\nb\r\nc\td" in out


def test_quotes_escaped_as_the_file_does() -> None:
    """A file that escapes quotes as &quot; gets &quot; in new values too."""
    doc = _load("quot-escaped-json.config")
    doc.set("Custom.Q", 'say "hi"')
    assert b"say &quot;hi&quot;" in doc.dumps()
    plain = _load("linux-ha-3node.config")
    plain.set("Custom.Q", 'say "hi"')
    assert b'say "hi"' in plain.dumps()


def test_non_encodable_characters_become_references() -> None:
    """A Latin-1 file gets character references for what Latin-1 cannot hold."""
    doc = _load("latin1-declared.config")
    doc.set("Octopus.Home", "C:\\Données\\€")
    out = doc.dumps()
    assert "C:\\Données\\&#x20AC;".encode("latin-1") in out
    assert config.loads(out)["Octopus.Home"] == "C:\\Données\\€"
    doc.set("Zz.\u20ac", "x")
    assert config.loads(doc.dumps())["Zz.\u20ac"] == "x"


def test_new_key_in_utf16_file() -> None:
    """A UTF-16 file stays UTF-16 with its BOM after an edit."""
    doc = _load("utf16-be-bom.config")
    doc.set("Custom.Key", "ü")
    out = doc.dumps()
    assert out.startswith(b"\xfe\xff")
    assert config.loads(out)["Custom.Key"] == "ü"


# -- typed accessors -------------------------------------------------------------


def test_typed_accessors_read_tentacle_forms() -> None:
    """Typed accessors read the stored forms, with Tentacle's defaults."""
    doc = _load("windows-ha-3node.config")
    assert doc.home == "C:\\Octopus"
    assert doc.application_directory == "C:\\Octopus\\Applications"
    assert doc.listen_port == 10933
    assert doc.listen_ip is None
    assert doc.no_listen is True
    assert doc.polling_connection_count == 1
    assert doc.certificate_thumbprint == "0123456789ABCDEF0123456789ABCDEF01234567"
    empty = _load("create-instance.config")
    assert empty.listen_port == 10933
    assert empty.no_listen is False
    assert empty.polling_connection_count is None
    assert empty.web_proxy == ProxySettings()


def test_typed_setters_write_tentacle_forms() -> None:
    """Setters store bools lower-case, ints as digits, and validate the value."""
    doc = _load("create-instance.config")
    doc.no_listen = True
    doc.listen_port = 10934
    doc.polling_connection_count = 4
    doc.listen_ip = "::1"
    doc.home = "/etc/octopus"
    doc.application_directory = "/home/Octopus/Applications"
    doc.certificate_thumbprint = "0123456789abcdef0123456789abcdef01234567"
    text = doc.dumps().decode()
    assert "<set key='Tentacle.Services.NoListen'>true</set>" in text
    assert "<set key='Tentacle.Services.PortNumber'>10934</set>" in text
    assert "0123456789ABCDEF0123456789ABCDEF01234567" in text
    for key, bad in [
        (KEYS.PORT_NUMBER, "70000"),
        (KEYS.PORT_NUMBER, "ten"),
        (KEYS.NO_LISTEN, "yes"),
        (KEYS.POLLING_CONNECTION_COUNT, "0"),
        (KEYS.LISTEN_IP, "not-an-ip"),
        (KEYS.CERTIFICATE_THUMBPRINT, "abc"),
        (KEYS.TRUSTED_SERVERS, "{not json"),
    ]:
        with pytest.raises(InvalidValueError):
            doc.set(key, bad)
    doc.set(KEYS.NO_LISTEN, "True")
    assert doc.raw(KEYS.NO_LISTEN) == "true"
    doc.set(KEYS.LISTEN_IP, "any")
    assert doc.listen_ip is None


def test_unparsable_stored_value_gives_tentacle_message() -> None:
    """A stored value that is not its type gives Tentacle's message, positioned."""
    data = (
        b'<?xml version="1.0"?>\n<octopus-settings>\n'
        b'  <set key="Tentacle.Services.PortNumber">NotAnInt</set>\n'
        b'  <set key="Tentacle.Services.NoListen">NotABool</set>\n'
        b'  <set key="Octopus.Server.Proxy.ProxyPort">x</set>\n'
        b"</octopus-settings>"
    )
    doc = config.loads(data, path="T.config")
    with pytest.raises(ConfigValueError) as info:
        _ = doc.listen_port
    assert str(info.value) == (
        "T.config:3:3: Unable to parse configuration key "
        "'Tentacle.Services.PortNumber' as a 'Int32'. Value was 'NotAnInt'."
    )
    with pytest.raises(ConfigValueError, match="'Boolean'"):
        _ = doc.no_listen
    with pytest.raises(ConfigValueError):
        _ = doc.polling_proxy


def test_proxy_settings_round_trip() -> None:
    """Proxy settings read and write the five keys of each proxy."""
    doc = _load("proxy-keys.config")
    web = doc.web_proxy
    assert web.host == "proxy.corp.example.com"
    assert web.port == 3128
    assert web.username == "CORP\\svc-octopus"
    assert web.use_default_proxy is False
    assert web.custom
    assert web.password is not None
    assert "ZW5j" not in repr(web)
    polling = doc.polling_proxy
    doc.polling_proxy = ProxySettings(use_default_proxy=True)
    assert doc.polling_proxy == ProxySettings(use_default_proxy=True)
    doc.polling_proxy = polling
    assert doc.dumps() == (CORPUS / "valid" / "proxy-keys.config").read_bytes()


# -- secrets ---------------------------------------------------------------------


def test_secrets_stay_hidden() -> None:
    """Secret values never show in repr, str, items or diffs unless revealed."""
    doc = _load("windows-ha-3node.config")
    secret_text = doc.get(KEYS.CERTIFICATE, reveal=True)
    assert isinstance(secret_text, str)
    value = doc[KEYS.CERTIFICATE]
    assert isinstance(value, tentacle_ha.Secret)
    assert value.reveal() == secret_text
    assert secret_text not in repr(value) + str(value) + f"{value}" + repr(doc)
    assert dict(doc.items())[KEYS.CERTIFICATE] == "***"
    assert dict(doc.items(reveal=True))[KEYS.CERTIFICATE] == secret_text
    doc.set(KEYS.CERTIFICATE, "bmV3IGNlcnQ=")
    diff = doc.diff()
    assert secret_text not in diff
    assert "bmV3IGNlcnQ=" not in diff
    assert "*** (changed)" in diff
    assert "bmV3IGNlcnQ=" in doc.diff(reveal=True)
    legacy = _load("legacy-string-style-squid.config")
    assert isinstance(legacy.get("octopus.storage.masterkey"), tentacle_ha.Secret)


def test_secret_set_from_secret_object() -> None:
    """A Secret can be stored; its value is written, not its mask."""
    doc = _load("proxy-keys.config")
    doc.set("Octopus.Proxy.ProxyPassword", tentacle_ha.Secret("c2VjcmV0"))
    assert b">c2VjcmV0<" in doc.dumps()


# -- trusted servers through the document -------------------------------------


def test_trusted_servers_untouched_keeps_text() -> None:
    """Assigning an unchanged list back writes nothing."""
    doc = _load("docs-pretty-json.config")
    doc.trusted_servers = doc.trusted_servers
    assert not doc.changed


def test_trusted_servers_error_points_into_file() -> None:
    """A broken array raises with the file position; other keys still work."""
    path = CORPUS / "broken-servers" / "truncated-json.config"
    doc = config.load(path)
    with pytest.raises(TrustedServersError) as info:
        _ = doc.trusted_servers
    assert (info.value.line, info.value.col) == (4, 140)
    assert str(info.value).startswith(f"{path}:4:140: ")
    assert doc["Octopus.Home"] == "/x"
    doc.set("Octopus.Home", "/y")
    assert config.loads(doc.dumps())["Octopus.Home"] == "/y"


def test_trusted_servers_error_through_entities() -> None:
    """Error columns count raw characters, so &quot; escapes are accounted for."""
    doc = config.load(CORPUS / "broken-servers" / "quot-escaped-broken.config")
    with pytest.raises(TrustedServersError) as info:
        _ = doc.trusted_servers
    assert (info.value.line, info.value.col) == (3, 60)


def test_assigning_invalid_new_entry_is_refused() -> None:
    """A new entry with a lower-case thumbprint cannot be written."""
    doc = _load("linux-ha-3node.config")
    bad = tentacle_ha.TrustedServer(
        thumbprint=THUMB.lower(),
        communication_style=2,
        address="https://x:10943",
    )
    with pytest.raises(InvalidValueError, match="upper-case"):
        doc.trusted_servers = doc.trusted_servers.add_or_update(bad)
    odd = tentacle_ha.TrustedServer(thumbprint="nothex", communication_style=1)
    with pytest.raises(InvalidValueError):
        doc.trusted_servers = doc.trusted_servers.add_or_update(odd)


def test_existing_odd_thumbprint_is_preserved() -> None:
    """An odd thumbprint already in the file is kept when other entries change."""
    data = (
        b'<octopus-settings><set key="Tentacle.Communication.TrustedOctopusServers">'
        b'[{"Thumbprint":"odd-value","CommunicationStyle":1}]</set></octopus-settings>'
    )
    doc = config.loads(data)
    doc.trusted_servers = doc.trusted_servers.add_polling(THUMB, "https://n:10943")
    again = config.loads(doc.dumps()).trusted_servers
    assert again[0].thumbprint == "odd-value"
    assert again[1].thumbprint == THUMB


# -- save ---------------------------------------------------------------------------


def test_save_is_atomic_and_keeps_mode(tmp_path: Path) -> None:
    """save() replaces the file, keeps its mode and leaves no temporary file."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes((CORPUS / "valid" / "linux-ha-3node.config").read_bytes())
    path.chmod(0o640)
    doc = config.load(path)
    doc.set("Octopus.Home", "/new")
    assert doc.save() is True
    assert (path.stat().st_mode & 0o777) == 0o640
    assert config.load(path)["Octopus.Home"] == "/new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Tentacle.config"]
    assert not doc.changed


def test_save_unchanged_does_not_touch_file(tmp_path: Path) -> None:
    """Saving an unchanged document does not rewrite the file (mtime kept)."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes((CORPUS / "valid" / "linux-ha-3node.config").read_bytes())
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    doc = config.load(path)
    doc.set("Octopus.Home", doc.home)
    assert doc.save() is False
    assert path.stat().st_mtime_ns == 1_000_000_000


def test_save_refuses_when_file_changed_meanwhile(tmp_path: Path) -> None:
    """A file changed on disk after loading is not overwritten (unless forced)."""
    path = tmp_path / "Tentacle.config"
    original = (CORPUS / "valid" / "linux-ha-3node.config").read_bytes()
    path.write_bytes(original)
    doc = config.load(path)
    doc.set("Octopus.Home", "/mine")
    path.write_bytes(original.replace(b"/etc/octopus/Tentacle", b"/theirs"))
    with pytest.raises(ConflictError):
        doc.save()
    assert b"/theirs" in path.read_bytes()
    assert doc.save(force=True) is True
    assert b"/mine" in path.read_bytes()


def test_save_elsewhere_and_backup(tmp_path: Path) -> None:
    """save(path) writes a copy; backup_suffix keeps the previous bytes."""
    src = tmp_path / "a.config"
    original = (CORPUS / "valid" / "linux-ha-3node.config").read_bytes()
    src.write_bytes(original)
    doc = config.load(src)
    doc.set("Octopus.Home", "/b")
    assert doc.save(tmp_path / "b.config") is True
    assert src.read_bytes() == original
    assert doc.path == str(tmp_path / "b.config")
    doc.set("Octopus.Home", "/c")
    doc.save(backup_suffix=".bak")
    assert config.load(tmp_path / "b.config.bak")["Octopus.Home"] == "/b"


def test_save_without_path_is_refused() -> None:
    """An in-memory document needs a path to save."""
    doc = config.loads((CORPUS / "valid" / "linux-ha-3node.config").read_bytes())
    with pytest.raises(InvalidValueError):
        doc.save()


def test_oversized_file_is_not_read(tmp_path: Path) -> None:
    """A file over the size limit is refused before it is read."""
    path = tmp_path / "big.config"
    with path.open("wb") as handle:
        handle.truncate(config.MAX_FILE_SIZE + 1)
    with pytest.raises(FileTooLargeError):
        config.load(path)
    with pytest.raises(FileTooLargeError):
        config.loads(b" " * (config.MAX_FILE_SIZE + 1))


def test_loads_takes_bytes_only() -> None:
    """loads() refuses str: the file declares its own encoding."""
    with pytest.raises(TypeError):
        config.loads("<octopus-settings/>")  # type: ignore[arg-type]


def test_module_dumps_and_repr() -> None:
    """dumps(doc) is doc.dumps(); repr names the path and the key count."""
    doc = _load("linux-ha-3node.config")
    assert config.dumps(doc) == doc.dumps()
    assert repr(doc).endswith("linux-ha-3node.config' keys=9>")
    assert doc.position("Octopus.Home") == (3, 3)
    assert doc.position("Nope") is None
