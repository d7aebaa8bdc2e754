"""HTTP routes of the supervision context (routes are added as the context grows)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
