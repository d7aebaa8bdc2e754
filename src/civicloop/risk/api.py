"""HTTP routes of the risk context (routes are added as the context grows)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
