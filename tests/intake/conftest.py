"""Intake fixtures: the seeded test district with its demo gazetteer generated."""

from __future__ import annotations

import pytest

from civicloop.intake.gazetteer import seed_gazetteer
from civicloop.runtime import Platform


@pytest.fixture
def gazetteer_platform(platform: Platform) -> Platform:
    seed_gazetteer(platform, seed=11)
    return platform
