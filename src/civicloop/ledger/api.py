"""HTTP routes of the ledger's proofs: checkpoints and the public key are public, so anyone can
hold the platform to its signed roots; proofs of entries need a login.

An inclusion proof carries the entry's content only for roles that may read the whole ledger
(auditors, district supervisors, administrators); anyone else gets the entry's hash and path —
the content of a case's entries reaches them through the case timeline they may already read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from civicloop.core.auth import current_actor, platform, require_roles
from civicloop.core.errors import NotFoundError
from civicloop.ledger import checkpoints as cps
from civicloop.ledger.signing import public_key_hex
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform

# Entry sequence numbers are 64-bit integers in storage and checkpoint ids 32-bit (INTEGER on
# PostgreSQL); larger values are refused as bad input (422) instead of overflowing the driver.
MAX_ID = 2**63 - 1
MAX_CHECKPOINT = 2**31 - 1

router = APIRouter(prefix="/api/v1/ledger", tags=["ledger"])
PlatformDep = Annotated[Platform, Depends(platform)]
ActorDep = Annotated[Actor, Depends(current_actor)]
# roles that read every ledger entry's content (they see the whole district anyway)
LEDGER_READERS = frozenset({Role.AUDITOR, Role.DISTRICT_SUPERVISOR, Role.ADMIN})


@router.get("/public-key", summary="The Ed25519 key that signs checkpoints (public)")
def public_key(p: PlatformDep) -> dict[str, Any]:
    key, kid = public_key_hex(p.settings.data_dir)
    return {"algorithm": "Ed25519", "public_key": key, "key_id": kid, "encoding": "raw hex"}


@router.get("/checkpoints", summary="Signed checkpoints, newest first (public)")
def list_checkpoints(
    p: PlatformDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before: Annotated[int | None, Query(ge=1, le=MAX_CHECKPOINT)] = None,
) -> list[dict[str, Any]]:
    return [c.as_dict() for c in cps.list_checkpoints(p.db, limit=limit, before=before)]


@router.post(
    "/checkpoints",
    summary="Take a checkpoint now (auditors and administrators)",
)
def take_checkpoint(
    p: PlatformDep,
    _: Annotated[Actor, Depends(require_roles(Role.ADMIN, Role.AUDITOR))],
) -> dict[str, Any]:
    cp = cps.create_checkpoint(p)
    return cp.as_dict() if cp is not None else {}


@router.get("/checkpoints/latest", summary="The newest signed checkpoint (public)")
def latest_checkpoint(p: PlatformDep) -> dict[str, Any]:
    return cps.read_checkpoint(p.db, None).as_dict()


@router.get("/checkpoints/{checkpoint_id}", summary="One signed checkpoint (public)")
def read_checkpoint(
    checkpoint_id: Annotated[int, Path(ge=1, le=MAX_CHECKPOINT)], p: PlatformDep
) -> dict[str, Any]:
    return cps.read_checkpoint(p.db, checkpoint_id).as_dict()


@router.get(
    "/consistency",
    summary="Consistency proof between two checkpoints (public: hashes only)",
)
def consistency(
    p: PlatformDep,
    first: Annotated[int, Query(ge=1, le=MAX_CHECKPOINT)],
    second: Annotated[int, Query(ge=1, le=MAX_CHECKPOINT)],
) -> dict[str, Any]:
    return cps.prove_consistency(p.db, first, second)


@router.get("/entries/{seq}/proof", summary="Inclusion proof of one entry in a checkpoint")
def inclusion_proof(
    seq: Annotated[int, Path(ge=1, le=MAX_ID)],
    p: PlatformDep,
    actor: ActorDep,
    checkpoint: Annotated[int | None, Query(ge=1, le=MAX_CHECKPOINT)] = None,
) -> dict[str, Any]:
    if seq < 1:
        raise NotFoundError(f"no ledger entry {seq}", code="ledger.not_found")
    return cps.prove_inclusion(p.db, seq, checkpoint, with_entry=actor.role in LEDGER_READERS)
