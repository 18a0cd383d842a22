"""The ``tentacle-ha`` command line.

Conventions: what a command is asked to produce (a value, a summary, a diff,
commands, JSON) goes to stdout; status lines, warnings and errors go to
stderr, one line each. Exit codes: 0 ok, 1 failure or (with ``--check``)
drift found, 2 usage. No traceback unless ``--debug``.

Every command that writes accepts ``--diff`` (print a unified diff, write
nothing) and ``--check`` (write nothing; exit 1 if the file would change).
A command that changes nothing leaves the file alone.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Final
from typing import TextIO

import attrs

from tentacle_ha import __version__
from tentacle_ha import _interrupt
from tentacle_ha import _lazy
from tentacle_ha import check as _check
from tentacle_ha._secret import Secret
from tentacle_ha.cli._fleet import register as _register_fleet
from tentacle_ha.cli._util import Out as _Out
from tentacle_ha.cli._util import add_backup_option
from tentacle_ha.cli._util import add_expiry_days_option
from tentacle_ha.cli._util import add_machine_key_option
from tentacle_ha.cli._util import add_server_api_options
from tentacle_ha.cli._util import machine_key
from tentacle_ha.cli._util import servers_or_error
from tentacle_ha.cli._util import shown
from tentacle_ha.cluster import Cluster
from tentacle_ha.cluster import TargetOS
from tentacle_ha.cluster import Tentacle
from tentacle_ha.cluster import load_cluster
from tentacle_ha.cluster.layout import desired_servers
from tentacle_ha.cluster.layout import subscription_for
from tentacle_ha.commands import SHELLS
from tentacle_ha.config import TentacleConfig
from tentacle_ha.config import load
from tentacle_ha.config import loads
from tentacle_ha.config import read_certificate
from tentacle_ha.config import restart_required
from tentacle_ha.config import suggest_key
from tentacle_ha.config._keys import check_known_key
from tentacle_ha.config._machinekey import refuse_windows
from tentacle_ha.config._values import KEYS
from tentacle_ha.config._values import fold
from tentacle_ha.config._values import is_secret_key
from tentacle_ha.errors import ClusterError
from tentacle_ha.errors import InvalidValueError
from tentacle_ha.errors import MachineKeyError
from tentacle_ha.errors import NothingMatchedError
from tentacle_ha.errors import TentacleHAError
from tentacle_ha.fleet._certificates import CertificateCheck
from tentacle_ha.fleet._certificates import summary_findings
from tentacle_ha.fleet.edits import guard_servers_setting
from tentacle_ha.fleet.findings import Severity
from tentacle_ha.servers import TRUSTED_SERVERS_KEY
from tentacle_ha.servers import CommunicationStyle
from tentacle_ha.servers import TrustedServers
from tentacle_ha.servers import refuse_orphaning
from tentacle_ha.servers import thumbprint_key

if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Sequence

    from tentacle_ha import report as _report
    from tentacle_ha.check import drift as _drift
    from tentacle_ha.check import targets as _targets
    from tentacle_ha.cli import _show
    from tentacle_ha.commands import lb as _lb
    from tentacle_ha.commands import plan as _plan
else:
    # Only `check` needs the checks (asyncio, httpx, TLS) and only --html the
    # report (Jinja2): loaded on use; `cluster init` reads the server API.
    _report = _lazy.module("tentacle_ha.report")
    _targets = _lazy.module("tentacle_ha.check.targets")
    _show = _lazy.module("tentacle_ha.cli._show")  # show --effective, check
    _drift = _lazy.module("tentacle_ha.check.drift")
    # The plans and the load-balancer rules: their commands only.
    _lb = _lazy.module("tentacle_ha.commands.lb")
    _plan = _lazy.module("tentacle_ha.commands.plan")

__all__ = ["main"]

if TYPE_CHECKING:
    from typing import TypeAlias

    _Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"  # noqa: SLF001 -- argparse has no public name for it


# -- shared pieces -------------------------------------------------------------


def _load(path: str) -> TentacleConfig:
    return load(path)


def _mutate(
    args: argparse.Namespace, io: _Out, edit: Callable[[TentacleConfig], object]
) -> int:
    """Load, edit, then diff, check or save; the shape of every writing command.

    After a write that changes what Tentacle reads at start, one stderr line
    says the service must be restarted, with the command; ``--json`` prints a
    summary object (with ``restart_required``) instead of status lines.
    """
    doc = _load(args.config)
    original = loads(doc.dumps(), path=doc.path)
    edit(doc)
    changed = doc.changed
    restart = changed and restart_required(original, doc)
    summary = _summary(
        doc.path,
        changed=changed,
        changed_keys=list(doc.changed_keys) if changed else [],
        restart_command=_plan.restart_command(doc) if restart else None,
    )
    status = _Out(io.stdout, StringIO()) if args.json else io
    if args.diff and changed:
        _show_diff(args, io, status, (original, doc), summary)
    code = _write_or_report(args, status, doc, summary)
    if args.json:
        io.json(summary)
    return code


def _nothing_to_do(args: argparse.Namespace, io: _Out) -> int:
    """A writing command that found nothing to change before editing: exit 0."""
    if args.json:
        io.json(_summary(args.config))
    return 0


def _summary(
    path: str | None,
    *,
    changed: bool = False,
    changed_keys: list[str] | None = None,
    restart_command: str | None = None,
) -> dict[str, Any]:
    """A writing command's ``--json`` summary before the write: one schema."""
    return {
        "path": path,
        "changed": changed,
        "changed_keys": changed_keys or [],
        "written": False,
        "restart_required": restart_command is not None,
        "restart_command": restart_command,
        "backup_file": None,
        "warnings": [],
    }


def _show_diff(
    args: argparse.Namespace,
    io: _Out,
    status: _Out,
    docs: tuple[TentacleConfig, TentacleConfig],
    summary: dict[str, Any],
) -> None:
    original, doc = docs
    text = doc.diff(reveal=getattr(args, "reveal_secrets", False))
    if args.json:
        summary["diff"] = text
    else:
        io.out(text)
    # The list is parsed only to summarise an edit of it, so `set` of another
    # key never reads (nor trips over) the server list.
    if TRUSTED_SERVERS_KEY.lower() not in (k.lower() for k in doc.changed_keys):
        return
    before, after = _servers_or_none(original), _servers_or_none(doc)
    if before is not None and after is not None:
        for line in after.changes(before):
            status.err(f"{doc.name}: {line}")


def _write_or_report(
    args: argparse.Namespace, status: _Out, doc: TentacleConfig, summary: dict[str, Any]
) -> int:
    changed = summary["changed"]
    if args.check or args.diff:
        if not changed:
            status.err(f"{doc.name}: unchanged")
            return 0
        if args.check:
            status.err(f"{doc.name}: would change {', '.join(doc.changed_keys)}")
            return 1
        return 0
    if not changed:
        status.err(f"{doc.name}: unchanged")
        return 0
    keys = ", ".join(doc.changed_keys)
    doc.save(backup_suffix=args.backup_suffix)
    summary["written"] = True
    summary["warnings"] = list(doc.save_warnings)
    summary["backup_file"] = doc.save_backup
    status.err(f"{doc.name}: updated {keys}")
    for warning in doc.save_warnings:
        status.err(f"{doc.name}: warning: {warning}")
    if summary["restart_required"]:
        status.err(
            f"{doc.name}: restart the Tentacle service to load the change: "
            f"{summary['restart_command']}"
        )
    return 0


def _servers_or_none(doc: TentacleConfig) -> TrustedServers | None:
    try:
        return doc.trusted_servers
    except TentacleHAError:
        return None


def _add_write_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("writing")
    group.add_argument(
        "--diff",
        action="store_true",
        help="print a unified diff of the change and write nothing",
    )
    group.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the file would change",
    )
    add_backup_option(
        group, help_text="keep the previous bytes beside the file (default: .bak)"
    )
    group.add_argument(
        "--json",
        action="store_true",
        help="print a JSON summary (changed, written, restart_required) on stdout",
    )


def _add_allow_empty(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-empty",
        action="store_true",
        help="allow leaving no polling entry (the Tentacle would poll nothing)",
    )


def _style_name(style: CommunicationStyle) -> str:
    if style is CommunicationStyle.TENTACLE_ACTIVE:
        return "polling"
    if style is CommunicationStyle.TENTACLE_PASSIVE:
        return "listening"
    return style.octopus_name


def _servers_table(servers: TrustedServers) -> list[str]:
    rows = [("#", "STYLE", "THUMBPRINT", "ADDRESS", "SUBSCRIPTION")]
    rows.extend(
        (
            str(i),
            _style_name(s.communication_style),
            s.thumbprint,
            s.address or "-",
            s.subscription_id or "-",
        )
        for i, s in enumerate(servers, 1)
    )
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


# -- show / get / set / unset ---------------------------------------------------


def _cmd_show(args: argparse.Namespace, io: _Out) -> int:
    if args.effective or args.env_file:
        return _show_effective(args, io)
    doc = _load(args.config)
    reveal = args.reveal_secrets
    settings = {
        key: shown(key, doc.get(key, reveal=reveal), reveal=reveal) for key in doc
    }
    servers, servers_error = servers_or_error(lambda: doc.trusted_servers)
    certificate = _certificate(args, doc)
    if args.json:
        payload: dict[str, Any] = {
            "path": doc.path,
            "encoding": doc.encoding,
            "bom": doc.has_bom,
            "newline": doc.newline,
            "settings": settings,
            "trusted_servers": servers.to_list() if servers is not None else None,
        }
        if servers_error:
            payload["trusted_servers_error"] = servers_error
        payload.update(certificate.fields)
        io.json(payload)
    else:
        _show_text(doc, settings, servers, io)
        for line in certificate.lines:
            io.out(line)
    errors = [e for e in (servers_error, certificate.error) if e]
    for error in errors:
        io.err(error)
    return 1 if errors or certificate.failing else 0


def _show_text(
    doc: TentacleConfig,
    settings: dict[str, str | None],
    servers: TrustedServers | None,
    io: _Out,
) -> None:
    newline = {"\r\n": "CRLF", "\n": "LF", "\r": "CR", "": "no newlines"}
    bom = " with BOM" if doc.has_bom else ""
    io.out(f"{doc.name}  ({doc.encoding}{bom}, {newline[doc.newline]})")
    width = max((len(k) for k in settings), default=0)
    for key, value in settings.items():
        if key.upper() == TRUSTED_SERVERS_KEY.upper():
            continue
        io.out(f"  {key.ljust(width)}  {'' if value is None else value}")
    if servers is not None:
        io.out(f"Trusted servers ({len(servers)}):")
        for line in _servers_table(servers):
            io.out("  " + line)


def _show_effective(args: argparse.Namespace, io: _Out) -> int:
    if args.machine_key is not None:
        io.err("show: --machine-key and --effective are separate views; run each")
        return 2
    return _show.cmd_show_effective(args, io, _servers_table)


@attrs.frozen
class _CertificateView:
    """What ``show --machine-key`` adds: JSON fields, text lines, or an error.

    *failing*: a finding is an error (expired, thumbprint mismatch): exit 1.
    """

    fields: dict[str, Any] = attrs.Factory(dict)
    lines: list[str] = attrs.Factory(list)
    error: str | None = None
    failing: bool = False


def _certificate(args: argparse.Namespace, doc: TentacleConfig) -> _CertificateView:
    """``show --machine-key``: the decrypted certificate's summary and findings.

    Decrypted in memory only; only the thumbprint, subject and expiry leave.
    The findings are fleet audit's (`summary_findings`), printed as it does.
    """
    if args.machine_key is None:
        return _CertificateView()
    try:
        key = machine_key(args.machine_key)
        windows = _plan.config_os(doc) is TargetOS.WINDOWS
        summary = read_certificate(doc, key, windows=windows)
    except MachineKeyError as exc:
        if exc.path is None:
            exc.path = doc.path
        failed: dict[str, Any] = {
            "certificate": None,
            "certificate_error": str(exc),
            "certificate_findings": [],
        }
        return _CertificateView(failed, error=str(exc))
    if summary is None:
        lines = [f"Tentacle certificate: none (no {KEYS.CERTIFICATE})"]
        none: dict[str, Any] = {
            "certificate": None,
            "certificate_error": None,
            "certificate_findings": [],
        }
        return _CertificateView(none, lines)
    stored = (doc.certificate_thumbprint or "").strip()
    matches = stored.upper() == summary.thumbprint
    shown = {
        **summary.to_dict(),
        "key_source": key.source,
        "matches_thumbprint": matches,
    }
    check = CertificateCheck(key, args.expiry_days)
    findings = summary_findings(doc, summary, check)
    lines = [
        f"Tentacle certificate (machine key from {key.source}):",
        f"  thumbprint  {summary.thumbprint}",
        f"  subject     {summary.subject}",
        f"  expires     {summary.expires}",
    ]
    if not stored:
        lines.append(f"  warning     no {KEYS.CERTIFICATE_THUMBPRINT} in the file")
    lines.extend(str(finding) for finding in findings)
    fields: dict[str, Any] = {
        "certificate": shown,
        "certificate_error": None,
        "certificate_findings": [finding.to_dict() for finding in findings],
    }
    failing = any(f.severity.rank >= Severity.ERROR.rank for f in findings)
    return _CertificateView(fields, lines, failing=failing)


def _cmd_get(args: argparse.Namespace, io: _Out) -> int:
    doc = _load(args.config)
    value = doc[args.key]
    if isinstance(value, Secret):
        if not args.reveal_secrets:
            # Printing *** would let a copy script write the marker back over
            # the real secret: fail instead, and print nothing.
            io.err(
                f"{doc.name}: {args.key} is a secret; nothing printed "
                "(pass --reveal-secrets to print it)"
            )
            return 1
        value = value.reveal()
    io.out("" if value is None else value)
    return 0


def _read_value(args: argparse.Namespace) -> str:
    if args.value == "-":
        return sys.stdin.read().rstrip("\r\n")
    return str(args.value)


def _check_set(doc: TentacleConfig, args: argparse.Namespace, value: str) -> None:
    """The refusals of ``set``: unknown keys, plain text for a secret."""
    if not args.new_key:
        check_known_key(args.key, present=doc)
    guard_servers_setting(doc, args.key, value, allow_empty=args.allow_empty)
    encrypted = args.machine_key is not None
    if is_secret_key(args.key) and value.strip() and not (args.plaintext or encrypted):
        how = _SECRET_SETTERS.get(fold(args.key))
        msg = (
            f"{args.key} is a secret: Tentacle stores it machine-key encrypted "
            "and will not read plain text"
            + (f" (set it with Tentacle {how})" if how else "")
            + "; pass --plaintext to write VALUE as given"
            + (
                ", or --machine-key auto|FILE to encrypt it as Tentacle does"
                if fold(args.key) in _PROXY_PASSWORDS
                else ""
            )
        )
        raise InvalidValueError(msg)


_PROXY_PASSWORDS: Final = frozenset(
    fold(prefix + "ProxyPassword")
    for prefix in (KEYS.WEB_PROXY_PREFIX, KEYS.POLLING_PROXY_PREFIX)
)
"""The secrets ``set --machine-key`` encrypts."""


def _encrypt_for(doc: TentacleConfig, args: argparse.Namespace, value: str) -> str:
    """``set --machine-key``: *value* encrypted as Tentacle does (Linux only).

    An empty value stays empty (Tentacle stores it as null).
    """
    if fold(args.key) not in _PROXY_PASSWORDS:
        msg = (
            "--machine-key encrypts only Octopus.Proxy.ProxyPassword and "
            f"Octopus.Server.Proxy.ProxyPassword, not {args.key}"
        )
        raise InvalidValueError(msg)
    if args.plaintext:
        msg = "--plaintext and --machine-key contradict each other"
        raise InvalidValueError(msg)
    refuse_windows(doc, what=args.key, windows=_plan.config_os(doc) is TargetOS.WINDOWS)
    if not value.strip():
        return value
    return machine_key(args.machine_key).encrypt(value)


_SECRET_SETTERS: Final = {
    fold(KEYS.CERTIFICATE): "import-certificate or new-certificate",
    fold(KEYS.WEB_PROXY_PREFIX + "ProxyPassword"): "proxy --proxyPassword=...",
    fold(KEYS.POLLING_PROXY_PREFIX + "ProxyPassword"): (
        "polling-proxy --proxyPassword=..."
    ),
}
"""The Tentacle command that writes each secret key, encrypted."""


def _cmd_set(args: argparse.Namespace, io: _Out) -> int:
    value = _read_value(args)

    def edit(doc: TentacleConfig) -> None:
        _check_set(doc, args, value)
        stored = value if args.machine_key is None else _encrypt_for(doc, args, value)
        doc.set(args.key, stored)

    return _mutate(args, io, edit)


def _cmd_unset(args: argparse.Namespace, io: _Out) -> int:
    doc = _load(args.config)
    if args.key not in doc:
        hint = suggest_key(args.key, doc)
        mean = f" (did you mean {hint!r}?)" if hint else ""
        io.err(f"{doc.name}: no key {args.key!r}{mean}; nothing to remove")
        return _nothing_to_do(args, io)
    guard_servers_setting(doc, args.key, None, allow_empty=args.allow_empty)
    if args.empty:
        return _mutate(args, io, lambda doc: doc.set(args.key, None))
    return _mutate(args, io, lambda doc: doc.delete(args.key))


# -- servers --------------------------------------------------------------------


def _cmd_servers_list(args: argparse.Namespace, io: _Out) -> int:
    doc = _load(args.config)
    servers = doc.trusted_servers
    if args.json:
        io.json(servers.to_list())
    else:
        for line in _servers_table(servers):
            io.out(line)
    return 0


def _edit_servers(
    change: Callable[[TrustedServers], TrustedServers],
) -> Callable[[TentacleConfig], None]:
    def edit(doc: TentacleConfig) -> None:
        doc.trusted_servers = change(doc.trusted_servers)

    return edit


def _cmd_servers_add(args: argparse.Namespace, io: _Out) -> int:
    style = CommunicationStyle.parse(args.style, aliases=True)
    if style is CommunicationStyle.TENTACLE_PASSIVE:
        if args.address or args.subscription_id:
            msg = "a listening entry has no --address or --subscription-id"
            raise InvalidValueError(msg)
        change = _edit_servers(lambda s: s.add_listening(args.thumbprint))
    else:
        if not args.address:
            msg = "a polling entry needs --address https://host:port"
            raise InvalidValueError(msg)
        change = _edit_servers(
            lambda s: s.add_polling(
                args.thumbprint, args.address, subscription_id=args.subscription_id
            )
        )
    return _mutate(args, io, change)


def _cmd_servers_remove(args: argparse.Namespace, io: _Out) -> int:
    if not args.thumbprint and not args.address:
        msg = "give --thumbprint, --address or both"
        raise InvalidValueError(msg)

    def remove(servers: TrustedServers) -> TrustedServers:
        out = servers.remove(
            thumbprint=args.thumbprint,
            address=args.address,
            allow_empty=args.allow_empty,
        )
        if len(out) == len(servers):
            given = " and ".join(
                f"{name} {value}"
                for name, value in (
                    ("thumbprint", args.thumbprint),
                    ("address", args.address),
                )
                if value
            )
            msg = f"nothing matched: no entry has {given}; nothing removed"
            raise NothingMatchedError(msg)
        return out

    return _mutate(args, io, _edit_servers(remove))


def _cmd_servers_rotate(args: argparse.Namespace, io: _Out) -> int:
    servers = _load(args.config).trusted_servers

    def has(thumbprint: str) -> bool:
        key = thumbprint_key(thumbprint)
        return any(thumbprint_key(s.thumbprint) == key for s in servers)

    if not has(args.old):
        if has(args.new):
            io.err(f"{args.config}: up to date (no entry trusts {args.old} any more)")
            return _nothing_to_do(args, io)
        msg = (
            f"nothing matched: no entry has thumbprint {args.old} "
            f"(nor {args.new}); nothing rotated"
        )
        raise NothingMatchedError(msg)
    return _mutate(
        args,
        io,
        _edit_servers(lambda s: s.rotate(args.old, args.new, staged=args.staged)),
    )


def _cmd_servers_keep(args: argparse.Namespace, io: _Out) -> int:
    return _mutate(
        args,
        io,
        _edit_servers(
            lambda s: s.keep_only(
                args.address,
                keep_listening=not args.drop_listening,
                allow_empty=args.allow_empty,
            )
        ),
    )


def _subscription_ids(servers: TrustedServers) -> list[str]:
    """The distinct SubscriptionIds of the polling entries, in order."""
    return list(
        dict.fromkeys(s.subscription_id for s in servers.polling() if s.subscription_id)
    )


def _cmd_servers_sync(args: argparse.Namespace, io: _Out) -> int:
    cluster = load_cluster(args.cluster)

    def converge(servers: TrustedServers) -> TrustedServers:
        known = subscription_for(cluster.thumbprint, cluster.comms_addresses(), servers)
        if known is None:
            io.err(
                f"{args.config}: warning: no SubscriptionId for this cluster yet; "
                "a new one is written, which the server knows only after the "
                "Tentacle registers (see: tentacle-ha plan --cluster FILE)"
            )
        new = desired_servers(cluster, servers, retire=args.retire_thumbprint or ())
        refuse_orphaning(
            servers, new, what="syncing to the cluster", allow_empty=args.allow_empty
        )
        kept = set(_subscription_ids(new))
        dropped = [sub for sub in _subscription_ids(servers) if sub not in kept]
        if known is not None and dropped:
            io.err(
                f"{args.config}: warning: the entries carry "
                f"{len(dropped) + 1} SubscriptionIds; kept {known} (the one "
                "the cluster's entries use) and dropped "
                f"{', '.join(dropped)}: the server knows only one, so check the "
                "Tentacle's polling endpoint in Octopus before applying"
            )
        return new

    return _mutate(args, io, _edit_servers(converge))


# -- plan / lb / check ----------------------------------------------------------


def _secret_from_env(name: str, *, needed: bool) -> Secret | None:
    value = os.environ.get(name)
    if value:
        return Secret(value)
    if needed:
        msg = f"--reveal-secrets needs the API key in the environment variable {name}"
        raise InvalidValueError(msg)
    return None


def _tentacles_for(
    cluster: Cluster, args: argparse.Namespace, doc: TentacleConfig | None
) -> list[Tentacle]:
    """The Tentacles a plan is for: --tentacle, the config's, or all of them.

    With --config, --os and --instance override what the cluster file says;
    without --os a Tentacle the cluster file does not name takes the OS its
    config's Octopus.Home implies.
    """
    tentacles = list(cluster.tentacles)
    if args.tentacle:
        chosen = [t for t in tentacles if t.name == args.tentacle]
        if not chosen:
            msg = f"no [[tentacles]] entry named {args.tentacle!r}"
            raise ClusterError(msg, path=cluster.path)
        return chosen
    if doc is not None:
        real = os.path.realpath(args.config)
        matched = [
            t
            for t in tentacles
            if t.config_path and os.path.realpath(t.config_path) == real
        ]
        if len(matched) == 1:
            base, implied = matched[0], None
        elif len(tentacles) == 1:
            base, implied = tentacles[0], _plan.home_os(doc)
        else:
            base = Tentacle(instance="Tentacle", os=TargetOS.LINUX)
            implied = _plan.home_os(doc)
        os_name = TargetOS(args.os) if args.os else implied or base.os
        executable = base.executable if os_name is base.os else None
        return [
            attrs.evolve(
                base,
                os=os_name,
                instance=args.instance or base.instance,
                executable=executable,
            )
        ]
    if not tentacles:
        msg = "the cluster file lists no [[tentacles]]; add one, or pass --config"
        raise ClusterError(msg, path=cluster.path)
    return tentacles


def _cmd_plan(args: argparse.Namespace, io: _Out) -> int:
    cluster = load_cluster(args.cluster)
    key = _secret_from_env(args.api_key_env, needed=args.reveal_secrets)
    plans: list[_plan.TentaclePlan] = []
    doc = load(args.config) if args.config else None
    current = None if doc is None else doc.trusted_servers
    tentacles = _tentacles_for(cluster, args, doc)
    if args.shell and not args.json:
        for tentacle in tentacles:
            shells = _plan.SHELLS_FOR[tentacle.os]
            if args.shell not in shells:
                who = tentacle.name or "this Tentacle"
                io.err(
                    f"tentacle-ha plan: --shell {args.shell} does not fit {who}, "
                    f"which runs on {tentacle.os} ({' or '.join(shells)}); "
                    "pick Tentacles with --tentacle"
                )
                return 2
    for tentacle in tentacles:
        if current is None:
            plans.append(
                _plan.plan_registration(
                    cluster, tentacle, api_key=key, offline=args.offline
                )
            )
        else:
            plans.append(
                _plan.plan_migration(
                    cluster,
                    tentacle,
                    current,
                    retire=args.retire_thumbprint or (),
                    api_key=key,
                    offline=args.offline,
                )
            )
    if args.json:
        io.json([p.to_dict(reveal_secrets=args.reveal_secrets) for p in plans])
        return 0
    for index, plan in enumerate(plans):
        if index:
            io.out("")
        if not plan.commands and not plan.notes:
            io.err(f"{args.config}: already converged with the cluster; nothing to run")
            continue
        io.out(plan.render(shell=args.shell, reveal_secrets=args.reveal_secrets))
    return 0


def _cmd_lb(args: argparse.Namespace, io: _Out) -> int:
    code, text = _lb.run_lb_command(
        args.cluster,
        args.format,
        bind_address=args.bind,
        web_port=args.web_port,
        web_only=args.web_only,
        warn=io.err,
    )
    io.out(text)
    return code


def _cmd_check(args: argparse.Namespace, io: _Out) -> int:
    run = _targets.run_check_command(
        args.config,
        cluster=args.cluster,
        timeout=args.timeout,
        concurrency=args.concurrency,
        strict=args.strict,
        api_key_env=args.api_key_env,
        ca_bundle=args.ca_bundle,
        insecure_http=args.insecure_http,
        warn=io.err,
        env_file=args.env_file,
        file_only=args.file_only,
    )
    report = run.report
    render = _targets.render_json if args.json else _targets.render_table
    io.out(render(report))
    restart = _show.restart_finding(args.config)
    if restart is not None:
        io.err(str(restart))
    if args.html:
        command = ["tentacle-ha", "check", args.config]
        command += ["--cluster", args.cluster] if args.cluster else []
        page = _report.check_report(run, command=shlex.join(command))
        io.err(f"HTML report: {_report.write_html(page, args.html)}")
    return report.exit_code


def _cmd_cluster_init(args: argparse.Namespace, io: _Out) -> int:
    io.out(
        _drift.init_command(
            args.server,
            api_key_env=args.api_key_env,
            space=args.space,
            ca_bundle=args.ca_bundle,
            insecure_http=args.insecure_http,
            json_output=args.json,
            timeout=args.timeout,
            warn=io.err,
        ),
    )
    return 0


def _cmd_demo(args: argparse.Namespace, io: _Out) -> int:
    from tentacle_ha.cli._demo import run_demo  # noqa: PLC0415 -- starts servers; load on use

    return run_demo(
        io.stdout,
        main=main,
        keep=Path(args.keep) if args.keep else None,
        html=Path(args.html) if args.html else None,
    )


# -- parser ---------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tentacle-ha",
        description=(
            "Edit, plan and check Octopus Deploy polling Tentacles for High "
            "Availability clusters."
        ),
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback on errors"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_config_commands(sub)
    _add_servers_commands(sub)
    _add_cluster_commands(sub)
    _register_fleet(sub)
    demo = sub.add_parser(
        "demo",
        help="the whole job on loopback: a fake cluster and a fleet of configs",
    )
    demo.add_argument(
        "--keep",
        metavar="DIR",
        help="write the fleet and cluster files here and keep them",
    )
    demo.add_argument(
        "--html",
        metavar="FILE",
        help="where to write the fleet's HTML report (default: report.html in "
        "--keep DIR, else in a new folder in the temporary directory)",
    )
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _add_config_commands(sub: _Subparsers) -> None:
    show = sub.add_parser("show", help="summarise a Tentacle.config")
    show.add_argument("config", metavar="CONFIG")
    show.add_argument("--json", action="store_true", help="JSON on stdout")
    show.add_argument(
        "--reveal-secrets", action="store_true", help="print secret values too"
    )
    add_machine_key_option(
        show,
        help_text="decrypt Tentacle.Certificate in memory and show its "
        "thumbprint, subject and expiry, and report certificate-expired, "
        "certificate-expiring and certificate-thumbprint-mismatch as fleet "
        "audit does; exit 1 on an error (Linux Tentacles only)",
    )
    add_expiry_days_option(show)
    show.add_argument(
        "--effective",
        action="store_true",
        help="each value as Tentacle started here reads it (environment, .env, "
        "file; when OCTOPUS_CONTRIBUTE_ENV_SETTINGS=true) and where it comes "
        "from; restart-pending for this machine's instances",
    )
    show.add_argument(
        "--env-file",
        metavar="FILE",
        help="with --effective: the .env file Tentacle reads",
    )
    show.set_defaults(handler=_cmd_show)

    get = sub.add_parser("get", help="print one setting's value")
    get.add_argument("config", metavar="CONFIG")
    get.add_argument("key", metavar="KEY")
    get.add_argument("--reveal-secrets", action="store_true", help="print a secret")
    get.set_defaults(handler=_cmd_get)

    set_ = sub.add_parser("set", help="set one setting")
    set_.add_argument("config", metavar="CONFIG")
    set_.add_argument("key", metavar="KEY")
    set_.add_argument("value", metavar="VALUE", help="the value, or - to read stdin")
    set_.add_argument(
        "--new-key",
        action="store_true",
        help="allow a key Tentacle does not know (default: refused as a typo)",
    )
    set_.add_argument(
        "--plaintext",
        action="store_true",
        help="write a secret key's VALUE as given (Tentacle expects it encrypted)",
    )
    add_machine_key_option(
        set_,
        help_text="encrypt a proxy password with this Linux machine key, as "
        "Tentacle does",
    )
    _add_allow_empty(set_)
    _add_write_options(set_)
    set_.set_defaults(handler=_cmd_set)

    unset = sub.add_parser("unset", help="remove one setting")
    unset.add_argument("config", metavar="CONFIG")
    unset.add_argument("key", metavar="KEY")
    unset.add_argument(
        "--empty",
        action="store_true",
        help="keep the key as an empty element, as Tentacle does for null",
    )
    _add_allow_empty(unset)
    _add_write_options(unset)
    unset.set_defaults(handler=_cmd_unset)


def _add_servers_commands(sub: _Subparsers) -> None:
    servers = sub.add_parser("servers", help="the TrustedOctopusServers list")
    ssub = servers.add_subparsers(
        dest="servers_command", metavar="ACTION", required=True
    )

    slist = ssub.add_parser("list", help="list trusted servers")
    slist.add_argument("config", metavar="CONFIG")
    slist.add_argument("--json", action="store_true", help="JSON on stdout")
    slist.set_defaults(handler=_cmd_servers_list)

    add = ssub.add_parser(
        "add", help="add or update an entry (a polling node, or a listening trust)"
    )
    add.add_argument("config", metavar="CONFIG")
    add.add_argument(
        "--thumbprint", required=True, help="server certificate thumbprint"
    )
    add.add_argument("--address", help="comms address, e.g. https://node2:10943")
    add.add_argument(
        "--subscription-id",
        help="poll://.../ (default: reuse this thumbprint's, else a new one)",
    )
    add.add_argument(
        "--style",
        default="polling",
        choices=["polling", "listening"],
        help="default: polling",
    )
    _add_write_options(add)
    add.set_defaults(handler=_cmd_servers_add)

    remove = ssub.add_parser(
        "remove", help="remove entries by thumbprint and/or address"
    )
    remove.add_argument("config", metavar="CONFIG")
    remove.add_argument("--thumbprint")
    remove.add_argument("--address")
    _add_allow_empty(remove)
    _add_write_options(remove)
    remove.set_defaults(handler=_cmd_servers_remove)

    rotate = ssub.add_parser("rotate", help="move trust to a new server certificate")
    rotate.add_argument("config", metavar="CONFIG")
    rotate.add_argument("--old", required=True, help="current thumbprint")
    rotate.add_argument("--new", required=True, help="new thumbprint")
    rotate.add_argument(
        "--staged",
        action="store_true",
        help="trust the new thumbprint beside the old one (finish later without)",
    )
    _add_write_options(rotate)
    rotate.set_defaults(handler=_cmd_servers_rotate)

    keep = ssub.add_parser(
        "keep", help="keep only the given polling addresses (clear-trusted-servers)"
    )
    keep.add_argument("config", metavar="CONFIG")
    keep.add_argument(
        "--address", action="append", required=True, help="an address to keep (repeat)"
    )
    keep.add_argument(
        "--drop-listening",
        action="store_true",
        help="remove listening entries too (kept by default)",
    )
    _add_allow_empty(keep)
    _add_write_options(keep)
    keep.set_defaults(handler=_cmd_servers_keep)

    sync = ssub.add_parser(
        "sync", help="converge the list with a cluster description (any layout)"
    )
    sync.add_argument("config", metavar="CONFIG")
    sync.add_argument("--cluster", required=True, help="the cluster TOML file")
    sync.add_argument(
        "--retire-thumbprint",
        action="append",
        metavar="THUMBPRINT",
        help="also drop polling entries of this old certificate (repeat)",
    )
    _add_allow_empty(sync)
    _add_write_options(sync)
    sync.set_defaults(handler=_cmd_servers_sync)


def _add_cluster_commands(sub: _Subparsers) -> None:
    plan = sub.add_parser(
        "plan", help="the Tentacle commands that put Tentacles on every node"
    )
    plan.add_argument("--cluster", required=True, help="the cluster TOML file")
    plan.add_argument(
        "--config",
        help="plan only the steps from this Tentacle.config to the cluster",
    )
    plan.add_argument("--tentacle", help="only the [[tentacles]] entry with this name")
    plan.add_argument(
        "--shell",
        choices=list(SHELLS),
        help="one of the Tentacle's OS: posix (Linux); powershell (the default) "
        "or cmd (Windows). Default: by each Tentacle's OS",
    )
    plan.add_argument(
        "--offline",
        action="store_true",
        help="poll-server --reuse-server-thumbprint instead of API calls",
    )
    plan.add_argument(
        "--retire-thumbprint", action="append", metavar="THUMBPRINT",
        help="with --config: drop this old certificate's entries",
    )  # fmt: skip
    plan.add_argument("--instance", help="with --config: the Tentacle's instance name")
    plan.add_argument(
        "--os",
        choices=[str(o) for o in TargetOS],
        help="with --config: the Tentacle's OS (default: the cluster file's, "
        "else Windows when Octopus.Home is C:\\..., else linux)",
    )
    plan.add_argument("--json", action="store_true", help="argv lists as JSON")
    plan.add_argument(
        "--reveal-secrets",
        action="store_true",
        help="put the API key itself in the commands (default: $OCTOPUS_API_KEY)",
    )
    plan.add_argument(
        "--api-key-env",
        default="OCTOPUS_API_KEY",
        metavar="NAME",
        help="environment variable holding the API key (default OCTOPUS_API_KEY)",
    )
    plan.set_defaults(handler=_cmd_plan)

    lb = sub.add_parser("lb", help="HAProxy or nginx rules for the cluster")
    lb.add_argument("--cluster", required=True, help="the cluster TOML file")
    lb.add_argument("--format", required=True, choices=["haproxy", "nginx"])
    lb.add_argument("--bind", default="", help="address to listen on (default: all)")
    lb.add_argument("--web-port", type=int, help="port of the web frontend")
    lb.add_argument("--web-only", action="store_true", help="only the web/API frontend")
    lb.set_defaults(handler=_cmd_lb)

    check = sub.add_parser(
        "check",
        help="check the registration and polling paths of a Tentacle",
        description=(
            "Check every polling entry of CONFIG (TLS on the comms port, the "
            "presented thumbprint against the trusted one, and a Halibut "
            "answer), through its polling proxy; with --cluster also the REST "
            "API and each node's ping, and a not_trusted row for each node the "
            "cluster's layout says CONFIG must poll and does not. The API key "
            "goes to an http:// server only with --insecure-http. Proxy "
            "passwords are encrypted in "
            "Tentacle.config, so they are read from TENTACLE_POLLING_CUSTOM_PROXY_"
            "PASSWORD (polling proxy) and OCTOPUS_PROXY_PASSWORD (web proxy), "
            "as Tentacle itself reads them. With OCTOPUS_CONTRIBUTE_ENV_SETTINGS="
            "true the environment (then --env-file) overrides the file as "
            "Tentacle's would (TENTACLE_TRUSTED_SERVERS...); --file-only checks "
            "the file alone. Exit 0 when every path is ok "
            "(a draining node is a warning unless --strict)."
        ),
    )
    check.add_argument("config", metavar="CONFIG")
    check.add_argument("--cluster", help="also check the REST API and node pings")
    check.add_argument("--json", action="store_true", help="JSON on stdout")
    check.add_argument(
        "--html", metavar="FILE", help="also write a self-contained HTML report"
    )
    check.add_argument(
        "--timeout", type=float, default=_check.DEFAULT_TIMEOUT,
        help=f"seconds per check (default {_check.DEFAULT_TIMEOUT:g})",
    )  # fmt: skip
    check.add_argument(
        "--concurrency", type=int, default=_check.DEFAULT_CONCURRENCY,
        help=f"checks at once (default {_check.DEFAULT_CONCURRENCY})",
    )  # fmt: skip
    check.add_argument(
        "--strict", action="store_true", help="a draining node is a failure"
    )
    check.add_argument(
        "--api-key-env", default="OCTOPUS_API_KEY", metavar="NAME",
        help="environment variable holding the API key (never printed)",
    )  # fmt: skip
    check.add_argument(
        "--ca-bundle", metavar="FILE",
        help="PEM CA certificates for HTTPS registration and pings (default: "
        "$REQUESTS_CA_BUNDLE, $SSL_CERT_FILE, else the system's)",
    )  # fmt: skip
    check.add_argument(
        "--insecure-http", action="store_true",
        help="send the API key to an http:// server anyway (with a warning)",
    )  # fmt: skip
    check.add_argument(
        "--env-file", metavar="FILE",
        help="the .env file Tentacle reads (counts when "
        "OCTOPUS_CONTRIBUTE_ENV_SETTINGS=true)",
    )  # fmt: skip
    check.add_argument(
        "--file-only", action="store_true",
        help="check the file alone, even when the environment overrides it",
    )  # fmt: skip
    check.set_defaults(handler=_cmd_check)

    cluster = sub.add_parser("cluster", help="cluster files drawn from the server")
    csub = cluster.add_subparsers(
        dest="cluster_command", metavar="ACTION", required=True
    )
    init = csub.add_parser(
        "init",
        help="print a cluster file drawn from the Octopus Server API",
        description=(
            "Read the server's root document (/api), node list and comms "
            "certificate (certificate-global) with the API key from "
            "$OCTOPUS_API_KEY (never from the command line), and print a "
            "cluster TOML: server, thumbprint, one [[nodes]] per node and a "
            "layout suggested from the version (load-balancer on 2026.4+). "
            "What the API cannot tell (comms addresses, the load balancer) is "
            "left as <placeholders> that every command refuses until filled in."
        ),
    )
    init.add_argument("--server", required=True, metavar="URL", help="Octopus URL")
    init.add_argument(
        "--space", help="look this space up on the server; write it into [defaults]"
    )
    init.add_argument("--json", action="store_true", help="the same as JSON")
    add_server_api_options(init)
    init.add_argument(
        "--timeout", type=float, default=_check.DEFAULT_TIMEOUT,
        help=f"seconds per request (default {_check.DEFAULT_TIMEOUT:g})",
    )  # fmt: skip
    init.set_defaults(handler=_cmd_cluster_init)


def _add_debug_everywhere(parser: argparse.ArgumentParser) -> None:
    """``--debug`` after the subcommand too (``tentacle-ha show X --debug``).

    SUPPRESS as the default keeps a subcommand's parser from resetting a
    ``--debug`` given before it.
    """
    for action in parser._actions:  # noqa: SLF001 -- argparse has no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001 -- as above
            for sub in dict.fromkeys(action.choices.values()):
                sub.add_argument(
                    "--debug",
                    action="store_true",
                    default=argparse.SUPPRESS,
                    help="show a traceback on errors",
                )
                _add_debug_everywhere(sub)


_SIGPIPE_EXIT = 141
_INTERRUPTED = 130
"""Exit status on a closed stdout: 128 + SIGPIPE, as git and the shell report it."""


def _harden(stream: TextIO) -> None:
    """Escape what the stream's encoding cannot carry instead of raising."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is None:
        return
    try:
        reconfigure(errors="backslashreplace")
    except (ValueError, OSError):  # closed or detached: nothing to do
        return


def _stdout_gone(stdout: TextIO) -> int:
    """Stdout's reader went away (``| head``): exit quietly, 141.

    Points the file descriptor at /dev/null so that Python's own flush at
    exit does not print "Exception ignored ... BrokenPipeError".
    """
    try:
        fd = stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return _SIGPIPE_EXIT
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)
    return _SIGPIPE_EXIT


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line; return the exit code.

    Output the streams cannot encode is escaped (``\\u....``); a closed
    stdout (``| head``) ends the command quietly with exit status 141.

    .. versionadded:: 0.1.0
    """
    out_stream = stdout or sys.stdout
    err_stream = stderr or sys.stderr
    try:
        _interrupt.resume()  # from here on Ctrl-C is ours to report
        _harden(out_stream)
        _harden(err_stream)
        io = _Out(out_stream, err_stream)
        code = _run(argv, io)
        out_stream.flush()
    except BrokenPipeError:
        return _stdout_gone(out_stream)
    except KeyboardInterrupt:  # before a command's own handling (the parser)
        return _INTERRUPTED
    return code


def _run(argv: Sequence[str] | None, io: _Out) -> int:
    parser = _parser()
    _add_debug_everywhere(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version or a usage error
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2
    handler: Callable[[argparse.Namespace, _Out], int] = args.handler
    try:
        return handler(args, io)
    except BrokenPipeError:
        raise
    except TentacleHAError as exc:
        if args.debug:
            raise
        if exc.path is None and isinstance(getattr(args, "config", None), str):
            exc.path = args.config
        io.err(str(exc))
        return 1
    except OSError as exc:
        if args.debug:
            raise
        where = exc.filename if exc.filename is not None else "tentacle-ha"
        io.err(f"{os.fsdecode(where)}: {exc.strerror or exc}")
        return 1
    except KeyboardInterrupt:
        io.err("interrupted")
        return 130
