"""HTTP endpoints of the open311 context (filled in by the open311 work)."""

from fastapi import APIRouter

router = APIRouter()
