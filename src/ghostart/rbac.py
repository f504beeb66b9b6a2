"""Role-based access control: one permission table, one check.

Permissions ending in ``_own`` apply only to rows the principal authored; the matching ``_any``
permission covers every row of the organization. A principal with ``scopes`` (an API key) holds
only its role's permissions that are also among its scopes. :func:`authorize` is the only check
services use.
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from ghostart.errors import PermissionDenied
from ghostart.models import Permission, Principal, Role

__all__ = ["PERMISSIONS", "Permission", "authorize", "can", "granted", "least_role"]


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
        P.CAMPAIGN_READ,
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
    P.CAMPAIGN_MANAGE,
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


def granted(principal: Principal) -> frozenset[Permission]:
    """Every permission ``principal`` holds: its role's, narrowed to its scopes if it has any."""
    permissions = PERMISSIONS[principal.role]
    return permissions if principal.scopes is None else permissions & principal.scopes


def least_role(permissions: Iterable[Permission]) -> Role:
    """The role with the fewest permissions that holds all of ``permissions``.

    Roles are nested (employee < brand creator < admin), so this is the weakest role that can
    do everything asked; an API key acts in it.
    """
    wanted = frozenset(permissions)
    for role in sorted(PERMISSIONS, key=lambda r: len(PERMISSIONS[r])):
        if wanted <= PERMISSIONS[role]:
            return role
    unknown = ", ".join(sorted(p.value for p in wanted - PERMISSIONS[Role.ADMIN]))
    raise ValueError(f"no role holds {unknown}")  # only reachable if the table lost a permission


def can(principal: Principal, permission: Permission, *, owner_id: UUID | None = None) -> bool:
    """Whether ``principal`` holds ``permission``, for a row authored by ``owner_id`` if given.

    Asking for an ``_own``/``_any`` pair is answered by either half: ``_any`` always, ``_own`` only
    when ``owner_id`` is the principal's user. Scopes narrow each half on its own: a key scoped to
    ``post.read_own`` reads its own rows only, whatever its role.
    """
    held = granted(principal)
    pair = _split(permission)
    if pair is None:
        return permission in held
    own, any_ = pair
    if any_ in held:
        return True
    return own in held and owner_id is not None and owner_id == principal.user_id


def authorize(
    principal: Principal, permission: Permission, *, owner_id: UUID | None = None
) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can` allows it."""
    if can(principal, permission, owner_id=owner_id):
        return
    action = permission.value.replace("_", " ")
    if principal.scopes is not None and can(
        principal.model_copy(update={"scopes": None}), permission, owner_id=owner_id
    ):
        raise PermissionDenied(
            f"this API key's scopes do not allow {action}",
            permission=permission.value,
            role=principal.role.value,
            scopes=sorted(p.value for p in principal.scopes),
        )
    raise PermissionDenied(
        f"role '{principal.role.value}' may not {action}",
        permission=permission.value,
        role=principal.role.value,
    )
