"""The ``civicloop`` command line.

Every command takes ``--data-dir`` (or ``CIVICLOOP_DATA_DIR``); the database there is created
and migrated on first use. ``serve`` and ``demo`` take ``--host`` and ``--port``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from civicloop.cli_support import (
    DataDir,
    console,
    fail,
    open_platform,
    progress_bar,
    require_database,
    settings_for,
)
from civicloop.core.errors import CivicError
from civicloop.discovery import cli as discovery_cli
from civicloop.evaluation import cli as evaluation_cli
from civicloop.intake import cli as intake_cli
from civicloop.ledger import cli as ledger_cli
from civicloop.nlp import cli as nlp_cli
from civicloop.registry import cli as registry_cli
from civicloop.registry import resolution_cli
from civicloop.risk import cli as risk_cli
from civicloop.runtime import Platform
from civicloop.supervision import cli as supervision_cli

app = typer.Typer(
    help="civicloop: city operations platform (一网统管).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
catalogue_app = typer.Typer(help="The governance-element catalogue.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for machine clients.", no_args_is_help=True)
app.add_typer(catalogue_app, name="catalogue")
app.add_typer(apikey_app, name="apikey")
for _group, _name, _help in (
    (nlp_cli.app, "nlp", "The text classifier: train, evaluate, predict."),
    (intake_cli.app, "intake", "Free-text intake: the gazetteer, the triage queue."),
    (ledger_cli.app, "ledger", "The tamper-evident ledger: verify, checkpoints, proofs."),
    (discovery_cli.app, "discovery", "Discovery: devices, readings, alerts, emergency mode."),
    (discovery_cli.rules_app, "rules", "Discovery rules: validate and test offline."),
    (registry_cli.app, "registry", "Registries: import, export, entity resolution, profiles."),
    (resolution_cli.app, "links", "Entity resolution: link, review, merge, unmerge."),
    (risk_cli.app, "risk", "Risk and credit: scorecards, scores, inspection draws."),
    (evaluation_cli.app, "kpi", "Efficiency evaluation: KPIs, rollups, reports."),
    (supervision_cli.app, "supervision", "Supervision orders and the status board."),
):
    if _group.registered_commands:  # a context's group appears once it has commands
        app.add_typer(_group, name=_name, help=_help)

Host = Annotated[str, typer.Option("--host", envvar="CIVICLOOP_HOST")]
Port = Annotated[int, typer.Option("--port", envvar="CIVICLOOP_PORT")]


_settings = settings_for
_open = open_platform
_fail = fail
_bar = progress_bar


@app.command()
def init(data_dir: DataDir = None) -> None:
    """Create (or migrate) the database in the data directory."""
    p = _open(data_dir)
    console.print(f"database ready: {p.settings.resolved_database_url.split('@')[-1]}")
    p.close()


def _seed_demo(
    p: Platform, *, seed: int, grids: int, communities: int, boundary: Path | None
) -> bool:
    """Generate and store the demo district unless one exists; True when it was created."""
    from sqlalchemy import func, select

    from civicloop.demo.generator import DEMO_PASSWORD, generate_district, load_boundary
    from civicloop.org import service as org
    from civicloop.org.store import regions

    with p.db.read() as conn:
        if conn.execute(select(func.count()).select_from(regions)).scalar():
            return False
    outline = None
    if boundary is not None:
        try:
            outline = load_boundary(boundary)
        except ValueError as exc:
            console.print(f"[red]error[/red] --boundary: {exc}")
            raise typer.Exit(2) from exc
    bureaus = [(d.code, d.name, d.name_en, d.kind) for d in p.catalogue.departments.values()]
    with console.status(f"generating the demo district ({grids} grids)…"):
        plan = generate_district(
            seed=seed,
            grids=grids,
            communities=communities,
            boundary=outline,
            bureau_departments=bureaus,
        )
    with _bar() as bar:
        task = bar.add_task("storing regions", total=None)
        counts = org.seed_district(
            p,
            plan,
            password=DEMO_PASSWORD,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    console.print(
        f"demo district: {counts['regions']} regions, {counts['departments']} departments, "
        f"{counts['users']} users"
    )
    from civicloop.enterprise.demo import seed_enterprises
    from civicloop.intake.gazetteer import seed_gazetteer

    with console.status("generating the gazetteer (roads, compounds, landmarks)…"):
        places = seed_gazetteer(p, seed=seed)
    firms = seed_enterprises(p, seed=seed)
    console.print(f"demo gazetteer: {places} places; demo enterprises: {firms}")
    return True


def _simulate(p: Platform, *, cases: int, seed: int) -> None:
    from civicloop.cases.sla import sweep as run_sweep
    from civicloop.demo.simulator import simulate

    with _bar() as bar:
        task = bar.add_task("simulating a month of cases", total=cases)
        result = simulate(
            p, count=cases, seed=seed, progress=lambda done, _: bar.update(task, completed=done)
        )
    swept = run_sweep(p)
    where = ", ".join(f"{k} {v}" for k, v in sorted(result.by_status.items()))
    console.print(
        f"demo cases: {result.cases} cases, {result.steps} steps ({where}); "
        f"{swept.overdue_steps} overdue steps flagged"
    )


def _seed_extras(p: Platform, *, seed: int) -> None:
    """Registry, sensors, risk, KPIs and the first checkpoint (see ``demo.extras``)."""
    from civicloop.demo import extras

    with console.status("importing a synthetic registry (rooms, people, legal entities)…"):
        registry = extras.seed_registry(p, seed=seed)
    console.print(f"demo registry: {extras.summary(registry)}")
    with console.status("registering sensors and sending an hour of readings…"):
        sensors = extras.seed_sensors(p, seed=seed)
    console.print(f"demo sensors: {extras.summary(sensors)}")
    with console.status("risk scores, KPI rollups and the first ledger checkpoint…"):
        settled = extras.settle(p)
    console.print(f"demo group-renting alerts: {settled['group_renting_alerts']}")
    console.print(f"demo ledger checkpoint: {settled['checkpoint']} entries signed")


def _print_personas(p: Platform) -> None:
    from sqlalchemy import select

    from civicloop.demo.generator import DEMO_PASSWORD
    from civicloop.org.store import users

    table = Table(title=f"demo users (password: {DEMO_PASSWORD})")
    for col in ("username", "role", "name"):
        table.add_column(col)
    with p.db.read() as conn:
        for row in conn.execute(
            select(users.c.username, users.c.role, users.c.display_name).order_by(
                users.c.role, users.c.username
            )
        ):
            table.add_row(row.username, row.role, row.display_name)
    Console().print(table)
    print(f"demo password: {DEMO_PASSWORD}")


@app.command()
def demo(
    data_dir: DataDir = None,
    host: Host = "127.0.0.1",
    port: Port = 8000,
    seed: Annotated[
        int, typer.Option(help="random seed: the same seed gives the same district")
    ] = 20261127,
    grids: Annotated[int, typer.Option(help="unit grids (40000 for Shanghai's real scale)")] = 4000,
    communities: Annotated[int, typer.Option(help="communities (居村)")] = 1300,
    boundary: Annotated[Path | None, typer.Option(help="GeoJSON outline of the district")] = None,
    cases: Annotated[
        int, typer.Option(help="simulate this many cases over the last 30 days (0: none)")
    ] = 300,
    serve_: Annotated[
        bool, typer.Option("--serve/--no-serve", help="start the server after seeding")
    ] = True,
) -> None:
    """Set up the demo district (if the data directory has none), print its users, and serve."""
    p = _open(data_dir, host=host, port=port)
    created = _seed_demo(p, seed=seed, grids=grids, communities=communities, boundary=boundary)
    if created and cases > 0:
        _simulate(p, cases=cases, seed=seed)
    if created:
        _seed_extras(p, seed=seed)
    _print_personas(p)
    if serve_:
        _serve(p)
    p.close()


@app.command()
def serve(data_dir: DataDir = None, host: Host = "127.0.0.1", port: Port = 8000) -> None:
    """Serve the API (and the SLA sweeper) on host:port."""
    _serve(_open(data_dir, host=host, port=port))


def _serve(p: Platform) -> None:
    import uvicorn

    from civicloop.app import create_app

    console.print(f"civicloop on http://{p.settings.host}:{p.settings.port}  (docs: /docs)")
    uvicorn.run(
        create_app(p, run_sweeper=True),
        host=p.settings.host,
        port=p.settings.port,
        log_level="info",
        access_log=False,
    )


@app.command()
def sweep(data_dir: DataDir = None) -> None:
    """Flag overdue steps, escalate them and raise supervision orders (idempotent)."""
    from civicloop.cases.sla import sweep as run_sweep

    p = _open(data_dir)
    result = run_sweep(p)
    print(
        json.dumps(
            {
                "overdue_steps": result.overdue_steps,
                "escalated_cases": result.escalated_cases,
                "supervision_orders": result.supervision_orders,
            }
        )
    )
    p.close()


@catalogue_app.command("validate")
def catalogue_validate(
    path: Annotated[Path, typer.Argument(help="a catalogue YAML file or directory")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="also check it against this deployment's open cases"),
    ] = None,
) -> None:
    """Check a catalogue; print every problem with its file, path and rule.

    With ``--data-dir`` it also refuses a catalogue that drops an element open cases still use.
    """
    from civicloop.catalogue.loader import load_catalogue, validate_catalogue

    problems = validate_catalogue(path)
    if not problems and data_dir is not None:
        from sqlalchemy import distinct, select

        from civicloop.cases.model import OPEN_STATUSES
        from civicloop.cases.store import cases
        from civicloop.core.db import Database

        settings = _settings(data_dir)
        require_database(settings)
        db = Database(settings)
        with db.read() as conn:
            in_use = set(
                conn.execute(
                    select(distinct(cases.c.element_code)).where(
                        cases.c.status.in_([str(x) for x in OPEN_STATUSES])
                    )
                ).scalars()
            )
        db.dispose()
        kept = set(load_catalogue(path).elements)
        problems = [
            f"{path}: elements: {code} is missing but open cases use it "
            "(rule: keep elements that open cases use)"
            for code in sorted(in_use - kept)
        ]
    if problems:
        for line in problems:
            print(line)
        console.print(f"[red]{len(problems)} problem(s)[/red]")
        raise typer.Exit(1)
    print(f"{path}: catalogue is valid")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option("--name", help="who the key is for")],
    data_dir: DataDir = None,
    department: Annotated[
        str | None, typer.Option(help="department code the client acts for")
    ] = None,
) -> None:
    """Create an API key for a machine client; the key is printed once, on the last line."""
    from civicloop.org.service import create_api_key

    p = _open(data_dir)
    try:
        key = create_api_key(p, name, department_code=department)
    except CivicError as exc:
        _fail(exc)
    console.print(f"API key for {name!r} (shown once; send it as X-API-Key):")
    print(key)
    p.close()


def main() -> None:
    try:
        app()
    except CivicError as exc:  # anything a command did not catch still gets a clean message
        console.print(f"[red]error[/red] {exc.code}: {exc.message}")
        sys.exit(2)


if __name__ == "__main__":
    main()
