"""Which changes the running Tentacle sees only after a restart."""

from __future__ import annotations

import pytest

from tentacle_ha.cluster import TargetOS
from tentacle_ha.commands.plan import config_os
from tentacle_ha.commands.plan import guess_instance
from tentacle_ha.commands.plan import restart_command
from tentacle_ha.config import RESTART_KEYS
from tentacle_ha.config import loads
from tentacle_ha.config import needs_restart
from tentacle_ha.config import restart_required

BASE = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
    b'  <set key="Tentacle.Services.PortNumber">10933</set>\n'
    b'  <set key="Tentacle.Services.ListenIP" />\n'
    b"</octopus-settings>"
)
SERVERS = (
    '[{"Thumbprint":"9E4A07A1F5B2C8D3E6F7A8B9C0D1E2F3A4B5C6D7","CommunicationStyle":2,'
    '"Address":"https://n1:10943","Squid":null,"SubscriptionId":"poll://bcdefghjkmnpqrstuvwx/"}]'
)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("Tentacle.Communication.TrustedOctopusServers", SERVERS, True),
        ("tentacle.services.portnumber", "10934", True),
        ("Tentacle.Communication.PollingConnectionCount", "4", True),
        ("Octopus.Server.Proxy.ProxyHost", "proxy", True),
        ("Octopus.Proxy.ProxyPort", "8080", True),
        ("Tentacle.Certificate", "AQAA", True),
        ("Tentacle.Services.IsRegistered", "true", False),
        ("Octopus.Storage.MasterKey", "x", False),
        ("My.Own.Setting", "x", False),
        ("Tentacle.Services.PortNumber", "10933", False),  # the same value
        ("Tentacle.Services.ListenIP", None, False),  # empty stays empty
    ],
)
def test_restart_required(key: str, value: str | None, *, expected: bool) -> None:
    """A key Tentacle reads at start, changed for real, needs a restart."""
    before = loads(BASE)
    after = loads(BASE)
    after.set(key, value)
    assert restart_required(before, after) is expected
    assert restart_required(before, loads(BASE)) is False
    if after.changed:
        assert needs_restart(after.changed_keys) is expected


def test_restart_keys_are_known_keys() -> None:
    """Trusted servers, ports, proxies, polling count are in; unknown keys are not."""
    assert "Tentacle.Communication.TrustedOctopusServers" in RESTART_KEYS
    assert "Octopus.Server.Proxy.ProxyPassword" in RESTART_KEYS
    assert not needs_restart(["Unknown.Key"])


def test_restart_command_per_os_and_instance() -> None:
    """Tentacle's own service --restart, for the config's OS and instance."""
    linux = loads(BASE, path="/etc/octopus/Web01/tentacle-Web01.config")
    assert config_os(linux) is TargetOS.LINUX
    assert restart_command(linux) == (
        "/opt/octopus/tentacle/Tentacle service --restart --instance=Web01"
    )
    windows = loads(BASE.replace(b"\n", b"\r\n"), path="C:\\Octopus\\Tentacle.config")
    assert config_os(windows) is TargetOS.WINDOWS
    assert restart_command(windows) == (
        "& 'C:\\Program Files\\Octopus Deploy\\Tentacle\\Tentacle.exe' service "
        "'--restart' '--instance=Tentacle'"
    )
    odd = loads(BASE, path="/srv/some.config")
    assert guess_instance(odd.path) is None
    assert restart_command(odd, instance="X").endswith("--instance=X")
    assert restart_command(odd) == "/opt/octopus/tentacle/Tentacle service --restart"
