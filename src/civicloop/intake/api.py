"""HTTP endpoints of the intake context (filled in by the intake work)."""

from fastapi import APIRouter

router = APIRouter()
