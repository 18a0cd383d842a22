"""Stateful: TrustedServers operations on a TentacleConfig against a plain list.

The model is a ``list[TrustedServer]`` updated by this file's own reading of
the documented semantics (tentacle-facts §3 and the TrustedServers
docstrings); addresses are drawn from a pool whose URI-equivalence classes are
written out by hand, so the model never asks tentacle_ha what "same address"
means.
"""

from __future__ import annotations

import json
import re
from typing import Final

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine
from hypothesis.stateful import initialize
from hypothesis.stateful import invariant
from hypothesis.stateful import rule
from strategies import ADDRESS_CLASS
from strategies import KNOWN_FIELDS
from strategies import SUBSCRIPTION_IDS
from strategies import TRUSTED_KEY
from strategies import EntrySpec
from strategies import documents
from strategies import fold
from strategies import render_entries
from xml_oracle import lxml_view

from tentacle_ha.config import TentacleConfig
from tentacle_ha.config import loads
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServer
from tentacle_ha.servers import TrustedServers

THUMBS: Final = (
    "A" * 40,
    "0123456789ABCDEF0123456789ABCDEF01234567",
    "FEDCBA9876543210FEDCBA9876543210FEDCBA98",
    "5" * 40,
)
ADDRESSES: Final = tuple(ADDRESS_CLASS)
# add_polling needs an explicit port for https (Tentacle stores host:port).
POLL_ADDRESSES: Final = tuple(
    a for a in ADDRESSES if a not in {"https://10.0.0.5/", "https://10.0.0.5"}
)
_GENERATED: Final = re.compile(r"poll://[a-z0-9]{20}/")


def _spelled(thumb: str) -> st.SearchStrategy[str]:
    """A valid thumbprint as a user may type it: any case, with separators."""
    pairs = [thumb[i : i + 2] for i in range(0, 40, 2)]
    return st.sampled_from(
        [thumb, thumb.lower(), ":".join(pairs), " ".join(pairs).lower(), f" {thumb} "]
    )


SPELLED_THUMBS: Final = st.sampled_from(THUMBS).flatmap(_spelled)


def _normalised(text: str) -> str:
    return re.sub(r"[\s:\-]", "", text).upper()


def _same_address(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return ADDRESS_CLASS[a.strip()] == ADDRESS_CLASS[b.strip()]


def _matches(a: TrustedServer, b: TrustedServer) -> bool:
    return a.thumbprint.upper() == b.thumbprint.upper() and _same_address(
        a.address, b.address
    )


def _is_polling(s: TrustedServer) -> bool:
    style = s.communication_style
    return style == CommunicationStyle.TENTACLE_ACTIVE or (
        style == CommunicationStyle.KUBERNETES_TENTACLE and s.address is not None
    )


# add_polling writes an IPv6 host in canonical form (#9), written out by hand.
_STORED: Final = {
    "https://[2001:DB8::1]:10943": "https://[2001:db8::1]:10943",
    "https://[2001:0db8:0:0:0:0:0:1]:10943": "https://[2001:db8::1]:10943",
}


def _polling(thumb: str, address: str, sub: str) -> TrustedServer:
    return TrustedServer(
        thumbprint=thumb,
        communication_style=CommunicationStyle.TENTACLE_ACTIVE,
        address=_STORED.get(address, address),
        subscription_id=sub,
    )


def _add_or_update(
    model: list[TrustedServer], new: TrustedServer
) -> list[TrustedServer]:
    """Replace the first match where it stands (dropping other matches), or append."""
    out: list[TrustedServer] = []
    placed = False
    for entry in model:
        if _matches(entry, new):
            if not placed:
                out.append(new)
                placed = True
            continue
        out.append(entry)
    return out if placed else [*out, new]


# -- the initial array ----------------------------------------------------------


@st.composite
def _initial(draw: st.DrawFn) -> tuple[str | None, list[TrustedServer]]:
    """An initial array (or none) in some layout, legacy forms included."""
    if draw(st.booleans()):
        return None, []
    entries: list[list[tuple[str, object]]] = []
    models: list[TrustedServer] = []
    for _ in range(draw(st.integers(0, 4))):
        thumb = draw(st.sampled_from(THUMBS))
        thumb = thumb.lower() if draw(st.booleans()) else thumb
        style = draw(st.sampled_from([0, 1, 2, 2, 11]))
        address = draw(st.sampled_from([None, *ADDRESSES]))
        sub = draw(st.one_of(st.none(), SUBSCRIPTION_IDS))
        style_value: object = (
            CommunicationStyle(style).octopus_name if draw(st.booleans()) else style
        )
        fields: list[tuple[str, object]] = [
            ("Thumbprint", thumb),
            ("CommunicationStyle", style_value),
            ("Address", address),
            ("Squid", None),
        ]
        if sub is not None or draw(st.booleans()):
            fields.append(("SubscriptionId", sub))
        extra: tuple[tuple[str, str], ...] = ()
        if draw(st.booleans()):
            fields.append(("NoListen", False))
            extra = (("NoListen", "false"),)
        candidate = TrustedServer(
            thumbprint=thumb,
            communication_style=CommunicationStyle(style),
            address=address,
            subscription_id=sub,
            extra=extra,
        )
        if any(_matches(candidate, m) for m in models):
            continue  # Tentacle never writes two entries for one (thumb, address)
        entries.append(fields)
        models.append(candidate)
    layout = draw(st.sampled_from(["tentacle", "compact", "per_line", "indented"]))
    return render_entries(entries, layout=layout), models


# -- the machine ----------------------------------------------------------------


class TrustedServersMachine(RuleBasedStateMachine):
    """Operations on ``doc.trusted_servers`` agree with a plain list model."""

    def __init__(self) -> None:
        super().__init__()
        self.config: TentacleConfig = loads(b"<octopus-settings/>")
        self.model: list[TrustedServer] = []
        # The array text the current list was read from, and its entries:
        # while the entries are those, that exact text is written back.
        self.source_text: str | None = None
        self.source_model: list[TrustedServer] = []
        # Thumbprints whose polling entries all came from add_polling without
        # an explicit SubscriptionId: those must share one SubscriptionId.
        self.clean: set[str] = set()

    @initialize(data=st.data())
    def load(self, data: st.DataObject) -> None:
        text, models = data.draw(_initial(), label="initial array")
        fixed = () if text is None else (EntrySpec(key=TRUSTED_KEY, value=text),)
        doc = data.draw(documents(fixed=fixed), label="document")
        if text is None and fold(TRUSTED_KEY) in doc.expected():
            doc = data.draw(documents(fixed=(EntrySpec(key=TRUSTED_KEY, value=""),)))
        self.config = loads(doc.data)
        self.model = list(models)
        self.source_text = text
        self.source_model = list(models)

    def _apply(self, servers: TrustedServers) -> None:
        self.config.trusted_servers = servers

    def _taint(self, thumb: str) -> None:
        self.clean.discard(thumb.upper())

    @rule(thumb=SPELLED_THUMBS, address=st.sampled_from(POLL_ADDRESSES))
    def add_polling(self, thumb: str, address: str) -> None:
        wanted = _normalised(thumb)
        existing = next(
            (
                s.subscription_id
                for s in self.model
                if s.thumbprint.upper() == wanted
                and _is_polling(s)
                and s.subscription_id
            ),
            None,
        )
        had_entries = any(s.thumbprint.upper() == wanted for s in self.model)
        self._apply(self.config.trusted_servers.add_polling(thumb, address))
        sub = existing
        if sub is None:
            (new,) = [
                s
                for s in self.config.trusted_servers
                if s.thumbprint == wanted and _same_address(s.address, address)
            ]
            sub = new.subscription_id
            assert sub is not None
            assert _GENERATED.fullmatch(sub)
            assert all(s.subscription_id != sub for s in self.model)
            if not had_entries:
                self.clean.add(wanted)
        self.model = _add_or_update(self.model, _polling(wanted, address, sub))

    @rule(
        thumb=SPELLED_THUMBS,
        address=st.sampled_from(POLL_ADDRESSES),
        sub=SUBSCRIPTION_IDS,
    )
    def add_polling_with_subscription(self, thumb: str, address: str, sub: str) -> None:
        wanted = _normalised(thumb)
        servers = self.config.trusted_servers
        self._apply(servers.add_polling(thumb, address, subscription_id=sub))
        self.model = _add_or_update(self.model, _polling(wanted, address, sub))
        self._taint(wanted)

    @rule(thumb=SPELLED_THUMBS)
    def add_listening(self, thumb: str) -> None:
        self._apply(self.config.trusted_servers.add_listening(thumb))
        entry = TrustedServer(
            thumbprint=_normalised(thumb),
            communication_style=CommunicationStyle.TENTACLE_PASSIVE,
        )
        self.model = _add_or_update(self.model, entry)

    @rule(thumb=SPELLED_THUMBS)
    def remove_by_thumbprint(self, thumb: str) -> None:
        self._apply(
            self.config.trusted_servers.remove(thumbprint=thumb, allow_empty=True)
        )
        wanted = thumb.strip().upper()
        self.model = [s for s in self.model if s.thumbprint.upper() != wanted]

    @rule(address=st.sampled_from(ADDRESSES))
    def remove_by_address(self, address: str) -> None:
        self._apply(
            self.config.trusted_servers.remove(address=address, allow_empty=True)
        )
        self.model = [s for s in self.model if not _same_address(s.address, address)]

    @rule(thumb=st.sampled_from(THUMBS), address=st.sampled_from(ADDRESSES))
    def remove_by_both(self, thumb: str, address: str) -> None:
        self._apply(
            self.config.trusted_servers.remove(
                thumbprint=thumb, address=address, allow_empty=True
            )
        )
        self.model = [
            s
            for s in self.model
            if not (s.thumbprint.upper() == thumb and _same_address(s.address, address))
        ]

    @rule(old=SPELLED_THUMBS, new=SPELLED_THUMBS, staged=st.booleans())
    def rotate(self, old: str, new: str, staged: bool) -> None:  # noqa: FBT001 -- a drawn flag
        self._apply(self.config.trusted_servers.rotate(old, new, staged=staged))
        wanted, target = _normalised(old), _normalised(new)
        if wanted == target:
            return  # nothing to move (this once dropped every entry of old)
        out: list[TrustedServer] = []
        for entry in self.model:
            if _normalised(entry.thumbprint) != wanted:
                out.append(entry)
                continue
            moved = attrs.evolve(entry, thumbprint=target)
            if staged:
                out.append(entry)
            # No entry is created twice: an existing (new, address) entry wins.
            if not any(_matches(s, moved) for s in [*self.model, *out]):
                out.append(moved)
        self.model = out
        self._taint(target)

    @rule(
        addresses=st.lists(
            st.sampled_from(
                [*ADDRESSES, "http://node1.example.com:10943", "http://10.0.0.5"]
            ),
            max_size=3,
        ),
        keep_listening=st.booleans(),
    )
    def keep_only(self, addresses: list[str], keep_listening: bool) -> None:  # noqa: FBT001 -- a drawn flag
        servers = self.config.trusted_servers
        self._apply(
            servers.keep_only(
                addresses, keep_listening=keep_listening, allow_empty=True
            )
        )
        keep = [re.sub(r"(?i)^http://", "https://", a) for a in addresses]
        self.model = [
            s
            for s in self.model
            if (s.address is None and keep_listening)
            or (
                s.address is not None and any(_same_address(s.address, k) for k in keep)
            )
        ]

    @rule()
    def reload(self) -> None:
        """Save-and-reload: the file alone carries the state."""
        data = self.config.dumps()
        self.config = loads(data)
        self.source_text = lxml_view(data).get(fold(TRUSTED_KEY), (None, None))[1]
        self.source_model = list(self.model)

    @rule()
    def set_unchanged(self) -> None:
        """Writing back the list just read changes nothing."""
        before = self.config.dumps()
        self._apply(self.config.trusted_servers)
        assert self.config.dumps() == before

    # -- invariants --------------------------------------------------------------

    @invariant()
    def model_agrees(self) -> None:
        assert self.config.trusted_servers == self.model

    @invariant()
    def lxml_agrees(self) -> None:
        data = self.config.dumps()
        view = lxml_view(data)
        text = view.get(fold(TRUSTED_KEY), ("", ""))[1]
        reread = loads(data)
        assert reread.trusted_servers == self.model
        assert TrustedServers.from_json(text) == self.model
        if self.model == self.source_model and self.source_text is not None:
            assert text == self.source_text  # the parsed entries: the exact text
            return
        if not text.strip():
            assert not self.model
            return
        for entry in json.loads(text, object_pairs_hook=list):
            names = [name for name, _ in entry]
            assert names[:5] == list(KNOWN_FIELDS)
            style = dict(entry)["CommunicationStyle"]
            assert isinstance(style, int)
            assert not isinstance(style, bool)

    @invariant()
    def one_subscription_per_clean_thumbprint(self) -> None:
        for thumb in self.clean:
            subs = {
                s.subscription_id
                for s in self.model
                if s.thumbprint.upper() == thumb and _is_polling(s)
            }
            assert len(subs) <= 1, (thumb, subs)


TrustedServersMachine.TestCase.settings = settings(stateful_step_count=25)
test_trusted_servers_machine = TrustedServersMachine.TestCase


def test_rotating_onto_the_same_thumbprint_keeps_the_entries() -> None:
    """``rotate(old, old)`` is a no-op (it once dropped every entry of old)."""
    servers = TrustedServers().add_polling("A" * 40, "https://node1:10943")
    assert servers.rotate("A" * 40, "a" * 40) == servers


def test_bug7_unchanged_empty_list_writes_nothing() -> None:
    """Writing back the (empty) list of a file without the key changes nothing."""
    config = loads(b"<octopus-settings/>")
    config.trusted_servers = config.trusted_servers.remove(thumbprint="A" * 40)
    assert config.dumps() == b"<octopus-settings/>"
