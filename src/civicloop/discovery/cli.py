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
    from civicloop.discovery.rules_offline import read_rule_files

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
    from civicloop.discovery.rules_offline import read_readings, read_rule_files, run_offline

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


# -- `civicloop discovery …` (ingestion: devices, replay, readings, MQTT, Redis workers) -------
# Imports are inside the commands so `civicloop --help` stays fast.

devices_app = typer.Typer(help="The device registry: import and list.", no_args_is_help=True)
app.add_typer(devices_app, name="devices")


def _ingest_summary(result: object) -> str:
    counts = result.counts()  # type: ignore[attr-defined]
    return ", ".join(f"{k} {v}" for k, v in counts.items())


@devices_app.command("import")
def devices_import(
    file: _Ann[_Path, typer.Argument(help="devices CSV or GeoJSON (Point features)")],
    dry_run: _Ann[bool, typer.Option("--dry-run", help="check only; write nothing")] = False,
    data_dir: _DataDir = None,
) -> None:
    """Register or update devices from a file: all of them, or none when any is invalid."""
    from civicloop.cli_support import fail, open_platform
    from civicloop.core.errors import CivicError
    from civicloop.discovery.devices import read_device_file
    from civicloop.discovery.service import register_devices

    p = open_platform(data_dir)
    try:
        report = register_devices(p, read_device_file(file), request_id="cli", dry_run=dry_run)
    except CivicError as exc:
        fail(exc)
    finally:
        p.close()
    verb = "would be" if dry_run else "were"
    typer.echo(
        f"{report.created} device(s) {verb} created, {report.updated} updated, "
        f"{report.unchanged} unchanged; {report.reprocessed} quarantined reading(s) replayed"
    )


@devices_app.command("list")
def devices_list(
    entity_type: _Ann[str | None, typer.Option("--type")] = None,
    grid: _Ann[str | None, typer.Option(help="grid, community or street code")] = None,
    limit: int = 50,
    data_dir: _DataDir = None,
) -> None:
    """List registered devices."""
    from civicloop.cli_support import open_platform
    from civicloop.discovery.service import list_devices

    p = open_platform(data_dir)
    try:
        devices, total = list_devices(p, entity_type=entity_type, grid_prefix=grid, limit=limit)
    finally:
        p.close()
    for d in devices:
        typer.echo(
            f"{d.device_id:<44} {d.entity_type:<20} {d.grid_code or '-':<16} {d.owner_department or '-'}"
        )
    typer.echo(f"{len(devices)} of {total} device(s)")


@app.command("replay")
def replay(
    file: _Ann[
        _Path, typer.Argument(help=".csv rows, .json notification/array, .jsonl notifications")
    ],
    batch: _Ann[int, typer.Option(help="readings per transaction")] = 1000,
    data_dir: _DataDir = None,
) -> None:
    """Feed recorded readings through the ingestion pipeline (validate, store, rules)."""
    from civicloop.cli_support import open_platform
    from civicloop.discovery.ingest import IngestResult, ingest
    from civicloop.discovery.ngsi import NgsiError, csv_batches, parse_notification

    p = open_platform(data_dir)
    total = IngestResult()
    try:
        text = file.read_text(encoding="utf-8-sig")
        now = p.clock.now()
        if file.suffix.lower() == ".csv":
            batches = list(csv_batches(text, now=now, size=batch))
        elif file.suffix.lower() == ".jsonl":
            batches = [
                parse_notification(line.encode(), now=now)
                for line in text.splitlines()
                if line.strip()
            ]
        else:
            batches = [parse_notification(text.encode(), now=now)]
        for parsed in batches:
            total.add(ingest(p, parsed, request_id="replay"))
    except NgsiError as exc:
        typer.echo(f"{file}: {exc.detail}", err=True)
        raise typer.Exit(2) from exc
    except OSError as exc:
        typer.echo(f"{file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        p.close()
    for e in total.errors[:20]:
        typer.echo(f"  entity #{e.index} {e.entity_id or '-'}: {e.field}: {e.detail}", err=True)
    typer.echo(_ingest_summary(total))


@app.command("compact")
def compact(
    days: _Ann[
        int | None, typer.Option(help="keep raw readings this many days (default: setting)")
    ] = None,
    every: _Ann[float, typer.Option(help="repeat every N seconds (0: once)")] = 0.0,
    data_dir: _DataDir = None,
) -> None:
    """Fold raw readings older than the retention into hourly aggregates."""
    import time

    from civicloop.cli_support import open_platform
    from civicloop.discovery.service import compact_readings

    p = open_platform(data_dir)
    try:
        while True:
            report = compact_readings(p, days=days)
            typer.echo(
                f"{report.compacted} reading(s) before {report.cutoff.isoformat()} folded into "
                f"{report.hours} hourly aggregate(s)"
            )
            if every <= 0:
                break
            time.sleep(every)
    finally:
        p.close()


@app.command("quarantine")
def quarantine(
    reprocess: _Ann[bool, typer.Option("--reprocess", help="replay those now registered")] = False,
    data_dir: _DataDir = None,
) -> None:
    """List pending quarantined readings (unknown devices), or replay them."""
    from collections import Counter

    from civicloop.cli_support import open_platform
    from civicloop.discovery.ingest import list_quarantine, reprocess_quarantine

    p = open_platform(data_dir)
    try:
        if reprocess:
            typer.echo(_ingest_summary(reprocess_quarantine(p, request_id="cli")))
            return
        rows = list_quarantine(p, limit=10_000)
    finally:
        p.close()
    for device_id, n in Counter(r["device_id"] for r in rows).most_common(50):
        typer.echo(f"{device_id:<48} {n}")
    typer.echo(f"{len(rows)} pending reading(s)")


@app.command("mqtt")
def mqtt(
    host: _Ann[str, typer.Option()] = "127.0.0.1",
    port: _Ann[int, typer.Option()] = 1883,
    topic: _Ann[str, typer.Option()] = "civicloop/readings/#",
    username: _Ann[str | None, typer.Option(envvar="CIVICLOOP_MQTT_USERNAME")] = None,
    password: _Ann[str | None, typer.Option(envvar="CIVICLOOP_MQTT_PASSWORD")] = None,
    client_id: _Ann[str, typer.Option()] = "civicloop-discovery",
    data_dir: _DataDir = None,
) -> None:
    """Subscribe to an MQTT broker and ingest what gateways publish (Ctrl-C stops)."""
    from civicloop.cli_support import open_platform
    from civicloop.discovery.mqtt import Subscriber

    p = open_platform(data_dir)
    sub = Subscriber(
        p,
        host=host,
        port=port,
        topic=topic,
        client_id=client_id,
        username=username,
        password=password,
    )
    typer.echo(f"subscribed to {topic} on {host}:{port}", err=True)
    try:
        sub.run()
    except KeyboardInterrupt:
        sub.stop.set()
        sub.flush()
    finally:
        p.close()
    typer.echo(f"{sub.stats.messages} message(s): {_ingest_summary(sub.stats.result)}")


@app.command("worker")
def worker(
    consumer: _Ann[str | None, typer.Option(help="this worker's name in the group")] = None,
    redis_url: _Ann[str | None, typer.Option(envvar="CIVICLOOP_REDIS_URL")] = None,
    count: _Ann[int, typer.Option(help="stream entries per read")] = 50,
    compact_every: _Ann[
        float, typer.Option(help="compaction period in seconds (0: none)")
    ] = 3600.0,
    data_dir: _DataDir = None,
) -> None:
    """A Redis Streams consumer: parse → store → rules, XACK after the commit (Ctrl-C stops)."""
    import os
    import socket

    from civicloop.cli_support import open_platform
    from civicloop.discovery.service import Compactor
    from civicloop.discovery.streams import Worker

    if not redis_url:
        typer.echo("set CIVICLOOP_REDIS_URL or --redis-url", err=True)
        raise typer.Exit(2)
    p = open_platform(data_dir)
    name = consumer or f"{socket.gethostname()}-{os.getpid()}"
    w = Worker(p, name, url=redis_url, count=count)
    compactor = Compactor(p, compact_every) if compact_every > 0 else None
    if compactor:
        compactor.start()
    typer.echo(f"worker {name} reading the stream", err=True)
    try:
        w.run()
    except KeyboardInterrupt:
        w.stop.set()
    finally:
        if compactor:
            compactor.stop()
        p.close()
    assert w.stats.result is not None
    typer.echo(f"{w.stats.messages} message(s): {_ingest_summary(w.stats.result)}")
