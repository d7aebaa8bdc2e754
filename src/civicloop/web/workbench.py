"""HTTP routes: web/workbench (filled in as the part grows)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
