"""Documentation that cannot drift: settings, CLI commands and README claims are checked."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from civicloop.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(Settings) if f"`{f.name}`" not in text]
    assert missing == []


def test_every_environment_variable_read_is_documented() -> None:
    source = (ROOT / "src" / "civicloop" / "core" / "settings.py").read_text(encoding="utf-8")
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    names = set(re.findall(r'_env\("([A-Z_]+)"', source))
    assert names and {n for n in names if f"CIVICLOOP_{n}" not in text} == set()


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    assert blocks[0].strip().startswith("pip install . && civicloop demo")
    assert blocks[1].strip() == "bash scripts/test.sh"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "scripts/test.sh" in ci


def test_readme_lists_every_cli_command() -> None:
    from typer.main import get_command

    from civicloop.cli import app

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    group = get_command(app)
    names: list[str] = []
    for name, cmd in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(cmd, "commands", None)
        names += [f"{name} {s}" for s in sub] if sub else [name]
    assert [n for n in names if f"civicloop {n}" not in readme] == []


def test_every_documented_demo_user_exists() -> None:
    from civicloop.catalogue.loader import load_catalogue
    from civicloop.demo.generator import generate_district

    cat = load_catalogue()
    plan = generate_district(
        grids=120,
        communities=40,
        bureau_departments=[(d.code, d.name, d.name_en, d.kind) for d in cat.departments.values()],
    )
    usernames = {u.username for u in plan.users}
    usernames.add("enterprise2")  # added by civicloop.enterprise.demo.seed_enterprises in `demo`
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Demo users")[1].split("##")[0]
    documented = set(re.findall(r"`([a-z0-9-]+)`", table)) - {"civicloop-demo-2026"}
    assert documented - usernames - {"handler-cgzf", "handler-lhsr", "handler-power"} == set()
    assert {"handler-cgzf", "handler-lhsr", "handler-power"} <= usernames
