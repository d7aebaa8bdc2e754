"""The case: one problem being handled, from report to follow-up.

The lifecycle (GB/T 30428: 信息收集 → 案卷建立 → 任务派遣 → 任务处理 → 处理反馈 → 核查结案 → 综合评价)::

                 accept (no on-site check)
    reported ──────────────────────────────► accepted ──file──► filed ──dispatch──► dispatched
       │  │ accept (element asks for 核实)      ▲    │                 ▲               │    │
       │  └──────────────► checking ──check(valid)   │ void            │ dispatch      │    │ return
       │ void                  │ check(invalid)      ▼                 │ (re-dispatch) │    ▼
       ▼                       └────────────────► voided            returned ◄─────────┘ returned
    voided                                                                            │
                                                                   sign ◄─────────────┘ (dispatched)
                                                                     ▼
        ┌──────────── rework ◄──────────────┐                  handling ◄─┐ notes, evidence,
        ▼                                   │                     │       │ extension requests
    handling ──feedback──► verifying ──verify(pass/fail)──► verified ──close──► closed
                  (no 核查 needed: straight to verified)                          │
                                                                  follow_up ──────┤ reopen
                                                                      ▼           ▼
                                                                 followed_up    filed

    Any case not yet dispatched may be merged into a master case (→ merged).

``voided``, ``merged`` and ``followed_up`` are terminal except that a followed-up case may be
reopened. Which role may take which action in which state is decided in
:mod:`civicloop.cases.policy` and nowhere else.
"""

from __future__ import annotations

from enum import StrEnum

from civicloop.catalogue.model import Step


class Status(StrEnum):
    REPORTED = "reported"  # 上报
    CHECKING = "checking"  # 核实中
    ACCEPTED = "accepted"  # 已受理
    FILED = "filed"  # 已立案
    DISPATCHED = "dispatched"  # 已派遣
    RETURNED = "returned"  # 已退单
    HANDLING = "handling"  # 处置中
    VERIFYING = "verifying"  # 核查中
    VERIFIED = "verified"  # 待结案
    CLOSED = "closed"  # 已结案
    FOLLOWED_UP = "followed_up"  # 已回访
    VOIDED = "voided"  # 已作废
    MERGED = "merged"  # 已合并


TERMINAL = frozenset({Status.VOIDED, Status.MERGED})
OPEN_STATUSES = frozenset(
    set(Status) - {Status.CLOSED, Status.FOLLOWED_UP, Status.VOIDED, Status.MERGED}
)


class Action(StrEnum):
    ACCEPT = "accept"
    VOID = "void"
    CHECK = "check"
    FILE = "file"
    DISPATCH = "dispatch"
    SIGN = "sign"
    RETURN = "return"
    NOTE = "note"
    ATTACH = "attach"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    FEEDBACK = "feedback"
    VERIFY = "verify"
    CLOSE = "close"
    REWORK = "rework"
    FOLLOW_UP = "follow_up"
    REOPEN = "reopen"
    MERGE = "merge"
    SUPERVISE = "supervise"
    NOT_FIXED = "not_fixed"  # the reporter says a closed case is not fixed: back into rework


class ClosureType(StrEnum):
    NORMAL = "normal"  # 正常结案
    OVERDUE = "overdue"  # 超时结案
    SPECIAL = "special"  # 特殊结案 (e.g. cannot be handled; needs a reason)


class Channel(StrEnum):
    HOTLINE = "hotline"  # 12345
    APP = "app"
    WEB = "web"
    OPEN311 = "open311"
    PATROL = "patrol"  # 监督员 主动发现
    SENSOR = "sensor"
    VIDEO = "video"
    DATA_RULE = "data_rule"
    ENTERPRISE = "enterprise"  # 家门口服务体系企业版
    SUPERVISOR = "supervisor"  # 领导交办


class Priority(StrEnum):
    """How soon a dispatcher should look at a case. Risk raises it: a case about a subject in a
    raised risk band (``risk.priority``) is ``high`` and heads the triage queue."""

    NORMAL = "normal"
    HIGH = "high"  # 高风险优先


class AssignmentRole(StrEnum):
    LEAD = "lead"
    ASSIST = "assist"


# The step that is timed while a case sits in a status (the SLA clock).
STEP_FOR_STATUS: dict[Status, Step] = {
    Status.REPORTED: Step.ACCEPT,
    Status.CHECKING: Step.CHECK,
    Status.ACCEPTED: Step.FILE,
    Status.FILED: Step.DISPATCH,
    Status.RETURNED: Step.DISPATCH,
    Status.DISPATCHED: Step.SIGN,
    Status.VERIFYING: Step.VERIFY,
    Status.VERIFIED: Step.CLOSE,
    Status.CLOSED: Step.FOLLOW_UP,
}

SATISFACTION = ("satisfied", "basically_satisfied", "unsatisfied")
