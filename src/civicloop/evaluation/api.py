"""HTTP routes of the evaluation context (routes are added as the context grows)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
