"""`civicloop discovery …` commands (the group appears in the CLI once it has commands)."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Discovery: devices, readings, rules, alerts, emergency mode.", no_args_is_help=True
)
rules_app = typer.Typer(help="Discovery rules: validate and test offline.", no_args_is_help=True)


# -- `civicloop rules …` (rules, alerts, permits, emergency mode; discovery/rules.py) ----------
# Imports are inside the commands so `civicloop --help` stays fast.

from pathlib import Path as _Path  # noqa: E402
from typing import Annotated as _Ann  # noqa: E402

from civicloop.cli_support import DataDir as _DataDir  # noqa: E402


@rules_app.command("validate")
def rules_validate(files: _Ann[list[_Path], typer.Argument(help="rule files or folders")]) -> None:
    """Check rule files: every problem names the rule, the field and the rule broken."""
    from civicloop.catalogue.loader import default_catalogue
    from civicloop.discovery.rules import read_rule_files

    found, problems = read_rule_files(files)
    catalogue = default_catalogue()
    for r in found:
        if catalogue.element(r.element) is None:
            problems.append(f"{r.id}.element: unknown element {r.element!r} (rule: in catalogue)")
    for line in problems:
        typer.echo(line)
    typer.echo(f"{len(found)} rule(s), {len(problems)} problem(s)")
    if problems:
        raise typer.Exit(1)


@rules_app.command("test")
def rules_test(
    rule_file: _Ann[_Path, typer.Argument(help="a rule file or folder")],
    readings: _Ann[_Path, typer.Option("--readings", help="JSON / JSON-lines readings")],
    emergency: _Ann[bool, typer.Option(help="as if emergency mode were on")] = False,
) -> None:
    """Run rules offline over recorded readings and print which fire (and clear)."""
    from civicloop.discovery.rules import read_readings, read_rule_files, run_offline

    found, problems = read_rule_files([rule_file])
    for line in problems:
        typer.echo(line, err=True)
    if problems:
        raise typer.Exit(1)
    try:
        batch = read_readings(readings)
    except (OSError, ValueError) as exc:
        typer.echo(f"{readings}: {exc}", err=True)
        raise typer.Exit(1) from exc
    alerts = run_offline(found, batch, is_emergency=emergency)
    for a in alerts:
        typer.echo(
            f"{a.observed_at.isoformat()}  {a.evidence['transition']:<8} {a.rule_id:<32}"
            f" {a.device_id or '-':<24} {a.element_code}  {a.summary}"
        )
    raised = sum(1 for a in alerts if a.evidence["transition"] == "raised")
    typer.echo(
        f"{len(batch)} reading(s), {len(found)} rule(s): {raised} raised, "
        f"{len(alerts) - raised} cleared"
    )


@rules_app.command("tick")
def rules_tick(data_dir: _DataDir = None) -> None:
    """Silence checks (no-signal alerts) and emergency deadline tightening, once."""
    import json

    from civicloop.cli_support import open_platform
    from civicloop.discovery.rules import tick

    p = open_platform(data_dir)
    try:
        typer.echo(json.dumps(tick(p), ensure_ascii=False))
    finally:
        p.close()


@rules_app.command("emergency-on")
def rules_emergency_on(
    level: _Ann[str, typer.Option(help="blue | yellow | orange | red")],
    hazard: _Ann[str, typer.Option(help="typhoon, rainstorm …")],
    scope: _Ann[str, typer.Option(help="district | street | scene")] = "district",
    code: _Ann[str | None, typer.Option(help="the street or scene code")] = None,
    reason: _Ann[str, typer.Option()] = "",
    data_dir: _DataDir = None,
) -> None:
    """Start (or escalate) emergency mode as an operator; dispatches the task packages."""
    from civicloop.cli_support import fail, open_platform
    from civicloop.core.errors import CivicError
    from civicloop.discovery.emergency import enter_emergency
    from civicloop.org.model import SYSTEM_ACTOR

    p = open_platform(data_dir)
    try:
        mode = enter_emergency(
            p,
            SYSTEM_ACTOR,
            scope_kind=scope,
            scope_code=code,
            level=level.lower(),
            hazard=hazard.lower(),
            reason=reason or "operator (CLI)",
            request_id="cli",
        )
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    typer.echo(
        f"emergency mode {mode['id']} {mode['level']} over {mode['scope_kind']} "
        f"{mode['scope_code']}: {len(mode['tasks'])} task case(s) filed"
    )


@rules_app.command("emergency-off")
def rules_emergency_off(
    mode_id: str, reason: _Ann[str, typer.Option()] = "", data_dir: _DataDir = None
) -> None:
    """End an emergency mode (recorded in the ledger)."""
    from civicloop.cli_support import fail, open_platform
    from civicloop.core.errors import CivicError
    from civicloop.discovery.emergency import leave_emergency
    from civicloop.org.model import SYSTEM_ACTOR

    p = open_platform(data_dir)
    try:
        leave_emergency(p, SYSTEM_ACTOR, mode_id, reason=reason or "operator (CLI)")
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    typer.echo(f"emergency mode {mode_id} ended")


@rules_app.command("emergency-status")
def rules_emergency_status(data_dir: _DataDir = None) -> None:
    """List the active emergency modes."""
    from civicloop.cli_support import open_platform
    from civicloop.discovery.emergency import list_modes

    p = open_platform(data_dir)
    try:
        modes = list_modes(p, active_only=True)
    finally:
        p.close()
    for m in modes:
        typer.echo(
            f"{m['id']}  {m['level']:<7} {m['hazard']:<10} {m['scope_kind']} "
            f"{m['scope_code']}  since {m['started_at']}  ({m['source']})"
        )
    typer.echo(f"{len(modes)} active mode(s)")


@rules_app.command("permits-import")
def rules_permits_import(
    file: _Ann[_Path, typer.Argument(help="permits JSON or GeoJSON")], data_dir: _DataDir = None
) -> None:
    """Import muck-truck transport permits (all or nothing)."""
    import json

    from civicloop.cli_support import fail, open_platform
    from civicloop.core.errors import CivicError
    from civicloop.discovery.permits import import_permits
    from civicloop.org.model import SYSTEM_ACTOR

    p = open_platform(data_dir)
    try:
        count = import_permits(p, SYSTEM_ACTOR, json.loads(file.read_text(encoding="utf-8")))
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    typer.echo(f"{count} permit(s) imported")
