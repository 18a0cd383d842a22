"""tentacle_ha.check without servers: targets, reports, rendering, HTTP, adapters."""

from __future__ import annotations

import asyncio
import errno
import json
import socket
import ssl
from pathlib import Path
from typing import TYPE_CHECKING
from typing import cast

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tentacle_ha import check
from tentacle_ha._secret import Secret
from tentacle_ha.check import WARNING_STATUSES
from tentacle_ha.check import ApiTarget
from tentacle_ha.check import CheckKind
from tentacle_ha.check import CheckReport
from tentacle_ha.check import CheckResult
from tentacle_ha.check import CheckStatus
from tentacle_ha.check import NodeTarget
from tentacle_ha.check import PollTarget
from tentacle_ha.check import _outcome
from tentacle_ha.check import _probe
from tentacle_ha.check import targets as checks_for
from tentacle_ha.check._proxy import HttpProxy
from tentacle_ha.check._proxy import ProxyRefusedError
from tentacle_ha.check._proxy import WireError
from tentacle_ha.check._proxy import connect_tunnel
from tentacle_ha.check._proxy import format_authority
from tentacle_ha.check._proxy import parse_status
from tentacle_ha.check._proxy import read_head
from tentacle_ha.cluster import load_cluster
from tentacle_ha.config import ProxySettings
from tentacle_ha.config import loads
from tentacle_ha.errors import CheckFailedError
from tentacle_ha.errors import InvalidValueError

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).parent.parent.parent
THUMB = "8E2F430B7A91C5D26F11E83CA0579B44D12E6CF3"
KEY = "API-UNITTESTKEY00000000000000000"

# -- targets -----------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "http://node1:10943",
        "ftp://node1:10943",
        "https://:10943",
        "https://node1:99999",
        "node1:10943",
        "",
    ],
)
def test_poll_target_refuses_bad_addresses(address: str) -> None:
    """Only https:// and wss:// addresses with a host and a valid port are accepted."""
    with pytest.raises(InvalidValueError):
        PollTarget(address=address, thumbprint=THUMB)


def test_poll_target_kinds_and_default_ports() -> None:
    """https is a poll, wss a websocket; both default to port 443 as a URI does."""
    https = PollTarget(address="https://node1.example.com", thumbprint=THUMB)
    wss = PollTarget(address="wss://example.com/OctopusComms", thumbprint=THUMB)
    assert (https.kind, wss.kind) == (CheckKind.POLL, CheckKind.WEBSOCKET)
    assert _probe.split_address(https.address) == ("https", "node1.example.com", 443)
    assert _probe.split_address("WSS://[::1]:8443/x") == ("wss", "::1", 8443)


def test_web_targets_normalise_and_validate(tmp_path: Path) -> None:
    """Web URLs lose a trailing slash; non-http URLs and unreadable CA files raise."""
    target = ApiTarget(server_url="https://octopus.example.com/", api_key=Secret(KEY))
    assert target.server_url == "https://octopus.example.com"
    assert KEY not in repr(target)
    with pytest.raises(InvalidValueError, match="http"):
        NodeTarget(web_url="ftp://node1")
    with pytest.raises(InvalidValueError, match="CA bundle"):
        ApiTarget(server_url="https://x", verify=tmp_path / "missing.pem")
    context = ssl.create_default_context()
    assert NodeTarget(web_url="https://n", verify=context).verify is context


def test_http_proxy_credentials_stay_hidden() -> None:
    """The proxy password shows only in the header sent to the proxy itself."""
    proxy = HttpProxy(host="::1", port=3128, username="u", password=Secret("p@ss"))
    assert proxy.authority == "[::1]:3128"
    assert "p@ss" not in repr(proxy)
    assert proxy.authorization() == "Basic dTpwQHNz"
    assert HttpProxy(host="h", username="u").authorization() == "Basic dTo="
    assert HttpProxy(host="h").authorization() is None
    assert proxy.to_httpx().url == httpx.URL("http://[::1]:3128")


# -- reports -----------------------------------------------------------------


def result(
    status: CheckStatus,
    *,
    target: str = "https://node1:10943",
    name: str | None = None,
    elapsed: float = 0.01,
) -> CheckResult:
    """A poll result with the given status."""
    return CheckResult(
        target=target,
        kind=CheckKind.POLL,
        status=status,
        reason=f"because {status}",
        elapsed=elapsed,
        name=name,
    )


@given(
    statuses=st.lists(st.sampled_from(list(CheckStatus)), max_size=20),
    strict=st.booleans(),
)
def test_report_verdict(statuses: list[CheckStatus], *, strict: bool) -> None:
    """ok means every result is ok, a warning status, or draining when not
    strict; counts add up."""
    report = CheckReport(results=tuple(map(result, statuses)), strict=strict)
    tolerated = {CheckStatus.OK, *WARNING_STATUSES}
    if not strict:
        tolerated.add(CheckStatus.DRAINING)
    assert report.ok is all(s in tolerated for s in statuses)
    assert report.exit_code == (0 if report.ok else 1)
    oks = statuses.count(CheckStatus.OK)
    assert len(report.failures) + len(report.warnings) + oks == len(statuses)
    data = json.loads(json.dumps(report.to_dict()))
    assert sum(data["counts"].values()) == len(statuses)
    assert len(render_lines(report)) == len(statuses) + 2
    if report.ok:
        report.raise_for_failures()
    else:
        with pytest.raises(CheckFailedError, match=f"{len(report.failures)} of"):
            report.raise_for_failures()


def render_lines(report: CheckReport) -> list[str]:
    """The table's lines."""
    return checks_for.render_table(report).splitlines()


def golden_report() -> CheckReport:
    """A fixed report: one ok poll, a 401 registration, a draining node."""
    return CheckReport(
        results=(
            CheckResult(
                target="https://node1.example.com:10943",
                kind=CheckKind.POLL,
                status=CheckStatus.OK,
                reason="Halibut listener, trusted certificate (200)",
                elapsed=0.0123,
                name="node1",
                expected_thumbprint=THUMB,
                presented_thumbprint=THUMB,
                http_status=200,
            ),
            CheckResult(
                target="https://octopus.example.com/api",
                kind=CheckKind.REGISTRATION,
                status=CheckStatus.HTTP_ERROR,
                reason="HTTP 401: API key missing or rejected",
                elapsed=0.5,
                http_status=401,
                proxy="proxy:3128",
            ),
            CheckResult(
                target="https://node2.example.com/api/octopusservernodes/ping",
                kind=CheckKind.NODE_HEALTH,
                status=CheckStatus.DRAINING,
                reason="online, draining (418)",
                elapsed=1.25,
                name="node2",
                http_status=418,
                node={"Name": "node2", "IsInMaintenanceMode": True},
            ),
        ),
        elapsed=1.2504,
    )


GOLDEN_TABLE = """\
TARGET                                                         KIND          RESULT      TIME    REASON
https://node1.example.com:10943 (node1)                        poll          ok          0.012s  Halibut listener, trusted certificate (200)
https://octopus.example.com/api                                registration  http_error  0.500s  HTTP 401: API key missing or rejected
https://node2.example.com/api/octopusservernodes/ping (node2)  node_health   draining    1.250s  online, draining (418)
FAILED: 3 checks, 1 ok, 1 warning, 1 failed in 1.250s
"""  # noqa: E501  (a table is as wide as its rows)


def test_table_golden() -> None:
    """The human table: aligned columns, labels with names, a summary line."""
    assert checks_for.render_table(golden_report()) == GOLDEN_TABLE


def test_json_golden() -> None:
    """The JSON report: verdict, counts sorted by status, results in order."""
    expected = {
        "ok": False,
        "strict": False,
        "elapsed": 1.25,
        "counts": {"draining": 1, "http_error": 1, "ok": 1},
        "results": [
            {
                "target": "https://node1.example.com:10943",
                "name": "node1",
                "kind": "poll",
                "status": "ok",
                "reason": "Halibut listener, trusted certificate (200)",
                "elapsed": 0.012,
                "expected_thumbprint": THUMB,
                "presented_thumbprint": THUMB,
                "http_status": 200,
                "node": None,
                "proxy": None,
            },
            {
                "target": "https://octopus.example.com/api",
                "name": None,
                "kind": "registration",
                "status": "http_error",
                "reason": "HTTP 401: API key missing or rejected",
                "elapsed": 0.5,
                "expected_thumbprint": None,
                "presented_thumbprint": None,
                "http_status": 401,
                "node": None,
                "proxy": "proxy:3128",
            },
            {
                "target": "https://node2.example.com/api/octopusservernodes/ping",
                "name": "node2",
                "kind": "node_health",
                "status": "draining",
                "reason": "online, draining (418)",
                "elapsed": 1.25,
                "expected_thumbprint": None,
                "presented_thumbprint": None,
                "http_status": 418,
                "node": {"Name": "node2", "IsInMaintenanceMode": True},
                "proxy": None,
            },
        ],
    }
    assert (
        checks_for.render_json(golden_report()) == json.dumps(expected, indent=2) + "\n"
    )


def test_strict_table_verdict() -> None:
    """Strict, the draining node is a failure and there are no warnings."""
    report = CheckReport(results=golden_report().results, strict=True, elapsed=1.0)
    assert (
        render_lines(report)[-1]
        == "FAILED: 3 checks, 1 ok, 0 warnings, 2 failed in 1.000s"
    )
    one_ok = CheckReport(results=(result(CheckStatus.OK),), elapsed=0.5)
    assert (
        render_lines(one_ok)[-1] == "OK: 1 check, 1 ok, 0 warnings, 0 failed in 0.500s"
    )


def test_raise_for_failures_names_each_failure() -> None:
    """The error lists each failed target with its name, status and reason."""
    report = CheckReport(
        results=(
            result(CheckStatus.OK),
            result(CheckStatus.REFUSED, target="https://n2:10943", name="Node2"),
        )
    )
    with pytest.raises(CheckFailedError) as caught:
        report.raise_for_failures()
    assert str(caught.value) == (
        "1 of 2 checks failed: https://n2:10943 (Node2): refused (because refused)"
    )


# -- thumbprints -------------------------------------------------------------

hex_digits = st.text("0123456789abcdefABCDEF", min_size=40, max_size=40)


@given(value=hex_digits, data=st.data())
def test_thumbprint_compare_ignores_case_and_separators(
    value: str, data: st.DataObject
) -> None:
    """Any spelling with colons, spaces and mixed case matches the upper-case form."""
    separators = data.draw(
        st.lists(st.sampled_from(["", ":", " "]), min_size=40, max_size=40)
    )
    spelled = "".join(c + s for c, s in zip(value, separators, strict=True))
    probe = _probe.PollProbe(PollTarget(address="https://n:1", thumbprint=spelled))
    probe.presented = value.upper()
    probe._compare_thumbprint()
    probe.presented = value.upper()[:-1] + ("0" if value[-1] != "0" else "1")
    with pytest.raises(_outcome.Stop) as stopped:
        probe._compare_thumbprint()
    assert stopped.value.outcome.status is CheckStatus.THUMBPRINT_MISMATCH


def test_thumbprint_is_upper_case_sha1() -> None:
    """The thumbprint of the empty input is SHA-1's well-known value, upper-cased."""
    assert check.thumbprint(b"") == "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"


# -- secrets -------------------------------------------------------------------

secret_text = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=12)


@given(key=secret_text, password=secret_text)
def test_secrets_stay_out_of_reprs(key: str, password: str) -> None:
    """API keys and proxy passwords never show in target or proxy reprs."""
    proxy = HttpProxy(host="p", username="user", password=Secret(password))
    api = ApiTarget(server_url="https://o", api_key=Secret(key), proxy=proxy)
    poll = PollTarget(address="https://n:1", thumbprint=THUMB, proxy=proxy)
    for text in (repr(api), repr(poll), repr(proxy), str(api)):
        assert key not in text
        assert password not in text


# -- HTTP checks through httpx.MockTransport ---------------------------------


def run_api(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    target: ApiTarget | None = None,
    timeout: float = 2.0,
) -> CheckResult:
    """check_api against a MockTransport."""
    target = target or ApiTarget(server_url="https://octopus.example.com")
    transport = httpx.MockTransport(handler)
    return asyncio.run(check.check_api(target, timeout=timeout, transport=transport))


def run_node(handler: Callable[[httpx.Request], httpx.Response]) -> CheckResult:
    """check_node against a MockTransport."""
    target = NodeTarget(web_url="https://node1.example.com", name="node1")
    transport = httpx.MockTransport(handler)
    return asyncio.run(check.check_node(target, timeout=2.0, transport=transport))


def answer(
    status: int, body: object = None, *, text: str | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    """A handler answering every request with this status and JSON (or text) body."""

    def handler(request: httpx.Request) -> httpx.Response:
        del request
        if text is not None:
            return httpx.Response(status, text=text)
        return httpx.Response(status, json=body)

    return handler


@pytest.mark.parametrize(
    ("status", "body", "expected", "reason"),
    [
        (200, {"Links": {}}, CheckStatus.OK, "Octopus root document"),
        (
            200,
            {"Application": "Octopus Deploy", "Version": "2025.1.0"},
            CheckStatus.OK,
            "Octopus Server 2025.1.0",
        ),
        (
            200,
            {"Application": "Octopus Deploy"},
            CheckStatus.HTTP_ERROR,
            "not an Octopus root document",
        ),
        (200, ["Links"], CheckStatus.HTTP_ERROR, "not an Octopus root document"),
        (401, {}, CheckStatus.HTTP_ERROR, "HTTP 401: API key missing or rejected"),
        (403, {}, CheckStatus.HTTP_ERROR, "HTTP 403: API key not allowed"),
        (503, {}, CheckStatus.HTTP_ERROR, "HTTP 503"),
        (407, {}, CheckStatus.HTTP_ERROR, "HTTP 407"),
    ],
)
def test_registration_statuses(
    status: int, body: object, expected: CheckStatus, reason: str
) -> None:
    """Only a 200 root document is ok; other answers are http_error with a reason."""
    got = run_api(answer(status, body))
    assert (got.status, got.http_status, got.kind) == (
        expected,
        status,
        CheckKind.REGISTRATION,
    )
    assert reason in got.reason
    assert got.target == "https://octopus.example.com/api"


def test_registration_redirect_is_reported() -> None:
    """A redirect is not followed; its target is named in the reason."""

    def handler(request: httpx.Request) -> httpx.Response:
        del request
        return httpx.Response(
            301, headers={"Location": "https://octopus.example.com/api"}
        )

    got = run_api(handler, target=ApiTarget(server_url="http://octopus.example.com"))
    assert (got.status, got.http_status) == (CheckStatus.HTTP_ERROR, 301)
    assert got.reason == "HTTP 301, redirected to https://octopus.example.com/api"


def test_registration_non_json_body() -> None:
    """A 200 HTML page (e.g. a captive portal) is not the root document."""
    got = run_api(answer(200, text="<html>login</html>"))
    assert got.status is CheckStatus.HTTP_ERROR


def test_registration_sends_the_api_key_only_in_its_header() -> None:
    """X-Octopus-ApiKey carries the key; the result does not."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("X-Octopus-ApiKey") != KEY:
            return httpx.Response(401)
        return httpx.Response(200, json={"Links": {}})

    target = ApiTarget(
        server_url="https://user:pw@octopus.example.com", api_key=Secret(KEY)
    )
    got = run_api(handler, target=target)
    assert got.status is CheckStatus.OK
    assert seen[0].url.path == "/api"
    assert got.target == "https://octopus.example.com/api"
    assert KEY not in json.dumps(got.to_dict())
    assert run_api(handler).status is CheckStatus.HTTP_ERROR


def test_proxy_407_is_a_proxy_error() -> None:
    """With a web proxy, 407 means the proxy wants other credentials."""
    proxy = HttpProxy(host="proxy", port=3128)
    target = ApiTarget(server_url="http://octopus.example.com", proxy=proxy)
    got = run_api(answer(407), target=target)
    assert (got.status, got.http_status, got.proxy) == (
        CheckStatus.PROXY_ERROR,
        407,
        "proxy:3128",
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, CheckStatus.OK),
        (418, CheckStatus.DRAINING),
        (503, CheckStatus.DOWN),
        (404, CheckStatus.DOWN),
        (500, CheckStatus.DOWN),
    ],
)
def test_node_ping_statuses(status: int, expected: CheckStatus) -> None:
    """200 online, 418 draining, anything else down; the node JSON is kept."""
    got = run_node(answer(status, {"Name": "node1", "MaxConcurrentTasks": 5}))
    assert (got.status, got.http_status, got.name) == (expected, status, "node1")
    assert got.node == {"Name": "node1", "MaxConcurrentTasks": 5}
    assert got.target == "https://node1.example.com/api/octopusservernodes/ping"


def test_node_ping_body_that_is_not_an_object() -> None:
    """A body that is not a JSON object is not kept."""
    assert run_node(answer(200, [1, 2])).node is None
    assert run_node(answer(200, text="pong")).node is None


def raising(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    """A handler that raises ``exc``."""

    def handler(request: httpx.Request) -> httpx.Response:
        del request
        raise exc

    return handler


def chained(outer: Exception, *inner: BaseException) -> Exception:
    """``outer`` raised from ``inner[0]``, raised from ``inner[1]``, ..."""
    current: BaseException | None = None
    for exc in reversed(inner):
        exc.__cause__ = current
        current = exc
    outer.__cause__ = current
    return outer


@pytest.mark.parametrize(
    ("exc", "proxied", "expected"),
    [
        (
            chained(
                httpx.ConnectError("x"),
                socket.gaierror(-2, "Name or service not known"),
            ),
            False,
            CheckStatus.DNS_ERROR,
        ),
        (
            chained(
                httpx.ConnectError("x"),
                OSError("All connection attempts failed"),
                ConnectionRefusedError(111, "refused"),
            ),
            False,
            CheckStatus.REFUSED,
        ),
        (
            chained(
                httpx.ConnectError("x"), OSError(errno.EHOSTUNREACH, "No route to host")
            ),
            False,
            CheckStatus.UNREACHABLE,
        ),
        (
            chained(
                httpx.ConnectError("x"), TimeoutError(errno.ETIMEDOUT, "timed out")
            ),
            False,
            CheckStatus.TIMEOUT,
        ),
        (httpx.ConnectError("no cause"), False, CheckStatus.UNREACHABLE),
        (
            chained(
                httpx.ConnectError("x"), ssl.SSLCertVerificationError("verify failed")
            ),
            False,
            CheckStatus.TLS_ERROR,
        ),
        (
            chained(
                httpx.ConnectError("x"), ssl.SSLCertVerificationError("verify failed")
            ),
            True,
            CheckStatus.TLS_ERROR,
        ),
        (
            chained(httpx.ConnectError("x"), ConnectionRefusedError(111, "refused")),
            True,
            CheckStatus.PROXY_ERROR,
        ),
        (httpx.ProxyError("407"), True, CheckStatus.PROXY_ERROR),
        (httpx.ConnectTimeout("slow"), False, CheckStatus.TIMEOUT),
        (httpx.ReadTimeout("slow"), False, CheckStatus.TIMEOUT),
        (httpx.RemoteProtocolError("garbage"), False, CheckStatus.HTTP_ERROR),
        (httpx.ReadError("reset"), True, CheckStatus.HTTP_ERROR),
    ],
)
def test_httpx_failures_are_classified(
    exc: Exception, *, proxied: bool, expected: CheckStatus
) -> None:
    """Each httpx failure maps to one class; network failures never raise."""
    proxy = HttpProxy(host="proxy") if proxied else None
    target = ApiTarget(server_url="https://octopus.example.com", proxy=proxy)
    got = run_api(raising(exc), target=target)
    assert got.status is expected
    assert got.http_status is None


def test_slow_http_answer_times_out() -> None:
    """A handler slower than the timeout gives ``timeout`` near the limit."""

    async def slow(request: httpx.Request) -> httpx.Response:
        del request
        await asyncio.sleep(5)
        return httpx.Response(200)  # pragma: no cover  (cancelled first)

    target = ApiTarget(server_url="https://octopus.example.com")
    transport = httpx.MockTransport(slow)
    got = asyncio.run(check.check_api(target, timeout=0.2, transport=transport))
    assert got.status is CheckStatus.TIMEOUT
    assert "GET https://octopus.example.com/api" in got.reason
    assert 0.15 < got.elapsed < 5


# -- run_checks ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timeout": 0}, "timeout must be positive"),
        ({"timeout": float("nan")}, "timeout must be positive"),
        ({"concurrency": 0}, "concurrency must be at least 1"),
    ],
)
def test_run_checks_refuses_bad_settings(
    kwargs: dict[str, float], message: str
) -> None:
    """Out-of-range settings are misuse and raise InvalidValueError."""
    with pytest.raises(InvalidValueError, match=message):
        check.run_checks_sync([], **kwargs)  # type: ignore[arg-type]


def test_run_checks_refuses_other_objects() -> None:
    """Something that is not a target is refused before anything runs."""
    with pytest.raises(InvalidValueError, match="not a check target"):
        check.run_checks_sync(["https://node1:10943"])  # type: ignore[list-item]


def test_connect_errors_other_than_refused_are_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host-unreachable connect error is ``unreachable``, with its errno name."""

    async def unreachable(*args: object, **kwargs: object) -> None:
        del args, kwargs
        raise OSError(errno.EHOSTUNREACH, "No route to host")

    monkeypatch.setattr(asyncio, "open_connection", unreachable)
    target = PollTarget(address="https://127.0.0.1:10943", thumbprint=THUMB)
    (got,) = check.run_checks_sync([target]).results
    assert got.status is CheckStatus.UNREACHABLE
    assert "EHOSTUNREACH" in got.reason


def test_empty_run_is_ok() -> None:
    """No targets: an ok, empty report (the CLI refuses that case itself)."""
    report = check.run_checks_sync([])
    assert (report.ok, report.results) == (True, ())


# -- wire helpers ----------------------------------------------------------------

header_line = st.text(
    st.characters(codec="latin-1", exclude_characters="\r\n"), min_size=1, max_size=60
)


def feed(data: bytes) -> asyncio.StreamReader:
    """A StreamReader holding ``data`` and then EOF (made inside a running loop)."""
    reader = asyncio.StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    return reader


@given(
    lines=st.lists(header_line, max_size=10),
    newline=st.sampled_from(["\r\n", "\n"]),
    rest=st.binary(max_size=20),
)
def test_read_head_round_trip(lines: list[str], newline: str, rest: bytes) -> None:
    """Lines up to the empty line come back exactly; what follows stays unread."""
    data = "".join(line + newline for line in lines) + newline

    async def go() -> tuple[list[str], bytes]:
        reader = feed(data.encode("latin-1") + rest)
        return await read_head(reader), await reader.read()

    assert asyncio.run(go()) == (lines, rest)


def test_read_head_limits_and_eof() -> None:
    """A head without its empty line is EOFError; one too long is WireError."""

    async def go(data: bytes, limit: int = 100) -> list[str]:
        return await read_head(feed(data), limit=limit)

    with pytest.raises(EOFError):
        asyncio.run(go(b"GET / HTTP/1.1\r\n"))
    with pytest.raises(EOFError):
        asyncio.run(go(b""))
    with pytest.raises(WireError, match="longer than 100"):
        asyncio.run(go(b"X: " + b"y" * 200 + b"\r\n\r\n"))
    with pytest.raises(WireError, match="too long"):
        asyncio.run(go(b"y" * 70_000 + b"\r\n\r\n", limit=1_000_000))


@given(code=st.integers(100, 599), minor=st.sampled_from("01"), reason=header_line)
def test_parse_status_reads_status_lines(code: int, minor: str, reason: str) -> None:
    """Any HTTP/1.x status line gives its code, with or without a reason."""
    assert parse_status(f"HTTP/1.{minor} {code} {reason}") == code
    assert parse_status(f"HTTP/1.{minor} {code}") == code


@given(line=header_line)
def test_parse_status_refuses_other_lines(line: str) -> None:
    """Lines that are not HTTP/1.x status lines give None."""
    if not line.startswith(("HTTP/1.0 ", "HTTP/1.1 ")):
        assert parse_status(line) is None


class _Sink:
    """The parts of a StreamWriter connect_tunnel uses."""

    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        return None


@pytest.mark.parametrize(
    ("answer_bytes", "status", "message"),
    [
        (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", 407, "refused CONNECT"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", None, "did not answer with HTTP"),
        (b"HTTP/1.1 200 OK\r\n", None, "stream ended"),
        (b"\r\n", None, "did not answer with HTTP"),
    ],
)
def test_connect_tunnel_failures(
    answer_bytes: bytes, status: int | None, message: str
) -> None:
    """Anything but a 2xx answer to CONNECT is ProxyRefusedError with the status."""
    sink = _Sink()
    proxy = HttpProxy(host="proxy", port=3128, username="u", password=Secret("p"))

    async def go() -> None:
        writer = cast("asyncio.StreamWriter", sink)
        await connect_tunnel(feed(answer_bytes), writer, proxy, "::1", 10943)

    with pytest.raises(ProxyRefusedError, match=message) as caught:
        asyncio.run(go())
    assert caught.value.status == status
    assert sink.data == (
        b"CONNECT [::1]:10943 HTTP/1.1\r\nHost: [::1]:10943\r\n"
        b"Proxy-Authorization: Basic dTpw\r\n\r\n"
    )


def test_format_authority() -> None:
    """IPv6 literals get brackets once; names and IPv4 addresses get none."""
    assert format_authority("::1", 1) == "[::1]:1"
    assert format_authority("[::1]", 1) == "[::1]:1"
    assert format_authority("10.0.0.1", 2) == "10.0.0.1:2"


# -- adapters --------------------------------------------------------------------


def test_proxy_from_settings_follows_tentacle_rules() -> None:
    """Custom host wins; default uses the system proxy for the scheme; off is none."""
    custom = ProxySettings(use_default_proxy=False, host="p", port=3128, username="u")
    proxy = checks_for.proxy_from_settings(custom, password=Secret("pw"), system={})
    assert proxy == HttpProxy(host="p", port=3128, username="u", password=Secret("pw"))
    system = {"https": "http://us%40r:p%3Ass@corp-proxy:8080", "http": "plain:3128"}
    default = ProxySettings(use_default_proxy=True)
    from_system = checks_for.proxy_from_settings(default, scheme="wss", system=system)
    assert from_system == HttpProxy(
        host="corp-proxy", port=8080, username="us@r", password=Secret("p:ss")
    )
    plain = checks_for.proxy_from_settings(default, scheme="http", system=system)
    assert plain == HttpProxy(host="plain", port=3128)
    assert checks_for.proxy_from_settings(default, scheme="https", system={}) is None
    off = ProxySettings(use_default_proxy=False)
    assert checks_for.proxy_from_settings(off, system=system) is None
    for bad in ("http://:8080", "http://host:port"):
        with pytest.raises(InvalidValueError, match="system proxy"):
            checks_for.proxy_from_settings(default, system={"https": bad})


def config_bytes(servers: str, extra: str = "") -> bytes:
    """A small Tentacle.config with the given trusted servers JSON."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<octopus-settings>\n'
        f"{extra}"
        f'  <set key="Tentacle.Communication.TrustedOctopusServers">{servers}</set>\n'
        "</octopus-settings>"
    ).encode()


def entry(style: int, address: str | None) -> str:
    """One trusted-server JSON object."""
    address_json = json.dumps(address)
    return (
        f'{{"Thumbprint":"{THUMB}","CommunicationStyle":{style},'
        f'"Address":{address_json},"Squid":null,"SubscriptionId":null}}'
    )


def test_targets_from_config() -> None:
    """Polling entries with an address become targets, through the polling proxy."""
    servers = (
        "["
        + ",".join(
            [
                entry(2, "https://node1:10943"),
                entry(1, None),
                entry(2, "wss://octopus.example.com/OctopusComms"),
                entry(2, None),
            ]
        )
        + "]"
    )
    proxy_keys = (
        '  <set key="Octopus.Server.Proxy.ProxyHost">proxy.local</set>\n'
        '  <set key="Octopus.Server.Proxy.ProxyPort">3128</set>\n'
        '  <set key="Octopus.Server.Proxy.ProxyUsername">tentacle</set>\n'
        '  <set key="Octopus.Server.Proxy.ProxyPassword">ZW5jcnlwdGVk</set>\n'
    )
    doc = loads(config_bytes(servers, proxy_keys))
    targets = checks_for.targets_from_config(doc, proxy_password=Secret("plain"))
    assert [t.address for t in targets] == [
        "https://node1:10943",
        "wss://octopus.example.com/OctopusComms",
    ]
    expected = HttpProxy(
        host="proxy.local", port=3128, username="tentacle", password=Secret("plain")
    )
    assert {t.proxy for t in targets} == {expected}
    assert {t.thumbprint for t in targets} == {THUMB}
    bare = checks_for.targets_from_config(
        loads(config_bytes(servers)), system_proxies={}
    )
    assert {t.proxy for t in bare} == {None}


def test_targets_from_cluster() -> None:
    """Registration, one ping per node with a web URL, and the polls when asked."""
    cluster = load_cluster(ROOT / "examples" / "cluster-unique-address.toml")
    targets = checks_for.targets_from_cluster(cluster, api_key=Secret(KEY))
    assert isinstance(targets[0], ApiTarget)
    assert targets[0].server_url == cluster.server_url
    assert targets[0].api_key == Secret(KEY)
    nodes = [t for t in targets if isinstance(t, NodeTarget)]
    assert [n.name for n in nodes] == [n.name for n in cluster.nodes]
    assert len(targets) == 1 + len(nodes)
    with_polls = checks_for.targets_from_cluster(cluster, poll=True)
    polls = [t for t in with_polls if isinstance(t, PollTarget)]
    assert [p.address for p in polls] == list(cluster.comms_addresses())
    assert {p.thumbprint for p in polls} == {cluster.thumbprint}


def test_check_command_needs_something_to_check(tmp_path: Path) -> None:
    """A config with no polling entry and no cluster is a CheckFailedError naming it."""
    path = tmp_path / "Tentacle.config"
    path.write_bytes(config_bytes("[" + entry(1, None) + "]"))
    with pytest.raises(CheckFailedError, match="no polling servers") as caught:
        checks_for.check_command(path, environ={})
    assert caught.value.path == str(path)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Links": {}, "Version": "2026.4.1"}, CheckStatus.OK),
        ({"Links": {}, "Version": "2030.1"}, CheckStatus.OK),
        ({"Links": {}, "Version": "2026.3.12"}, CheckStatus.UNSUPPORTED_SERVER),
        ({"Links": {}, "Version": "2025.10.0"}, CheckStatus.UNSUPPORTED_SERVER),
        ({"Links": {}}, CheckStatus.UNSUPPORTED_SERVER),
        ({"Links": {}, "Version": "next"}, CheckStatus.UNSUPPORTED_SERVER),
    ],
)
def test_registration_minimum_version(body: object, expected: CheckStatus) -> None:
    """With min_version the root document's Version must be at least that."""
    target = ApiTarget(
        server_url="https://octopus.example.com",
        min_version=(2026, 4),
        requirement="the load-balancer layout",
    )
    got = run_api(answer(200, body), target=target)
    assert got.status is expected, got.reason
    if expected is CheckStatus.UNSUPPORTED_SERVER:
        assert "2026.4" in got.reason
        assert "the load-balancer layout" in got.reason
    # Negative control: without min_version any root document passes.
    assert run_api(answer(200, body)).ok


def test_api_key_refused_over_plain_http() -> None:
    """An API key for an http:// URL needs insecure_http; https and no key are fine."""
    with pytest.raises(InvalidValueError, match="plain http://") as caught:
        ApiTarget(server_url="http://user:pw@octopus.example.com", api_key=Secret(KEY))
    assert KEY not in str(caught.value)
    assert "pw" not in str(caught.value)
    ApiTarget(server_url="http://octopus.example.com")
    ApiTarget(server_url="https://octopus.example.com", api_key=Secret(KEY))
    allowed = ApiTarget(
        server_url="HTTP://octopus.example.com", api_key=Secret(KEY), insecure_http=True
    )
    assert allowed.insecure_http


def test_api_key_is_not_sent_to_a_redirect_target() -> None:
    """A redirect is not followed, so its target never sees the key."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"Location": "https://elsewhere.test/api"})

    target = ApiTarget(server_url="https://octopus.example.com", api_key=Secret(KEY))
    got = run_api(handler, target=target)
    assert got.status is CheckStatus.HTTP_ERROR
    assert [r.url.host for r in seen] == ["octopus.example.com"]
    assert seen[0].headers["X-Octopus-ApiKey"] == KEY  # the harness sees keys


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "expected"),
    [
        ("*", "anything.example", 443, True),
        ("example.com", "example.com", 443, True),
        ("example.com", "a.b.example.com", 443, True),
        (".example.com", "a.example.com", 443, True),
        (".example.com", "example.com", 443, True),
        ("*.example.com", "a.example.com", 443, True),
        ("example.com", "badexample.com", 443, False),
        ("example.com", "example.com.evil.test", 443, False),
        ("EXAMPLE.com", "Octopus.Example.COM", 443, True),
        ("other.test, example.com", "example.com", 443, True),
        ("other.test example.com", "example.com", 443, True),
        ("example.com:8443", "example.com", 8443, True),
        ("example.com:8443", "example.com", 443, False),
        ("10.1.2.3", "10.1.2.3", 443, True),
        ("10.1.2.3", "10.1.2.30", 443, False),
        ("10.0.0.0/8", "10.200.3.4", 443, True),
        ("10.0.0.0/8", "11.0.0.1", 443, False),
        ("::1", "::1", 443, True),
        ("[::1]", "[::1]", 443, True),
        ("[::1]:8080", "::1", 8080, True),
        ("[::1]:8080", "::1", 443, False),
        ("localhost", "localhost", 80, True),
        ("", "example.com", 443, False),
        (",,", "example.com", 443, False),
        ("http://example.com", "example.com", 443, True),
        ("example.com.", "example.com", 443, True),
        ("1.2.3.4", "example.com", 443, False),
    ],
)
def test_no_proxy_matches_like_curl_and_httpx(
    no_proxy: str, host: str, port: int, *, expected: bool
) -> None:
    """no_proxy: *, suffix match on label boundaries, IPs, CIDR, ports, any case."""
    assert checks_for.no_proxy_matches(no_proxy, host, port) is expected


def test_system_proxies_read_the_environment_like_urllib() -> None:
    """Lower case wins over upper case; NO_PROXY lands under "no"."""
    env = {
        "HTTPS_PROXY": "http://upper:1",
        "https_proxy": "http://lower:2",
        "HTTP_PROXY": "http://only-upper:3",
        "NO_PROXY": "octopus.local",
        "PATH": "/bin",
    }
    assert checks_for.system_proxies(env) == {
        "https": "http://lower:2",
        "http": "http://only-upper:3",
        "no": "octopus.local",
    }
    cgi = {"HTTP_PROXY": "http://injected:1", "REQUEST_METHOD": "GET"}
    assert checks_for.system_proxies(cgi) == {}


def test_proxy_from_settings_honours_no_proxy() -> None:
    """The system proxy is skipped for hosts no_proxy names; a custom host is not."""
    system = {"https": "http://corp:8080", "http": "http://corp:8080"}
    default = ProxySettings(use_default_proxy=True)

    def via(url: str, no: str) -> HttpProxy | None:
        return checks_for.proxy_from_settings(
            default, url=url, system={**system, "no": no}
        )

    assert via("https://octopus.local/api", "octopus.local") is None
    assert via("https://node1:10943", ".local, node1") is None
    assert via("wss://octopus.local/OctopusComms", "*.local") is None
    assert via("http://octopus.local:8080", "octopus.local:8080") is None
    # Negative controls: other hosts, other ports, and a configured proxy.
    corp = HttpProxy(host="corp", port=8080)
    assert via("https://octopus.example.com", "octopus.local") == corp
    assert via("http://octopus.local", "octopus.local:8080") == corp
    custom = ProxySettings(use_default_proxy=False, host="p", port=3128)
    explicit = checks_for.proxy_from_settings(
        custom, url="https://octopus.local", system={**system, "no": "*"}
    )
    assert explicit == HttpProxy(host="p", port=3128)
