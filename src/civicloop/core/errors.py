"""One error tree for the whole platform.

Domain code returns decisions for expected outcomes; services raise these errors; only the
API layer turns them into HTTP responses (``application/problem+json``). Each error has a
stable dotted ``code`` that clients may switch on, an HTTP status and a data dict.

::

    CivicError                      500  civic.error
    ├── InputError                  422  input.invalid        (names the field and the rule)
    │   └── CatalogueError          422  catalogue.invalid    (names the file, the path, the rule)
    ├── AuthError                   401  auth.required
    │   └── LockedError             423  auth.locked
    ├── ForbiddenError              403  auth.forbidden       (the action, never the object's existence)
    ├── NotFoundError               404  *.not_found          (also "exists but not yours")
    ├── ConflictError               409  *.conflict
    │   ├── TransitionError         409  case.transition_refused (carries the allowed next steps)
    │   └── StaleVersionError       409  case.stale_version
    └── UnavailableError            503  service.unavailable
"""

from __future__ import annotations

from typing import Any


class CivicError(Exception):
    """Base of every error the platform raises on purpose."""

    status = 500
    code = "civic.error"

    def __init__(self, message: str, *, code: str | None = None, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.data = data


class InputError(CivicError):
    """Bad input. ``field`` names the offending field, ``rule`` the rule it broke."""

    status = 422
    code = "input.invalid"

    def __init__(self, message: str, *, field: str, rule: str, **data: Any) -> None:
        super().__init__(message, field=field, rule=rule, **data)
        self.field = field
        self.rule = rule


class CatalogueError(InputError):
    """A catalogue or calendar file broke a rule; ``problems`` lists every finding."""

    code = "catalogue.invalid"

    def __init__(self, problems: list[str]) -> None:
        first = problems[0] if problems else "catalogue is invalid"
        super().__init__(first, field="catalogue", rule="schema", problems=problems)
        self.problems = problems


class AuthError(CivicError):
    status = 401
    code = "auth.required"


class LockedError(AuthError):
    status = 423
    code = "auth.locked"


class ForbiddenError(CivicError):
    status = 403
    code = "auth.forbidden"


class NotFoundError(CivicError):
    status = 404
    code = "not_found"


class ConflictError(CivicError):
    status = 409
    code = "conflict"


class TransitionError(ConflictError):
    """The case is not in a state (or the actor not in a role) where the action is allowed."""

    code = "case.transition_refused"

    def __init__(self, message: str, *, action: str, status_now: str, allowed: list[str]) -> None:
        super().__init__(message, action=action, case_status=status_now, allowed=allowed)


class StaleVersionError(ConflictError):
    """Someone else changed the case first (optimistic concurrency)."""

    code = "case.stale_version"


class UnavailableError(CivicError):
    status = 503
    code = "service.unavailable"
