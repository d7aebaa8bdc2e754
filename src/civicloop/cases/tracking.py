"""Public tracking (进度查询): whoever holds a tracking code follows the case to the end.

What is shown is chosen for the public, field by field: the element and its department, the
status and the deadline, a timeline of public milestones (no actor, no request id, no before/
after snapshots), and the department's published replies with phone and ID numbers and names
masked. Reporters of duplicates hold their own codes, which lead to the master case.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from civicloop.cases import store
from civicloop.core.security import mask_text
from civicloop.ledger import service as ledger
from civicloop.org import service as org
from civicloop.runtime import Platform

# Ledger events a member of the public sees, with their Chinese and English labels.
PUBLIC_EVENTS: dict[str, tuple[str, str]] = {
    "case.reported": ("已上报", "reported"),
    "case.reporter_attached": ("他人反映同一问题", "reported again by someone else"),
    "case.accepted": ("已受理", "accepted"),
    "case.checked": ("已现场核实", "checked on site"),
    "case.voided": ("不予立案", "not a case"),
    "case.filed": ("已立案", "filed"),
    "case.dispatched": ("已派遣至责任部门", "dispatched to the department"),
    "case.returned": ("部门退回，重新派遣中", "returned by the department, being re-dispatched"),
    "case.signed": ("部门已签收", "taken on by the department"),
    "case.extension_decided": ("处置时限已调整", "deadline adjusted"),
    "case.feedback_given": ("部门已处置", "handled by the department"),
    "case.verified": ("已现场核查", "result checked on site"),
    "case.reworked": ("返工处置中", "sent back for rework"),
    "case.closed": ("已结案", "closed"),
    "case.followed_up": ("已回访", "reporter asked for satisfaction"),
    "case.not_fixed": ("反映未解决，返工处置中", "reported not fixed, back into rework"),
    "case.reopened": ("重新打开", "reopened"),
    "case.merged": ("已并入另一案件", "merged into another case"),
    "case.escalated": ("已升级督办", "escalated"),
    "case.supervised": ("已督办", "under supervision"),
}
# Notes the public sees: the department's reply (处置反馈) and closure remarks.
PUBLIC_NOTE_KINDS = ("feedback", "close")


def read_by_tracking_code(p: Platform, code: str) -> dict[str, Any] | None:
    """Public progress of a case for whoever holds its tracking code (no personal data)."""
    c = store.cases.c
    with p.db.read() as conn:
        row = conn.execute(select(store.cases).where(c.tracking_code == code)).first()
        if row is None:  # a duplicate's reporter follows the master case with their own code
            r = store.case_reporters.c
            master = select(r.case_id).where(r.tracking_code == code).scalar_subquery()
            row = conn.execute(select(store.cases).where(c.id == master)).first()
        if row is None:
            return None
        n = store.case_notes.c
        lead = org.department_name(conn, row.lead_department) if row.lead_department else None
        notes = conn.execute(
            select(n.kind, n.text, n.at)
            .where(n.case_id == row.id, n.kind.in_(PUBLIC_NOTE_KINDS))
            .order_by(n.id)
        ).all()
    element = p.catalogue.element(row.element_code)
    timeline = [
        {
            "at": e.at,
            "event": e.action,
            "label": PUBLIC_EVENTS[e.action][0],
            "label_en": PUBLIC_EVENTS[e.action][1],
        }
        for e in ledger.timeline(p.db, "case", row.id)
        if e.action in PUBLIC_EVENTS
    ]
    return {
        "number": row.number,
        "title": mask_text(row.title) or "",
        "status": row.status,
        "element_code": row.element_code,
        "element_name": element.name if element else row.element_code,
        "department": lead,
        "is_overdue": bool(row.is_overdue),
        "reported_at": row.reported_at,
        "closed_at": row.closed_at,
        "handle_due_at": row.handle_due_at,
        "satisfaction": row.satisfaction,
        "timeline": timeline,
        "replies": [
            {"at": note.at, "kind": note.kind, "text": mask_text(note.text) or ""}
            for note in notes
            if (note.text or "").strip()
        ],
    }
