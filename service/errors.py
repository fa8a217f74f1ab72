"""The service's error tree. Every error a caller can cause is one of these, and the API renders each
in one place as a FHIR OperationOutcome with the status below (FHIR-CONTRACT.md section 2, "Errors").

    ServiceError                    500  exception   (the base; never raised bare for a caller's mistake)
    ├── BadRequest                  400  invalid     not JSON, not a resource, wrong Bundle type
    ├── Unauthorized                401  login       missing or wrong bearer token (WWW-Authenticate)
    ├── Forbidden                   403  forbidden   a valid token without the scope, or another patient
    ├── NotFound                    404  not-found   unknown route or id
    ├── MethodNotAllowed            405  not-supported
    ├── RequestTimeout              408  timeout     the body did not arrive within its read timeout
    ├── PreconditionFailed          412  conflict    a stale If-Match / entry.request.ifMatch
    ├── PayloadTooLarge             413  too-costly  over ONCO_MAX_BUNDLE_BYTES
    ├── UnsupportedMediaType        415  not-supported
    ├── Unprocessable               422  processing  parseable but unusable (a unit, a date)
    ├── TooManyRequests             429  throttled   over the client's write rate (Retry-After)
    └── NotReady                    503  transient   the store or the mappings are not available
        └── Overloaded              503  throttled   too many writes in flight, or a pool or lock wait
                                                     ran out (issue 20); answered with Retry-After

``code`` is from the FHIR IssueType value set (http://hl7.org/fhir/R4/valueset-issue-type.html);
``expression`` is a FHIRPath to the offending element where there is one; ``headers`` are HTTP headers the
answer must carry (``WWW-Authenticate``, ``Retry-After``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue: what went wrong, and where (a FHIRPath), if anywhere."""

    diagnostics: str
    code: str = "invalid"
    severity: str = "error"
    expression: str | None = None


class ServiceError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "exception"

    def __init__(
        self,
        diagnostics: str,
        *,
        expression: str | None = None,
        issues: list[Issue] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(diagnostics)
        self.issues = issues or [Issue(diagnostics, self.code, "error", expression)]
        self.headers = headers


class BadRequest(ServiceError):
    status, code = 400, "invalid"


class Unauthorized(ServiceError):
    status, code = 401, "login"


class Forbidden(ServiceError):
    status, code = 403, "forbidden"


class NotFound(ServiceError):
    status, code = 404, "not-found"


class MethodNotAllowed(ServiceError):
    status, code = 405, "not-supported"


class RequestTimeout(ServiceError):
    status, code = 408, "timeout"


class PreconditionFailed(ServiceError):
    status, code = 412, "conflict"


class PayloadTooLarge(ServiceError):
    status, code = 413, "too-costly"


class UnsupportedMediaType(ServiceError):
    status, code = 415, "not-supported"


class Unprocessable(ServiceError):
    status, code = 422, "processing"


class TooManyRequests(ServiceError):
    status, code = 429, "throttled"


class NotReady(ServiceError):
    status, code = 503, "transient"


class Overloaded(NotReady):
    """The service sheds this request rather than queue it past a sender's timeout; send it again after
    ``retry_after`` seconds (docs/load-shedding.md)."""

    code = "throttled"

    def __init__(self, diagnostics: str, *, retry_after: int = 2) -> None:
        super().__init__(diagnostics, headers={"retry-after": str(retry_after)})
