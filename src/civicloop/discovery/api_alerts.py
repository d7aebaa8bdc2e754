"""HTTP routes: discovery/api_alerts (filled in as the part grows)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
