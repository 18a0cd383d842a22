"""The testing wing: loopback stand-ins for Octopus Server nodes.

`FakeOctopusNode` and `FakeOctopusCluster` (``_fakes``) for your tests and the
demo, with throwaway certificates (``_certs``) and the loopback server
plumbing (``_loopback``). Nothing here listens beyond 127.0.0.1 / ::1.

May import: `tentacle_ha.check`, `tentacle_ha.errors` and `tentacle_ha._secret`.
"""

from tentacle_ha.testing import _fakes
from tentacle_ha.testing._fakes import CertificateBundle
from tentacle_ha.testing._fakes import CommsMode
from tentacle_ha.testing._fakes import FakeOctopusCluster
from tentacle_ha.testing._fakes import FakeOctopusNode
from tentacle_ha.testing._fakes import NodeMode
from tentacle_ha.testing._fakes import generate_certificate

_LAZY = frozenset({"fake_octopus_cluster", "fake_octopus_node"})

__all__ = [
    "CertificateBundle",
    "CommsMode",
    "FakeOctopusCluster",
    "FakeOctopusNode",
    "NodeMode",
    "fake_octopus_cluster",
    "fake_octopus_node",
    "generate_certificate",
]


def __getattr__(name: str) -> object:
    # The pytest fixtures are made on first use, so importing this wing
    # never imports pytest.
    if name in _LAZY:
        return getattr(_fakes, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
