"""Our thumbprints against an independent implementation: Debian's openssl.

``openssl s_server`` presents a certificate on a loopback port; the poll check
must report the same thumbprint as ``openssl x509 -fingerprint -sha1``.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from tentacle_ha.check import CheckStatus
from tentacle_ha.check import PollTarget
from tentacle_ha.check import run_checks_sync
from tentacle_ha.check import thumbprint
from tentacle_ha.testing import generate_certificate

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
STARTUP = 10.0
#: s_server -www answers GET only: a POST /handshake waits until the check gives up.
HANDSHAKE_WAIT = 1.0

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def openssl(*args: str) -> str:
    """Run openssl with fixed arguments and return its stdout."""
    done = subprocess.run(
        [OPENSSL, *args], capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout


def openssl_thumbprint(cert: Path) -> str:
    """``openssl x509 -fingerprint -sha1`` as upper-case hex without colons."""
    line = openssl("x509", "-in", str(cert), "-noout", "-fingerprint", "-sha1")
    name, _, value = line.strip().partition("=")
    assert name.lower() == "sha1 fingerprint"
    return value.replace(":", "").upper()


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def openssl_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed RSA-2048 certificate and key made by openssl itself."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=Octopus Portal", "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    return cert, key


def serve(cert: Path, key: Path) -> Iterator[int]:
    """Run ``openssl s_server`` on a free loopback port until the generator closes."""
    port = free_port()
    argv = [
        OPENSSL, "s_server", "-accept", f"127.0.0.1:{port}",
        "-cert", str(cert), "-key", str(key), "-www", "-quiet",
    ]  # fmt: skip
    server = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "openssl s_server did not start"
                time.sleep(0.05)
        yield port
    finally:
        server.kill()
        server.communicate(timeout=10)


@pytest.fixture
def openssl_server(openssl_cert: tuple[Path, Path]) -> Iterator[int]:
    """``openssl s_server`` presenting the openssl-made certificate."""
    yield from serve(*openssl_cert)


def test_thumbprint_function_matches_openssl(openssl_cert: tuple[Path, Path]) -> None:
    """``thumbprint(der)`` equals openssl's SHA-1 fingerprint of the same file."""
    cert, _key = openssl_cert
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    assert thumbprint(der) == openssl_thumbprint(cert)


def test_generated_certificate_matches_openssl(tmp_path: Path) -> None:
    """Our generated certificate's thumbprint is openssl's, and it is RSA 2048."""
    bundle = generate_certificate()
    cert = tmp_path / "ours.pem"
    cert.write_bytes(bundle.cert_pem)
    assert bundle.thumbprint == openssl_thumbprint(cert)
    text = openssl("x509", "-in", str(cert), "-noout", "-text")
    assert "Public-Key: (2048 bit)" in text
    assert "CN = Octopus Portal" in text
    assert "sha256WithRSAEncryption" in text


def test_presented_thumbprint_matches_openssl(
    openssl_server: int, openssl_cert: tuple[Path, Path]
) -> None:
    """Over TLS from s_server, the presented thumbprint is openssl's fingerprint."""
    expected = openssl_thumbprint(openssl_cert[0])
    address = f"https://127.0.0.1:{openssl_server}"
    # s_server serves one connection at a time: check one after the other.
    (trusted,) = run_checks_sync(
        [PollTarget(address=address, thumbprint=expected.lower())],
        timeout=HANDSHAKE_WAIT,
    ).results
    (other,) = run_checks_sync(
        [PollTarget(address=address, thumbprint="F" * 40)], timeout=HANDSHAKE_WAIT
    ).results
    assert trusted.presented_thumbprint == expected
    assert trusted.status is CheckStatus.TIMEOUT
    assert "POST /handshake" in trusted.reason
    assert other.presented_thumbprint == expected
    assert other.status is CheckStatus.THUMBPRINT_MISMATCH


def test_openssl_serves_our_certificate(tmp_path: Path) -> None:
    """s_server accepts our generated key pair; the check sees the same thumbprint."""
    bundle = generate_certificate()
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_bytes(bundle.cert_pem)
    key.write_bytes(bundle.key_pem)
    for port in serve(cert, key):
        address = f"https://127.0.0.1:{port}"
        target = PollTarget(address=address, thumbprint=bundle.thumbprint)
        (result,) = run_checks_sync([target], timeout=HANDSHAKE_WAIT).results
        assert result.presented_thumbprint == bundle.thumbprint
        assert "POST /handshake" in result.reason
