"""HTTP endpoints of the enterprise context (filled in by the enterprise work)."""

from fastapi import APIRouter

router = APIRouter()
