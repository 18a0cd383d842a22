"""The fakes' server API: root links, node list, certificate-global, the key (#13)."""

from __future__ import annotations

import httpx
import pytest

from tentacle_ha.errors import FakeServerError
from tentacle_ha.testing import FakeOctopusCluster
from tentacle_ha.testing import FakeOctopusNode
from tentacle_ha.testing import NodeMode

pytestmark = pytest.mark.timeout(60)

KEY = "API-FAKEAPISECRET"
PATHS = (
    "/api",
    "/api/octopusservernodes",
    "/api/configuration/certificates/certificate-global",
)


def test_documents_want_the_key_and_the_ping_does_not() -> None:
    """401 without or with a wrong key; 200 with it, in either header."""
    with FakeOctopusNode(api_key=KEY) as node:
        for path in PATHS:
            url = node.web_url + path
            assert httpx.get(url).status_code == 401
            assert (
                httpx.get(url, headers={"X-Octopus-ApiKey": "nope"}).status_code == 401
            )
            assert httpx.get(url, headers={"X-Octopus-ApiKey": KEY}).status_code == 200
            bearer = {"Authorization": f"Bearer {KEY}"}
            assert httpx.get(url, headers=bearer).status_code == 200
        assert (
            httpx.get(node.web_url + "/api/octopusservernodes/ping").status_code == 200
        )
        links = node.root_document()["Links"]
        assert isinstance(links, dict)
        assert links["OctopusServerNodes"].startswith("/api/octopusservernodes")
        document = httpx.get(node.web_url + PATHS[2], headers={"X-Octopus-ApiKey": KEY})
        assert document.json()["Thumbprint"] == node.thumbprint
        spaces = node.web_url + "/api/spaces"
        assert httpx.get(spaces).status_code == 401
        node.spaces = ["Default", "Ops"]
        listed = httpx.get(spaces, headers={"X-Octopus-ApiKey": KEY}).json()
        assert [(s["Name"], s["IsDefault"]) for s in listed["Items"]] == [
            ("Default", True),
            ("Ops", False),
        ]


def test_cluster_node_list_pages_and_grows() -> None:
    """Every node lists the whole cluster, paged; an added node is listed and runs."""
    with FakeOctopusCluster(3) as fake:
        fake.nodes[2].mode = NodeMode.DOWN
        listed = httpx.get(fake.nodes[1].web_url + "/api/octopusservernodes").json()
        assert [n["Name"] for n in listed["Items"]] == ["Node1", "Node2", "Node3"]
        assert [n["IsOffline"] for n in listed["Items"]] == [False, False, True]
        assert "Page.Next" not in listed["Links"]
        page = httpx.get(fake.server_url + "/api/octopusservernodes?take=2").json()
        assert [n["Name"] for n in page["Items"]] == ["Node1", "Node2"]
        following = httpx.get(fake.server_url + page["Links"]["Page.Next"]).json()
        assert [n["Name"] for n in following["Items"]] == ["Node3"]
        added = fake.add_node("Node4")
        assert (
            httpx.get(added.web_url + "/api/octopusservernodes/ping").status_code == 200
        )
        listed = httpx.get(fake.server_url + "/api/octopusservernodes").json()
        assert listed["TotalResults"] == 4
        assert added.thumbprint == fake.thumbprint
        with pytest.raises(FakeServerError, match="already exists"):
            fake.add_node("Node4")
    # A lone node lists itself.
    with FakeOctopusNode("Solo") as node:
        listed = httpx.get(node.web_url + "/api/octopusservernodes").json()
        assert [n["Name"] for n in listed["Items"]] == ["Solo"]
