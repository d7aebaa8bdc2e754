"""Enterprise use cases: register (bind a user to a credit code), file and follow demands.

A demand is a case: ``file_demand`` maps the category to its catalogue element and calls
``cases.service.report_case`` with channel ``enterprise``, so routing, deadlines, tracking,
the ledger and satisfaction follow-up are the loop's own. The enterprise's registered grid and
address are the default place of its demands.

Who sees what: an enterprise user sees the demands of *its* enterprise (filed by any user bound
to the same credit code) and nothing else — another enterprise's demand answers "not found".
Rating uses the loop's follow-up verb (``POST /api/v1/cases/{id}/follow-up``), open to the
enterprise user who filed the demand.

Errors: ``InputError`` (bad credit code naming the GB 32100 rule, unknown category, place
outside the district), ``ForbiddenError`` (not an enterprise user, or not registered yet),
``ConflictError`` (the user already acts for another enterprise), ``NotFoundError``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, select

from civicloop.cases import service as cases
from civicloop.cases import store as case_store
from civicloop.cases.model import Channel, Status
from civicloop.core.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from civicloop.core.idcodes import check_credit_code
from civicloop.enterprise import store
from civicloop.enterprise.model import CATEGORIES, CATEGORY_OF_ELEMENT, DemandCategory
from civicloop.ledger.service import Action, record
from civicloop.org import store as org_store
from civicloop.org.model import Actor, Role
from civicloop.runtime import Platform


@dataclass(frozen=True)
class Registration:
    credit_code: str
    name: str | None = None
    legal_representative: str | None = None
    industry: str | None = None
    address: str | None = None
    lon: float | None = None
    lat: float | None = None
    grid_code: str | None = None


@dataclass(frozen=True)
class DemandDraft:
    category: str
    text: str
    title: str = ""
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


def _require_enterprise_role(actor: Actor) -> None:
    if actor.role is not Role.ENTERPRISE:
        raise ForbiddenError(
            "仅企业用户可用 / only enterprise users can do this",
            code="enterprise.role_required",
            role=str(actor.role),
        )


def valid_credit_code(raw: str, *, field: str = "credit_code") -> str:
    """The normalised code, or InputError naming the field and the GB 32100 rule that failed."""
    got = check_credit_code(raw)
    if not got.ok:
        raise InputError(got.message, field=field, rule=got.rule or "GB32100")
    return got.value


def _grid_for(p: Platform, reg: Registration) -> str | None:
    if reg.lon is not None or reg.lat is not None:
        if reg.lon is None or reg.lat is None:
            raise InputError(
                "give both lon and lat",
                field="lon" if reg.lon is None else "lat",
                rule="required_together",
            )
        code = p.grids.locate(reg.lon, reg.lat)
        if code is None:
            raise InputError(
                "企业地址不在本区网格内 / the location is outside the district's grids",
                field="lon",
                rule="inside_district",
            )
        return code
    if reg.grid_code:
        if p.grid_path(reg.grid_code) is None:
            raise InputError(f"unknown grid {reg.grid_code!r}", field="grid_code", rule="exists")
        return reg.grid_code
    return None


def _view(row: Any) -> dict[str, Any]:
    return dict(row._mapping) if row is not None else {}


def enterprise_of(conn: Connection, user_id: str) -> dict[str, Any] | None:
    """The enterprise a user acts for, or None."""
    e, eu = store.enterprises, store.enterprise_users
    row = conn.execute(
        select(e).join(eu, eu.c.credit_code == e.c.credit_code).where(eu.c.user_id == user_id)
    ).first()
    return _view(row) if row is not None else None


def register_enterprise(
    p: Platform, actor: Actor, reg: Registration, *, request_id: str = "-"
) -> dict[str, Any]:
    """Bind the calling enterprise user to a credit code, creating the enterprise if new.

    Idempotent for the same code; ConflictError when the user already acts for another one.
    A new enterprise needs its name; its place (lon/lat or grid_code) becomes the default
    place of its demands.
    """
    _require_enterprise_role(actor)
    code = valid_credit_code(reg.credit_code)
    grid_code = _grid_for(p, reg)
    now = p.clock.now()
    with p.db.write() as conn:
        bound = enterprise_of(conn, actor.id)
        if bound is not None:
            if bound["credit_code"] != code:
                raise ConflictError(
                    "该账号已绑定其他企业 / this user already acts for another enterprise",
                    code="enterprise.already_bound",
                    credit_code=bound["credit_code"],
                )
            return bound
        e = store.enterprises
        existing = conn.execute(select(e).where(e.c.credit_code == code)).first()
        actions: list[Action] = []
        if existing is None:
            name = (reg.name or "").strip()
            if not name:
                raise InputError(
                    "新登记企业需要名称 / a new enterprise needs its name",
                    field="name",
                    rule="required",
                )
            row = {
                "credit_code": code,
                "name": name[:200],
                "legal_representative": (reg.legal_representative or "").strip()[:64] or None,
                "industry": (reg.industry or "").strip()[:64] or None,
                "address": (reg.address or "").strip()[:300] or None,
                "grid_code": grid_code,
                "created_at": now,
            }
            conn.execute(e.insert().values(**row))
            actions.append(Action("enterprise.registered", "enterprise", code, after=row))
        conn.execute(
            store.enterprise_users.insert().values(user_id=actor.id, credit_code=code, bound_at=now)
        )
        actions.append(
            Action("enterprise.user_bound", "enterprise", code, after={"user_id": actor.id})
        )
        record(conn, actor, actions, at=now, request_id=request_id)
        got = enterprise_of(conn, actor.id)
    assert got is not None
    return got


def _own_enterprise(conn: Connection, actor: Actor) -> dict[str, Any]:
    _require_enterprise_role(actor)
    got = enterprise_of(conn, actor.id)
    if got is None:
        raise ForbiddenError(
            "请先登记企业（统一社会信用代码） / register your enterprise first",
            code="enterprise.not_registered",
        )
    return got


def read_own_enterprise(p: Platform, actor: Actor) -> dict[str, Any]:
    """The enterprise the calling user acts for (ForbiddenError when not registered)."""
    with p.db.read() as conn:
        return _own_enterprise(conn, actor)


def file_demand(
    p: Platform, actor: Actor, draft: DemandDraft, *, request_id: str = "-"
) -> dict[str, Any]:
    """File a demand as a case of the category's element (channel ``enterprise``).

    Raises InputError for an unknown category or empty text (before anything is written),
    and whatever ``report_case`` raises for the place.
    """
    try:
        category = DemandCategory(draft.category)
    except ValueError:
        raise InputError(
            f"unknown category {draft.category!r}",
            field="category",
            rule=f"one of {', '.join(c.value for c in DemandCategory)}",
        ) from None
    spec = CATEGORIES[category]
    element = p.catalogue.element(spec.element_code)
    if element is None:
        raise InputError(
            f"the active catalogue has no element {spec.element_code} for {category}",
            field="category",
            rule="mapped element exists",
        )
    if not draft.text.strip():
        raise InputError("诉求内容不能为空 / text must not be empty", field="text", rule="required")
    with p.db.read() as conn:
        ent = _own_enterprise(conn, actor)
    has_point = draft.lon is not None or draft.lat is not None
    case = cases.report_case(
        p,
        actor,
        cases.CaseDraft(
            element_code=element.code,
            description=draft.text,
            channel=Channel.ENTERPRISE,
            title=(draft.title or f"{ent['name']}：{spec.name}").strip()[:200],
            lon=draft.lon,
            lat=draft.lat,
            grid_code=None if has_point else ent["grid_code"],
            address=(draft.address or (None if has_point else ent["address"])),
            reporter_name=draft.contact_name or actor.name,
            reporter_phone=draft.contact_phone,
        ),
        request_id=request_id,
    )
    return read_demand(p, actor, str(case["id"]))


def _demand_query(credit_code: str) -> Any:
    c, eu, d = case_store.cases.c, store.enterprise_users, org_store.departments
    return (
        select(
            c.id,
            c.number,
            c.tracking_code,
            c.element_code,
            c.title,
            c.description,
            c.status,
            c.lead_department,
            d.c.name.label("lead_department_name"),
            c.handle_due_at,
            c.is_overdue,
            c.satisfaction,
            c.address,
            c.grid_code,
            c.reported_at,
            c.closed_at,
            c.version,
            c.reporter_id,
        )
        .select_from(
            case_store.cases.join(eu, eu.c.user_id == c.reporter_id).outerjoin(
                d, d.c.code == c.lead_department
            )
        )
        .where(and_(eu.c.credit_code == credit_code, c.channel == str(Channel.ENTERPRISE)))
    )


def _present(p: Platform, row: dict[str, Any], due: dict[str, Any]) -> dict[str, Any]:
    category = CATEGORY_OF_ELEMENT.get(row["element_code"])
    element = p.catalogue.element(row["element_code"])
    return {
        **row,
        "category": str(category) if category else None,
        "category_name": CATEGORIES[category].name if category else None,
        "element_name": element.name if element else None,
        # the deadline the enterprise cares about: the handling deadline once dispatched,
        # before that the due time of the step the case is in
        "deadline_at": row["handle_due_at"] or due.get(row["id"]),
    }


def _open_step_due(conn: Connection, case_ids: list[str]) -> dict[str, Any]:
    if not case_ids:
        return {}
    s = case_store.case_steps.c
    rows = conn.execute(
        select(s.case_id, func.min(s.due_at))
        .where(s.case_id.in_(case_ids), s.completed_at.is_(None))
        .group_by(s.case_id)
    )
    return {r[0]: r[1] for r in rows}


def list_demands(
    p: Platform, actor: Actor, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """(enterprise, one page of its demands newest first, total) for the calling user."""
    c = case_store.cases.c
    with p.db.read() as conn:
        ent = _own_enterprise(conn, actor)
        q = _demand_query(ent["credit_code"])
        if status:
            q = q.where(c.status == status)
        total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
        rows = [
            dict(r._mapping)
            for r in conn.execute(
                q.order_by(c.reported_at.desc(), c.id).limit(limit).offset(offset)
            )
        ]
        due = _open_step_due(conn, [r["id"] for r in rows])
    return ent, [_present(p, r, due) for r in rows], int(total)


def read_demand(p: Platform, actor: Actor, case_id: str) -> dict[str, Any]:
    """One demand of the caller's enterprise; NotFoundError for any other case."""
    with p.db.read() as conn:
        ent = _own_enterprise(conn, actor)
        row = conn.execute(
            _demand_query(ent["credit_code"]).where(case_store.cases.c.id == case_id)
        ).first()
        if row is None:
            raise NotFoundError("demand not found", code="enterprise.demand_not_found")
        view = dict(row._mapping)
        due = _open_step_due(conn, [case_id])
    return _present(p, view, due)


def list_enterprises_with_demands(
    p: Platform, *, demands_since: datetime | None = None, max_demands: int = 20_000
) -> list[dict[str, Any]]:
    """Every registered enterprise (credit code, name, legal representative, address) with the
    numbers of its demand cases (newest first; ``max_demands`` at most over all enterprises,
    reported at or after ``demands_since``, voided and merged ones left out), for entity
    resolution. No contact data: demands carry their reporter's phone, and linkage needs none
    of it."""
    e, c = store.enterprises, case_store.cases.c
    eu = store.enterprise_users
    q = (
        select(eu.c.credit_code, c.number)
        .select_from(case_store.cases.join(eu, eu.c.user_id == c.reporter_id))
        .where(
            c.channel == str(Channel.ENTERPRISE),
            c.status.not_in([str(Status.VOIDED), str(Status.MERGED)]),
        )
        .order_by(c.reported_at.desc(), c.id)
        .limit(max(0, max_demands))
    )
    if demands_since is not None:
        q = q.where(c.reported_at >= demands_since)
    with p.db.read() as conn:
        out = {
            r.credit_code: {
                "credit_code": r.credit_code,
                "name": r.name,
                "legal_representative": r.legal_representative,
                "address": r.address,
                "demands": [],
            }
            for r in conn.execute(
                select(e.c.credit_code, e.c.name, e.c.legal_representative, e.c.address).order_by(
                    e.c.credit_code
                )
            )
        }
        for r in conn.execute(q):
            if r.credit_code in out:
                out[r.credit_code]["demands"].append(str(r.number))
    return list(out.values())
