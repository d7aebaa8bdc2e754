"""HTTP endpoints of the nlp context (filled in by the nlp work)."""

from fastapi import APIRouter

router = APIRouter()
