"""HTTP routes of the supervision context (and, mounted here, the ledger's proof routes)."""

from __future__ import annotations

from fastapi import APIRouter

from civicloop.ledger import api as ledger_api

router = APIRouter()
# The ledger's checkpoint and proof routes ride on this router, which app.py already mounts.
router.include_router(ledger_api.router)
