"""HTTP endpoints of the enterprise version of the doorstep service (家门口服务体系企业版).

Routes under ``/api/v1/enterprise``, all for logged-in enterprise users: register (bind the
user to a unified social credit code), file demands, list and read the enterprise's own
demands. A demand is a case, so it is also visible — with the usual masking — through the case
API to the people who handle it; rating is the case follow-up verb.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from civicloop.cases.api import PlatformDep, RequestId, on_writer
from civicloop.core.auth import require_roles
from civicloop.enterprise import service
from civicloop.enterprise.model import CATEGORIES, DemandCategory
from civicloop.org.model import Actor, Role

router = APIRouter(prefix="/api/v1/enterprise", tags=["enterprise"])
EnterpriseActor = Annotated[Actor, Depends(require_roles(Role.ENTERPRISE))]


class _In(BaseModel):
    # Unknown fields are an error: a typo in a field name must not be silently ignored.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterBody(_In):
    credit_code: str = Field(
        min_length=1, max_length=40, description="统一社会信用代码 (GB 32100-2015, 18 characters)"
    )
    name: str | None = Field(default=None, max_length=200)
    legal_representative: str | None = Field(default=None, max_length=64)
    industry: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=300)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    grid_code: str | None = Field(default=None, max_length=32)


class EnterpriseRead(BaseModel):
    credit_code: str
    name: str
    legal_representative: str | None
    industry: str | None
    address: str | None
    grid_code: str | None
    created_at: datetime


class DemandCreate(_In):
    category: DemandCategory
    text: str = Field(min_length=1, max_length=5000, description="诉求内容")
    title: str = Field(default="", max_length=200)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    address: str | None = Field(default=None, max_length=300)
    contact_name: str | None = Field(default=None, max_length=64)
    contact_phone: str | None = Field(default=None, pattern=r"^\+?[0-9\- ]{5,20}$")


class DemandRead(BaseModel):
    id: str
    number: str
    tracking_code: str
    category: str | None
    category_name: str | None
    element_code: str
    element_name: str | None
    title: str
    description: str
    status: str
    lead_department: str | None
    lead_department_name: str | None
    deadline_at: datetime | None
    is_overdue: bool
    satisfaction: str | None
    address: str | None
    grid_code: str
    reported_at: datetime
    closed_at: datetime | None
    version: int


class DemandPage(BaseModel):
    enterprise: EnterpriseRead
    items: list[DemandRead]
    total: int
    limit: int
    offset: int


class CategoryRead(BaseModel):
    category: str
    name: str
    element_code: str
    element_name: str | None
    lead_department: str | None


@router.get("/categories", response_model=list[CategoryRead], summary="Demand categories")
def categories(p: PlatformDep, actor: EnterpriseActor) -> list[dict[str, Any]]:
    out = []
    for spec in CATEGORIES.values():
        element = p.catalogue.element(spec.element_code)
        out.append(
            {
                "category": str(spec.category),
                "name": spec.name,
                "element_code": spec.element_code,
                "element_name": element.name if element else None,
                "lead_department": element.lead_department if element else None,
            }
        )
    return out


@router.post(
    "/register",
    response_model=EnterpriseRead,
    summary="企业登记 bind this user to an enterprise by its credit code",
)
async def register(
    body: RegisterBody, p: PlatformDep, actor: EnterpriseActor, rid: RequestId
) -> dict[str, Any]:
    reg = service.Registration(**body.model_dump())
    return await on_writer(p, service.register_enterprise, p, actor, reg, request_id=rid)


@router.get("/me", response_model=EnterpriseRead, summary="The enterprise this user acts for")
def me(p: PlatformDep, actor: EnterpriseActor) -> dict[str, Any]:
    return service.read_own_enterprise(p, actor)


@router.post(
    "/demands", status_code=201, response_model=DemandRead, summary="File a demand (企业诉求)"
)
async def file_demand(
    body: DemandCreate, p: PlatformDep, actor: EnterpriseActor, rid: RequestId
) -> dict[str, Any]:
    draft = service.DemandDraft(**{**body.model_dump(), "category": str(body.category)})
    return await on_writer(p, service.file_demand, p, actor, draft, request_id=rid)


@router.get("/demands", response_model=DemandPage, summary="This enterprise's demands")
def list_demands(
    p: PlatformDep,
    actor: EnterpriseActor,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    ent, items, total = service.list_demands(p, actor, status=status, limit=limit, offset=offset)
    return {"enterprise": ent, "items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/demands/{case_id}", response_model=DemandRead, summary="One demand")
def read_demand(case_id: str, p: PlatformDep, actor: EnterpriseActor) -> dict[str, Any]:
    return service.read_demand(p, actor, case_id)
