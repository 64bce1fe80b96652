"""Exceptions that carry their HTTP status.

Services raise these; one middleware (app.py) turns them into an error page
in the back-office layout or into JSON for API/signalling clients.
"""

from __future__ import annotations

from .i18n import N_


class AppError(Exception):
    """Base class: ``status`` is the HTTP status, ``message`` is safe to show
    (already in the reader's language); ``title`` is a msgid, translated where shown."""

    status = 500
    title = N_("Internal error")

    def __init__(self, message: str = "", *, fields: dict[str, str] | None = None):
        super().__init__(message or self.title)
        self.message = message or self.title
        #: field name -> error text, for forms re-rendered with field errors
        self.fields = fields or {}

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries (Retry-After of a 429)."""
        return {}


class BadRequest(AppError):
    status = 400
    title = N_("Bad request")


class ValidationError(BadRequest):
    """Form or API input failed validation; ``fields`` names each problem."""

    title = N_("Please correct the marked fields")


class Unauthorized(AppError):
    status = 401
    title = N_("Login required")


class Forbidden(AppError):
    status = 403
    title = N_("Forbidden")


class NotFound(AppError):
    """Also used for ids of another tenant: they must be indistinguishable."""

    status = 404
    title = N_("Not found")


class Conflict(AppError):
    status = 409
    title = N_("Conflict")


class Gone(AppError):
    """An expired or already used one-time link."""

    status = 410
    title = N_("Link no longer valid")


class TooManyRequests(AppError):
    status = 429
    title = N_("Too many attempts")

    def __init__(self, message: str = "", *, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def error_for(status: int, message: str) -> AppError:
    """The error of ``status`` with ``message`` (one another node raised and
    sent as status and text): the first class of that status, else AppError."""
    for kind in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Gone, TooManyRequests):
        if kind.status == status:
            return kind(message)
    return AppError(message)
