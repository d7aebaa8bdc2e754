"""HTTP routes of the registry context (routes are added as the context grows)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
