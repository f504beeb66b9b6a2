"""The typed error taxonomy every part of ghostart speaks.

::

    GhostartError
    ├── ConfigurationError        a setting is wrong or an adapter is missing (never retried)
    ├── DomainError               the caller asked for something the domain refuses
    │   ├── InvalidInput
    │   ├── NotFound
    │   ├── PermissionDenied
    │   ├── QuotaExceeded
    │   ├── TooManyRequests       a caller's own request rate (not a provider's)
    │   └── Conflict
    └── ProviderError             an outside system failed; adapters map their SDK errors here
        ├── TransientError        retry with backoff and jitter
        │   └── RateLimited       wait ``retry_after`` seconds, then retry
        ├── AuthExpired           refresh credentials once, then retry
        ├── PermanentError        do not retry; surface it
        │   └── ContentRejected   the content was refused (moderation): the post ends ``rejected``
        └── DuplicateContent      the provider already holds this content

``RetryPolicy`` (:mod:`ghostart.retry`) reads only this tree, so every provider retries alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ghostart.models import Usage

__all__ = [
    "AuthExpired",
    "ConfigurationError",
    "Conflict",
    "ContentRejected",
    "DomainError",
    "DuplicateContent",
    "GhostartError",
    "InvalidInput",
    "NotFound",
    "PermanentError",
    "PermissionDenied",
    "ProviderError",
    "QuotaExceeded",
    "RateLimited",
    "TooManyRequests",
    "TransientError",
    "Unauthenticated",
]


class GhostartError(Exception):
    """Root of every error ghostart raises on purpose."""

    #: A stable machine-readable code, used by the service for its error bodies.
    code = "error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self) -> str:
        return self.message


class ConfigurationError(GhostartError):
    """A setting is invalid or a needed adapter is not installed; fix the named setting."""

    code = "configuration_error"


class DomainError(GhostartError):
    """The request is understood but the domain refuses it (a 4xx in the service)."""


class InvalidInput(DomainError):
    """A value is missing, malformed or out of bounds."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message, field=field, **details)
        self.field = field


class NotFound(DomainError):
    """The thing does not exist, or not for this principal's organization."""

    code = "not_found"


class Unauthenticated(DomainError):
    """No acceptable credentials: a missing, malformed, expired, revoked or forged token or key.

    The message says what was wrong in general terms only (never which check a forgery failed).
    """

    code = "unauthenticated"


class PermissionDenied(DomainError):
    """The principal's role does not allow the action."""

    code = "permission_denied"


class QuotaExceeded(DomainError):
    """The organization's plan allows no more of this in the current period."""

    code = "quota_exceeded"


class TooManyRequests(DomainError):
    """The caller sent too many requests; ``retry_after`` seconds until the next is allowed."""

    code = "too_many_requests"

    def __init__(self, message: str, *, retry_after: float, **details: Any) -> None:
        super().__init__(message, retry_after=retry_after, **details)
        self.retry_after = retry_after


class Conflict(DomainError):
    """The action clashes with the current state (a wrong lifecycle step, a last admin...)."""

    code = "conflict"


class ProviderError(GhostartError):
    """An outside system failed. Carries the provider, HTTP status and raw response if known."""

    code = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        raw: Any = None,
        **details: Any,
    ) -> None:
        super().__init__(message, provider=provider, status=status, **details)
        self.provider = provider
        self.status = status
        self.raw = raw


class TransientError(ProviderError):
    """Worth retrying after a backoff: timeouts, 5xx, dropped connections."""

    code = "transient_error"


class RateLimited(TransientError):
    """The provider asked us to slow down; ``retry_after`` is in seconds when it said."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.details["retry_after"] = retry_after


class AuthExpired(ProviderError):
    """Credentials expired; refresh them once, then retry."""

    code = "auth_expired"


class PermanentError(ProviderError):
    """Retrying will not help (bad request, revoked access, content refused)."""

    code = "permanent_error"


class ContentRejected(PermanentError):
    """The provider refused the content itself (moderation flagged it, the model declined).

    A generation that ends this way leaves its posts ``rejected`` with ``reason``, never a draft,
    and the rejected text is not kept. ``categories`` names what was flagged when known; ``usage``
    (a :class:`ghostart.models.Usage`) is what the attempt cost, recorded like any generation's.
    """

    code = "content_rejected"

    def __init__(
        self,
        message: str,
        *,
        categories: list[str] | tuple[str, ...] = (),
        usage: Usage | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.categories = list(categories)
        self.usage = usage
        self.details["categories"] = self.categories


class DuplicateContent(ProviderError):
    """The provider already has this content; ``existing_id`` names it when known."""

    code = "duplicate_content"

    def __init__(self, message: str, *, existing_id: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.existing_id = existing_id
