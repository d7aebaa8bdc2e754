"""Organisation: the territorial tree, departments, roles and who may see what.

The territorial tree is district → street (street or town) → community → grid. Every region
carries a materialised ``path`` of codes (``/310115/310115004/…``) so "is this case inside my
territory" is a prefix test, both in Python and in SQL (``LIKE 'path%'``).

Loop levels (闭环层级) say who closes a case: ``micro`` (grid and community), ``small``
(street/town), ``medium`` (district departments), ``big`` (with market and social parties).
Escalation moves a case one level up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class RegionLevel(StrEnum):
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"


class LoopLevel(StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    BIG = "big"

    def up(self) -> LoopLevel:
        """The next level up; ``big`` is the top and stays."""
        order = list(LoopLevel)
        return order[min(order.index(self) + 1, len(order) - 1)]


class DepartmentKind(StrEnum):
    BUREAU = "bureau"  # a district functional department (城管, 住建 …)
    STREET_OFFICE = "street_office"  # a street/town office or its operations sub-centre
    COMMUNITY = "community"  # a residents' committee (居委会) / village committee
    UTILITY = "utility"  # water, power, gas, telecom
    PROPERTY = "property"  # property-management firms
    CONTRACTOR = "contractor"  # sanitation and maintenance contractors
    SOCIAL = "social"  # social organisations, volunteers


class Role(StrEnum):
    OPERATOR = "operator"  # 受理员
    DISPATCHER = "dispatcher"  # 派遣员
    SHIFT_CHIEF = "shift_chief"  # 值班长
    DEPARTMENT_HANDLER = "department_handler"  # 专业部门处置人员
    GRID_WORKER = "grid_worker"  # 监督员 / 网格员
    STREET_ADMIN = "street_admin"  # 街镇管理员
    DISTRICT_SUPERVISOR = "district_supervisor"  # 区级督办
    AUDITOR = "auditor"  # 审计 (read-only, whole district)
    ADMIN = "admin"
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    MACHINE_CLIENT = "machine_client"


# Roles that see cases by territory (their region subtree).
TERRITORIAL_ROLES = frozenset(
    {
        Role.OPERATOR,
        Role.DISPATCHER,
        Role.SHIFT_CHIEF,
        Role.GRID_WORKER,
        Role.STREET_ADMIN,
        Role.DISTRICT_SUPERVISOR,
        Role.AUDITOR,
        Role.ADMIN,
    }
)
# Roles that see the cases they reported and nothing else.
REPORTER_ROLES = frozenset({Role.CITIZEN, Role.ENTERPRISE, Role.MACHINE_CLIENT})


@dataclass(frozen=True)
class Actor:
    """Whoever is acting: a logged-in user or a machine client with an API key.

    ``region_path`` is the root of the actor's territory ("" for none); ``department_ids``
    the departments the actor works for.
    """

    id: str
    role: Role
    name: str
    region_path: str = ""
    department_ids: frozenset[str] = field(default_factory=frozenset)
    is_machine: bool = False

    def covers(self, path: str) -> bool:
        """True when ``path`` lies inside this actor's territory."""
        return bool(self.region_path) and path.startswith(self.region_path)


SYSTEM_ACTOR = Actor(id="system", role=Role.ADMIN, name="system", region_path="/")


@dataclass(frozen=True)
class Responsibility:
    """One row of the responsibility matrix: element × territory → who acts and at what level.

    ``region_path`` "" matches everywhere; the most specific (longest) matching path wins.
    ``lead`` may be a department code or a placeholder: ``@street`` (the street office of the
    case's street) or ``@community`` (the case's community committee).
    """

    element_code: str
    region_path: str
    lead: str
    assists: tuple[str, ...]
    loop_level: LoopLevel


def pick_responsibility(rows: list[Responsibility], path: str) -> Responsibility | None:
    """The most specific row whose territory contains ``path``."""
    best: Responsibility | None = None
    for row in rows:
        if path.startswith(row.region_path) and (
            best is None or len(row.region_path) > len(best.region_path)
        ):
            best = row
    return best
