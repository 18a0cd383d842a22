"""Private: the audit's look at a Tentacle's own certificate (``--machine-key``).

`certificate_findings` decrypts ``Tentacle.Certificate`` with a
`tentacle_ha.config.MachineKey` in memory (`tentacle_ha.config.read_certificate`)
and reports, as `Finding` s:

``certificate-undecryptable`` (warning): the key does not decrypt it, it is
a Windows (DPAPI) value, or it is not a PFX; nothing else is checked.
``certificate-expired`` (error): its end of validity has passed.
``certificate-expiring`` (warning): fewer than *expiry_days* whole days
are left (30 by default; 0 reports only the expired). Days left count the
way a reader does: any part of a day is a day (10 days less a second is
"in 10 day(s)").
``certificate-thumbprint-mismatch`` (error): its SHA-1 thumbprint is not
``Tentacle.CertificateThumbprint``: the server knows this Tentacle by one
thumbprint while it presents another.

`summary_findings` is the same rule for a certificate already decrypted
(``show --machine-key`` uses it, so both commands report alike). It also
returns the real thumbprint, which the fleet audit's clone check
uses instead of the stored one. Only the summary (thumbprint, subject,
expiry) leaves this module; messages never quote the value or the key.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING
from typing import Final

import attrs

from tentacle_ha.config import KEYS
from tentacle_ha.config import read_certificate
from tentacle_ha.errors import MachineKeyError
from tentacle_ha.fleet.findings import Finding
from tentacle_ha.fleet.findings import Severity

if TYPE_CHECKING:
    from tentacle_ha.config import CertificateSummary
    from tentacle_ha.config import MachineKey
    from tentacle_ha.config import TentacleConfig

__all__ = [
    "DEFAULT_EXPIRY_DAYS",
    "CertificateCheck",
    "certificate_findings",
    "summary_findings",
]

DEFAULT_EXPIRY_DAYS: Final = 30
"""``certificate-expiring`` below this many days left."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.frozen
class CertificateCheck:
    """What to check certificates with; *now* is fixed once, for every file."""

    key: MachineKey
    expiry_days: int = DEFAULT_EXPIRY_DAYS
    now: dt.datetime = attrs.field(factory=_now)


def _finding(
    doc: TentacleConfig, severity: Severity, code: str, message: str, key: str
) -> Finding:
    line, col = doc.position(key) or (None, None)
    return Finding(
        severity=severity,
        code=code,
        path=doc.path,
        message=message,
        line=line,
        col=col,
    )


def _expiry(
    doc: TentacleConfig, cert: CertificateSummary, check: CertificateCheck
) -> Finding | None:
    days = cert.days_left(check.now)
    left = math.ceil(days)  # a part of a day left is a day left
    what = f"the Tentacle certificate {cert.thumbprint} ({cert.subject})"
    renew = "make a new one (new-certificate) and register its thumbprint"
    if days < 0:
        return _finding(
            doc,
            Severity.ERROR,
            "certificate-expired",
            f"{what} expired on {cert.expires}; {renew}",
            KEYS.CERTIFICATE,
        )
    if left < check.expiry_days:
        return _finding(
            doc,
            Severity.WARNING,
            "certificate-expiring",
            f"{what} expires on {cert.expires}, in {left} day(s); {renew}",
            KEYS.CERTIFICATE,
        )
    return None


def certificate_findings(
    doc: TentacleConfig, check: CertificateCheck
) -> tuple[list[Finding], str | None]:
    """The certificate findings of *doc* and its real thumbprint (None if unknown)."""
    try:
        cert = read_certificate(doc, check.key)
    except MachineKeyError as exc:
        undecryptable = _finding(
            doc,
            Severity.WARNING,
            "certificate-undecryptable",
            exc.message,
            KEYS.CERTIFICATE,
        )
        return [undecryptable], None
    if cert is None:
        return [], None
    return summary_findings(doc, cert, check), cert.thumbprint


def summary_findings(
    doc: TentacleConfig, cert: CertificateSummary, check: CertificateCheck
) -> list[Finding]:
    """Expiry and thumbprint findings of *doc*'s decrypted certificate *cert*."""
    findings: list[Finding] = []
    expiry = _expiry(doc, cert, check)
    if expiry is not None:
        findings.append(expiry)
    stored = doc.certificate_thumbprint
    if stored and stored.strip() and stored.strip().upper() != cert.thumbprint:
        findings.append(
            _finding(
                doc,
                Severity.ERROR,
                "certificate-thumbprint-mismatch",
                f"Tentacle.Certificate is {cert.thumbprint}, but "
                f"Tentacle.CertificateThumbprint says {stored.strip()}: the "
                "server knows this Tentacle by one and it presents the other",
                KEYS.CERTIFICATE_THUMBPRINT,
            )
        )
    return findings
