"""HTTP routes: registry/api_links (filled in as the part grows)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
