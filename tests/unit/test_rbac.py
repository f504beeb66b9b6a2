"""The permission table and its one check: who may do what, on their own rows or on any."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ghostart.errors import PermissionDenied
from ghostart.models import Principal, PrincipalKind, Role
from ghostart.rbac import PERMISSIONS, Permission, authorize, can

P = Permission
ORG = uuid4()


def principal(role: Role) -> Principal:
    return Principal(user_id=uuid4(), organization_id=ORG, role=role)


# What the product promises, written out independently of rbac.py (not derived from its sets).
ADMIN_ONLY = {P.ORG_MANAGE, P.MEMBERS_MANAGE, P.BILLING_MANAGE, P.API_KEYS_MANAGE}
CREATOR_AND_UP = {
    P.MEMBERS_READ,
    P.BRAND_VOICE_MANAGE,
    P.POST_READ_ANY,
    P.POST_EDIT_ANY,
    P.POST_SUBMIT_ANY,
    P.POST_REVIEW,
    P.POST_PUBLISH_ANY,
    P.USAGE_READ,
    P.CAMPAIGN_MANAGE,  # start campaigns, re-draft their failed variants
}
EVERYONE = {
    P.ORG_READ,
    P.BRAND_VOICE_READ,
    P.POST_CREATE,
    P.POST_READ_OWN,
    P.POST_EDIT_OWN,
    P.POST_SUBMIT_OWN,
    P.POST_PUBLISH_OWN,
    P.CAMPAIGN_READ,  # campaigns' briefs, and the progress of one's own variants
}
EXPECTED = {
    Role.ADMIN: EVERYONE | CREATOR_AND_UP | ADMIN_ONLY,
    Role.BRAND_CREATOR: EVERYONE | CREATOR_AND_UP,
    Role.EMPLOYEE: EVERYONE,
}


def test_every_permission_is_classified_and_every_role_has_a_row() -> None:
    assert set(Permission) == ADMIN_ONLY | CREATOR_AND_UP | EVERYONE
    assert set(PERMISSIONS) == set(Role)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_permission_table(role: Role, permission: Permission) -> None:
    expected = permission in EXPECTED[role]
    assert (permission in PERMISSIONS[role]) is expected
    if not permission.value.endswith(("_own", "_any")):
        assert can(principal(role), permission) is expected


@pytest.mark.parametrize(
    "permission", [P.MEMBERS_MANAGE, P.BILLING_MANAGE, P.API_KEYS_MANAGE, P.ORG_MANAGE]
)
def test_only_admins_manage_members_billing_keys_and_settings(permission: Permission) -> None:
    assert can(principal(Role.ADMIN), permission)
    assert not can(principal(Role.BRAND_CREATOR), permission)
    assert not can(principal(Role.EMPLOYEE), permission)


def test_brand_creators_manage_voices_and_review_but_not_members() -> None:
    creator = principal(Role.BRAND_CREATOR)
    assert can(creator, P.BRAND_VOICE_MANAGE)
    assert can(creator, P.POST_REVIEW)
    assert not can(creator, P.MEMBERS_MANAGE)
    employee = principal(Role.EMPLOYEE)
    assert can(employee, P.BRAND_VOICE_READ)
    assert not can(employee, P.BRAND_VOICE_MANAGE)
    assert not can(employee, P.POST_REVIEW)


def test_roles_are_nested() -> None:
    assert PERMISSIONS[Role.EMPLOYEE] < PERMISSIONS[Role.BRAND_CREATOR] < PERMISSIONS[Role.ADMIN]


OWN_ANY = [
    (P.POST_READ_OWN, P.POST_READ_ANY),
    (P.POST_EDIT_OWN, P.POST_EDIT_ANY),
    (P.POST_SUBMIT_OWN, P.POST_SUBMIT_ANY),
    (P.POST_PUBLISH_OWN, P.POST_PUBLISH_ANY),
]


@pytest.mark.parametrize(("own", "any_"), OWN_ANY)
def test_employee_acts_on_own_rows_only(own: Permission, any_: Permission) -> None:
    employee = principal(Role.EMPLOYEE)
    for asked in (own, any_):
        assert can(employee, asked, owner_id=employee.user_id)
        assert not can(employee, asked, owner_id=uuid4())
        # Without an owner there is nothing to be the owner of: only "_any" would do.
        assert not can(employee, asked)


@pytest.mark.parametrize(("own", "any_"), OWN_ANY)
@pytest.mark.parametrize("role", [Role.BRAND_CREATOR, Role.ADMIN])
def test_creators_and_admins_act_on_any_row(role: Role, own: Permission, any_: Permission) -> None:
    who = principal(role)
    for asked in (own, any_):
        assert can(who, asked, owner_id=uuid4())
        assert can(who, asked, owner_id=who.user_id)
        assert can(who, asked)


def test_owner_of_the_same_user_in_another_role_does_not_leak() -> None:
    """Ownership compares the user id, nothing else: another user's row stays another's."""
    employee = principal(Role.EMPLOYEE)
    colleague = principal(Role.EMPLOYEE)
    assert not can(employee, P.POST_EDIT_OWN, owner_id=colleague.user_id)
    assert can(colleague, P.POST_EDIT_OWN, owner_id=colleague.user_id)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_can_answers_every_permission_for_every_role(role: Role, permission: Permission) -> None:
    """Every _own has its _any twin (and back), so no question makes ``can`` blow up."""
    who = principal(role)
    assert isinstance(can(who, permission, owner_id=who.user_id), bool)
    assert isinstance(can(who, permission, owner_id=uuid4()), bool)


def test_authorize_passes_silently_when_allowed() -> None:
    employee = principal(Role.EMPLOYEE)
    authorize(employee, P.POST_EDIT_OWN, owner_id=employee.user_id)
    authorize(principal(Role.ADMIN), P.MEMBERS_MANAGE)


@pytest.mark.parametrize(
    ("role", "permission", "words"),
    [
        (Role.EMPLOYEE, P.POST_REVIEW, ("post", "review")),
        (Role.EMPLOYEE, P.BRAND_VOICE_MANAGE, ("brand", "voice", "manage")),
        (Role.BRAND_CREATOR, P.MEMBERS_MANAGE, ("members", "manage")),
        (Role.BRAND_CREATOR, P.API_KEYS_MANAGE, ("api", "keys", "manage")),
    ],
)
def test_authorize_raises_a_clear_permission_denied(
    role: Role, permission: Permission, words: tuple[str, ...]
) -> None:
    with pytest.raises(PermissionDenied) as info:
        authorize(principal(role), permission)
    message = str(info.value)
    assert f"'{role.value}'" in message
    for word in words:
        assert word in message
    assert info.value.code == "permission_denied"
    assert info.value.details == {"permission": permission.value, "role": role.value}


def test_authorize_refuses_an_employee_on_someone_elses_row() -> None:
    employee = principal(Role.EMPLOYEE)
    with pytest.raises(PermissionDenied, match="employee"):
        authorize(employee, P.POST_EDIT_OWN, owner_id=uuid4())


def test_api_key_principals_follow_the_same_table() -> None:
    key = Principal(
        user_id=uuid4(), organization_id=ORG, role=Role.EMPLOYEE, kind=PrincipalKind.API_KEY
    )
    assert not can(key, P.MEMBERS_MANAGE)
    assert can(key, P.POST_CREATE)
