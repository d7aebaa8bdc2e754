"""The operations console: server-rendered pages (Jinja2) over the platform's own APIs."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(include_in_schema=False)
