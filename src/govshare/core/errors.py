"""One exception hierarchy; each error knows its HTTP status and a stable machine code.

Raised anywhere (service, queries, policy), rendered once: problem+json (RFC 9457) for the API,
``{status}.html`` for pages (see ``core.http``). ``errors`` is a list of per-field problems,
each naming where (``loc``: row, field), the offending value and the reason.
"""

from __future__ import annotations

from typing import Any


class GovshareError(Exception):
    status = 500
    code = "internal-error"
    title = "Internal error"

    def __init__(
        self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []


class BadRequest(GovshareError):
    status = 400
    code = "bad-request"
    title = "Bad request"


class ValidationFailed(GovshareError):
    status = 422
    code = "validation-failed"
    title = "The input is not valid"


class NotAuthenticated(GovshareError):
    status = 401
    code = "not-authenticated"
    title = "Sign in required"


class Forbidden(GovshareError):
    status = 403
    code = "forbidden"
    title = "Not allowed"


class CsrfFailed(Forbidden):
    code = "csrf-failed"
    title = "The form has expired or was not sent from this site"


class NotFound(GovshareError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(GovshareError):
    status = 409
    code = "conflict"
    title = "Conflict"


class RateLimited(GovshareError):
    status = 429
    code = "rate-limited"
    title = "Too many attempts"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PayloadTooLarge(GovshareError):
    status = 413
    code = "payload-too-large"
    title = "Request too large"


class NotReady(GovshareError):
    status = 503
    code = "not-ready"
    title = "Not ready"
