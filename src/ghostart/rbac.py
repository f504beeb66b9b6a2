"""Role-based access control: one permission table, one check.

Permissions ending in ``_own`` apply only to rows the principal authored; the matching ``_any``
permission covers every row of the organization. :func:`authorize` is the only check services use.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from ghostart.errors import PermissionDenied
from ghostart.models import Principal, Role

__all__ = ["PERMISSIONS", "Permission", "authorize", "can"]


class Permission(StrEnum):
    """Everything a role may be allowed to do."""

    ORG_READ = "org.read"
    ORG_MANAGE = "org.manage"
    MEMBERS_READ = "members.read"
    MEMBERS_MANAGE = "members.manage"
    BILLING_MANAGE = "billing.manage"
    API_KEYS_MANAGE = "api_keys.manage"
    BRAND_VOICE_READ = "brand_voice.read"
    BRAND_VOICE_MANAGE = "brand_voice.manage"
    POST_CREATE = "post.create"
    POST_READ_OWN = "post.read_own"
    POST_READ_ANY = "post.read_any"
    POST_EDIT_OWN = "post.edit_own"
    POST_EDIT_ANY = "post.edit_any"
    POST_SUBMIT_OWN = "post.submit_own"
    POST_SUBMIT_ANY = "post.submit_any"
    POST_REVIEW = "post.review"
    POST_PUBLISH_OWN = "post.publish_own"
    POST_PUBLISH_ANY = "post.publish_any"
    USAGE_READ = "usage.read"


P = Permission
_EMPLOYEE = frozenset(
    {
        P.ORG_READ,
        P.BRAND_VOICE_READ,
        P.POST_CREATE,
        P.POST_READ_OWN,
        P.POST_EDIT_OWN,
        P.POST_SUBMIT_OWN,
        P.POST_PUBLISH_OWN,
    }
)
_BRAND_CREATOR = _EMPLOYEE | {
    P.MEMBERS_READ,
    P.BRAND_VOICE_MANAGE,
    P.POST_READ_ANY,
    P.POST_EDIT_ANY,
    P.POST_SUBMIT_ANY,
    P.POST_REVIEW,
    P.POST_PUBLISH_ANY,
    P.USAGE_READ,
}
_ADMIN = _BRAND_CREATOR | {P.ORG_MANAGE, P.MEMBERS_MANAGE, P.BILLING_MANAGE, P.API_KEYS_MANAGE}

#: The permission table: the single source of who may do what.
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.EMPLOYEE: _EMPLOYEE,
    Role.BRAND_CREATOR: frozenset(_BRAND_CREATOR),
    Role.ADMIN: frozenset(_ADMIN),
}


def _split(permission: Permission) -> tuple[Permission, Permission] | None:
    value = permission.value
    if value.endswith("_own"):
        return permission, Permission(value.removesuffix("_own") + "_any")
    if value.endswith("_any"):
        return Permission(value.removesuffix("_any") + "_own"), permission
    return None


def can(principal: Principal, permission: Permission, *, owner_id: UUID | None = None) -> bool:
    """Whether ``principal`` holds ``permission``, for a row authored by ``owner_id`` if given.

    Asking for an ``_own``/``_any`` pair is answered by either half: ``_any`` always, ``_own`` only
    when ``owner_id`` is the principal's user.
    """
    granted = PERMISSIONS[principal.role]
    pair = _split(permission)
    if pair is None:
        return permission in granted
    own, any_ = pair
    if any_ in granted:
        return True
    return own in granted and owner_id is not None and owner_id == principal.user_id


def authorize(
    principal: Principal, permission: Permission, *, owner_id: UUID | None = None
) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can` allows it."""
    if not can(principal, permission, owner_id=owner_id):
        raise PermissionDenied(
            f"role '{principal.role.value}' may not {permission.value.replace('_', ' ')}",
            permission=permission.value,
            role=principal.role.value,
        )
