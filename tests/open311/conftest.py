"""Open311 fixtures: a machine client's API key and a point inside the seeded district."""

from __future__ import annotations

import pytest

from civicloop.org import service as org
from civicloop.runtime import Platform
from tests.helpers import point_in, user_region


@pytest.fixture
def api_key(platform: Platform) -> str:
    return org.create_api_key(platform, "open311-test-app")


@pytest.fixture
def where(platform: Platform) -> tuple[float, float]:
    """(lon, lat) inside the grid worker's community."""
    return point_in(platform, user_region(platform, "gridworker"))
