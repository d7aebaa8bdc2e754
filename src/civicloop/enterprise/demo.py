"""Demo enterprises for the seeded district (wired into ``civicloop demo`` by the CLI).

``seed_enterprises`` creates a few enterprises with credit codes computed to be valid per
GB 32100 (random organisation parts, real check characters — not real companies), places them
in grids of the district, binds the ``enterprise`` persona to the first one and adds a second
enterprise user ``enterprise2`` bound to another — the pair shows that an enterprise sees only
its own demands. Deterministic for a given ``seed``; running it twice changes nothing.
"""

from __future__ import annotations

import random

from sqlalchemy import select

from civicloop.core.idcodes import CREDIT_CODE_ALPHABET, credit_code_check_char
from civicloop.core.ids import new_uuid
from civicloop.core.security import hash_password
from civicloop.enterprise import store
from civicloop.ledger.service import Action, record
from civicloop.org import service as org
from civicloop.org import store as org_store
from civicloop.org.model import SYSTEM_ACTOR, RegionLevel, Role
from civicloop.runtime import Platform

# (name, legal representative, industry); names are invented for the demo district.
_DEMO = (
    ("浦江示范科技有限公司", "何建国", "软件和信息技术服务业"),
    ("陆家嘴晨光餐饮管理有限公司", "周敏", "餐饮业"),
    ("花木精工机械制造有限公司", "陈立", "通用设备制造业"),
    ("东岸绿色物流有限公司", "刘洋", "道路货物运输"),
)
DEMO_DIVISION = "310115"  # Pudong New Area


def demo_credit_code(rng: random.Random) -> str:
    """A code of a company registered by market regulation (91) in Pudong, with a valid check."""
    org_part = "".join(rng.choice(CREDIT_CODE_ALPHABET) for _ in range(9))
    first17 = "91" + DEMO_DIVISION + org_part
    return first17 + credit_code_check_char(first17)


def seed_enterprises(p: Platform, *, seed: int) -> int:
    """Create the demo enterprises and bind the enterprise personas; returns how many were new."""
    from civicloop.demo.generator import DEMO_PASSWORD  # the demo's one password

    rng = random.Random(seed)
    with p.db.read() as conn:
        grids = org.list_regions(conn, level=RegionLevel.GRID)
        communities = {r.code: r.name for r in org.list_regions(conn, level=RegionLevel.COMMUNITY)}
    if not grids:
        return 0
    now = p.clock.now()
    created = 0
    e, eu, u = store.enterprises, store.enterprise_users, org_store.users
    with p.db.write() as conn:
        codes: list[str] = []
        for i, (name, legal, industry) in enumerate(_DEMO):
            code = demo_credit_code(rng)
            grid = grids[(i * 37 + rng.randrange(len(grids))) % len(grids)]
            number = rng.randrange(1, 300)  # drawn before any skip: same codes on every run
            codes.append(code)
            if conn.execute(select(e.c.credit_code).where(e.c.credit_code == code)).first():
                continue
            row = {
                "credit_code": code,
                "name": name,
                "legal_representative": legal,
                "industry": industry,
                "address": f"{communities.get(grid.parent_code or '', '')}{number}号",
                "grid_code": grid.code,
                "created_at": now,
            }
            conn.execute(e.insert().values(**row))
            record(
                conn,
                SYSTEM_ACTOR,
                [Action("enterprise.registered", "enterprise", code, after=row)],
                at=now,
                request_id="seed",
            )
            created += 1
        # the second enterprise user exists only here: the persona list has one enterprise
        if conn.execute(select(u.c.id).where(u.c.username == "enterprise2")).first() is None:
            conn.execute(
                u.insert().values(
                    id=new_uuid(),
                    username="enterprise2",
                    display_name=f"刘经理（{_DEMO[3][0]}）",
                    role=str(Role.ENTERPRISE),
                    region_code=None,
                    password_hash=hash_password(DEMO_PASSWORD),
                    phone=None,
                    failed_attempts=0,
                    locked_until=None,
                    is_active=True,
                    created_at=now,
                )
            )
        for username, code in (("enterprise", codes[0]), ("enterprise2", codes[3])):
            user_id = conn.execute(select(u.c.id).where(u.c.username == username)).scalar()
            if user_id is None:
                continue
            if conn.execute(select(eu.c.user_id).where(eu.c.user_id == user_id)).first():
                continue
            conn.execute(eu.insert().values(user_id=user_id, credit_code=code, bound_at=now))
            record(
                conn,
                SYSTEM_ACTOR,
                [Action("enterprise.user_bound", "enterprise", code, after={"user_id": user_id})],
                at=now,
                request_id="seed",
            )
    return created
