"""ghostart: a toolkit for AI LinkedIn ghostwriting and employee advocacy.

Start with :class:`Ghostart` (the composition root) and :func:`load_settings`; plugins implement
the hooks in :mod:`ghostart.hookspecs` with :data:`hookimpl`.
"""

from ghostart.app import Ghostart
from ghostart.errors import (
    AuthExpired,
    ConfigurationError,
    Conflict,
    ContentRejected,
    DomainError,
    DuplicateContent,
    GhostartError,
    InvalidInput,
    NotFound,
    PermanentError,
    PermissionDenied,
    ProviderError,
    QuotaExceeded,
    RateLimited,
    TooManyRequests,
    TransientError,
    Unauthenticated,
)
from ghostart.hookspecs import hookimpl
from ghostart.registry import AdapterRegistry, AdapterURL, BuildContext, Port
from ghostart.retry import RetryPolicy
from ghostart.secretbox import SecretBox
from ghostart.settings import Settings, load_settings

__version__ = "0.1.0"

__all__ = [
    "AdapterRegistry",
    "AdapterURL",
    "AuthExpired",
    "BuildContext",
    "ConfigurationError",
    "Conflict",
    "ContentRejected",
    "DomainError",
    "DuplicateContent",
    "Ghostart",
    "GhostartError",
    "InvalidInput",
    "NotFound",
    "PermanentError",
    "PermissionDenied",
    "Port",
    "ProviderError",
    "QuotaExceeded",
    "RateLimited",
    "RetryPolicy",
    "SecretBox",
    "Settings",
    "TooManyRequests",
    "TransientError",
    "Unauthenticated",
    "__version__",
    "hookimpl",
    "load_settings",
]
