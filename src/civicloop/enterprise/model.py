"""Enterprise demands (家门口服务体系企业版): the categories an enterprise files under.

Each category is one element of the catalogue scene ``enterprise_demands``, so a demand is
routed to that element's lead department with that element's deadlines — nothing here
decides who handles what; the catalogue and the responsibility matrix do.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DemandCategory(StrEnum):
    POLICY = "policy"  # 政策咨询
    APPROVAL = "approval"  # 审批办理
    PUBLIC_SERVICE = "public_service"  # 公共服务：水电气网
    ENVIRONMENT = "environment"  # 周边环境
    DISPUTE = "dispute"  # 纠纷协调
    EMPLOYMENT = "employment"  # 用工服务


@dataclass(frozen=True)
class CategorySpec:
    category: DemandCategory
    name: str
    element_code: str


CATEGORIES: dict[DemandCategory, CategorySpec] = {
    s.category: s
    for s in (
        CategorySpec(DemandCategory.POLICY, "政策咨询", "E1202"),
        CategorySpec(DemandCategory.APPROVAL, "审批办理", "E1203"),
        CategorySpec(DemandCategory.PUBLIC_SERVICE, "公共服务（水电气网）", "E1204"),
        CategorySpec(DemandCategory.ENVIRONMENT, "周边环境", "E1205"),
        CategorySpec(DemandCategory.DISPUTE, "纠纷协调", "E1206"),
        CategorySpec(DemandCategory.EMPLOYMENT, "用工服务", "E1201"),
    )
}
CATEGORY_OF_ELEMENT = {s.element_code: s.category for s in CATEGORIES.values()}
