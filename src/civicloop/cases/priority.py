"""A case's priority, asked of the risk context when the case is reported and when it is filed.

Why here and not in risk: priority is a fact of the case (stored on its row, shown in the
triage queue, traced in the ledger); risk only knows which subjects are in a raised band
(``risk.priority.case_priority``). The import is lazy because risk reads cases (its data loop)
and a report must never fail because the risk tables cannot be read: that is logged and the
case keeps normal priority.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from civicloop.cases.model import Priority
from civicloop.core.errors import InputError
from civicloop.runtime import Platform

log = logging.getLogger(__name__)


def assess(p: Platform, view: Mapping[str, Any]) -> tuple[Priority, str | None]:
    """``(priority, reason)`` for a case-like mapping (grid_code, address, title, description)."""
    from civicloop.risk.priority import case_priority

    try:
        hint = case_priority(p, view)
    except (SQLAlchemyError, InputError) as exc:  # a broken scorecard file or an unreadable table
        log.warning("risk priority unavailable (%s); the case keeps normal priority", type(exc))
        return Priority.NORMAL, None
    if hint is None:
        return Priority.NORMAL, None
    return Priority.HIGH, str(hint["reason"])[:200]
