"""Registry fixtures: the seeded district with its gazetteer and a small generated registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from civicloop.runtime import Platform

SIZES = {"people": 600, "entities": 120, "rooms": 300}


@pytest.fixture
def gazetteer(platform: Platform) -> Platform:
    from civicloop.intake.gazetteer import seed_gazetteer

    seed_gazetteer(platform, seed=7)
    return platform


@pytest.fixture
def dataset(gazetteer: Platform, tmp_path: Path) -> Path:
    """rooms.csv, people.csv, entities.csv (clean) in a folder."""
    from civicloop.registry.generate import write_dataset

    out = tmp_path / "registry"
    write_dataset(gazetteer, out, **SIZES, seed=3)
    return out


@pytest.fixture
def loaded(gazetteer: Platform, dataset: Path) -> Iterator[Platform]:
    """The platform with the generated registry imported."""
    from civicloop.registry.importer import import_file

    for name in ("rooms", "people", "entities"):
        import_file(gazetteer, name, dataset / f"{name}.csv")
    yield gazetteer
