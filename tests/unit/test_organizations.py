"""Organizations and members: creation, roles, the last admin, leaving, tenancy, events."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ghostart.app import Ghostart
from ghostart.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ghostart.models import EventName, OrganizationSettings, Principal, Role
from ghostart.testing import EventRecorder
from tests.support import Team, make_team


async def roles(app: Ghostart, team: Team) -> dict[object, Role]:
    return {m.user_id: m.role for m in await app.organizations.members(team.admin)}


async def test_creator_of_an_organization_is_its_admin(app: Ghostart) -> None:
    user = await app.organizations.ensure_user("founder@example.com", "Founder")
    org, principal = await app.organizations.create(user.id, "Founders Inc")
    assert principal == Principal(user_id=user.id, organization_id=org.id, role=Role.ADMIN)
    assert await app.organizations.principal_for(user.id, org.id) == principal
    members = await app.organizations.members(principal)
    assert [(m.user_id, m.role) for m in members] == [(user.id, Role.ADMIN)]
    assert (await app.organizations.get(principal)).name == "Founders Inc"


async def test_create_and_ensure_user_validate_their_input(app: Ghostart) -> None:
    with pytest.raises(NotFound):
        await app.organizations.create(uuid4(), "Nobody's")
    user = await app.organizations.ensure_user("blank@example.com")
    assert (await app.organizations.ensure_user("blank@example.com")).id == user.id
    with pytest.raises(InvalidInput) as info:
        await app.organizations.create(user.id, "   ")
    assert info.value.field == "name"
    with pytest.raises(InvalidInput):
        await app.organizations.ensure_user("not-an-email")


async def test_add_member_and_duplicates(app: Ghostart, team: Team) -> None:
    user = await app.organizations.ensure_user("new@acme.example.com")
    membership = await app.organizations.add_member(team.admin, user.id, Role.EMPLOYEE)
    assert membership.role is Role.EMPLOYEE
    assert membership.organization_id == team.org.id
    assert (await roles(app, team))[user.id] is Role.EMPLOYEE
    with pytest.raises(Conflict, match="already a member"):
        await app.organizations.add_member(team.admin, user.id, Role.ADMIN)
    assert (await roles(app, team))[user.id] is Role.EMPLOYEE  # the duplicate changed nothing


async def test_add_unknown_user_is_not_found(app: Ghostart, team: Team) -> None:
    before = await roles(app, team)
    with pytest.raises(NotFound):
        await app.organizations.add_member(team.admin, uuid4(), Role.EMPLOYEE)
    assert await roles(app, team) == before


async def test_non_admins_can_not_add_members(app: Ghostart, team: Team) -> None:
    user = await app.organizations.ensure_user("sneaky@acme.example.com")
    for role in (Role.EMPLOYEE, Role.BRAND_CREATOR):
        with pytest.raises(PermissionDenied, match=role.value):
            await app.organizations.add_member(team.as_role(role), user.id, Role.ADMIN)
    assert user.id not in await roles(app, team)
    # Reading the member list is for brand creators and admins.
    with pytest.raises(PermissionDenied):
        await app.organizations.members(team.employee)
    assert len(await app.organizations.members(team.creator)) == 3


async def test_change_role(app: Ghostart, team: Team, events: EventRecorder) -> None:
    updated = await app.organizations.change_role(
        team.admin, team.employee.user_id, Role.BRAND_CREATOR
    )
    assert updated.role is Role.BRAND_CREATOR
    assert (await roles(app, team))[team.employee.user_id] is Role.BRAND_CREATOR
    principal = await app.organizations.principal_for(team.employee.user_id, team.org.id)
    assert principal.role is Role.BRAND_CREATOR
    last = events.events[-1]
    assert last.name == EventName.MEMBER_ROLE_CHANGED
    assert last.organization_id == team.org.id
    assert last.payload == {"user_id": str(team.employee.user_id), "role": "brand_creator"}


async def test_change_role_of_non_member_is_not_found(app: Ghostart, team: Team) -> None:
    outsider = await app.organizations.ensure_user("outsider@example.com")
    with pytest.raises(NotFound):
        await app.organizations.change_role(team.admin, outsider.id, Role.ADMIN)
    with pytest.raises(PermissionDenied):
        await app.organizations.change_role(team.creator, team.employee.user_id, Role.ADMIN)


async def test_last_admin_can_not_be_demoted(app: Ghostart, team: Team) -> None:
    with pytest.raises(Conflict) as info:
        await app.organizations.change_role(team.admin, team.admin.user_id, Role.EMPLOYEE)
    assert "last admin" in str(info.value)
    assert "demote" in str(info.value)
    assert info.value.code == "conflict"
    assert (await roles(app, team))[team.admin.user_id] is Role.ADMIN


async def test_last_admin_can_not_be_removed_or_leave(app: Ghostart, team: Team) -> None:
    with pytest.raises(Conflict) as info:
        await app.organizations.remove_member(team.admin, team.admin.user_id)
    assert "last admin" in str(info.value)
    assert "remove" in str(info.value)
    assert (await roles(app, team))[team.admin.user_id] is Role.ADMIN


async def test_admin_keeping_admin_role_is_not_a_demotion(app: Ghostart, team: Team) -> None:
    same = await app.organizations.change_role(team.admin, team.admin.user_id, Role.ADMIN)
    assert same.role is Role.ADMIN


async def test_with_a_second_admin_the_first_can_be_demoted_then_removed(
    app: Ghostart, team: Team
) -> None:
    await app.organizations.change_role(team.admin, team.creator.user_id, Role.ADMIN)
    second_admin = team.creator.model_copy(update={"role": Role.ADMIN})
    await app.organizations.change_role(second_admin, team.admin.user_id, Role.EMPLOYEE)
    assert (await roles(app, team))[team.admin.user_id] is Role.EMPLOYEE
    # Now the second admin is the last one again.
    with pytest.raises(Conflict):
        await app.organizations.change_role(second_admin, second_admin.user_id, Role.EMPLOYEE)
    await app.organizations.change_role(second_admin, team.admin.user_id, Role.ADMIN)
    await app.organizations.remove_member(second_admin, team.admin.user_id)
    remaining = {m.user_id: m.role for m in await app.organizations.members(second_admin)}
    assert team.admin.user_id not in remaining
    assert remaining[second_admin.user_id] is Role.ADMIN


async def test_admin_can_leave_when_another_admin_exists(app: Ghostart, team: Team) -> None:
    await app.organizations.change_role(team.admin, team.creator.user_id, Role.ADMIN)
    await app.organizations.remove_member(team.admin, team.admin.user_id)
    with pytest.raises(NotFound):
        await app.organizations.principal_for(team.admin.user_id, team.org.id)


async def test_member_can_leave_without_members_manage(
    app: Ghostart, team: Team, events: EventRecorder
) -> None:
    await app.organizations.remove_member(team.employee, team.employee.user_id)
    assert team.employee.user_id not in await roles(app, team)
    with pytest.raises(NotFound, match="organization"):
        await app.organizations.principal_for(team.employee.user_id, team.org.id)
    assert events.events[-1].name == EventName.MEMBER_REMOVED
    assert events.events[-1].payload == {"user_id": str(team.employee.user_id)}


async def test_employee_can_not_remove_someone_else(app: Ghostart, team: Team) -> None:
    with pytest.raises(PermissionDenied):
        await app.organizations.remove_member(team.employee, team.creator.user_id)
    assert team.creator.user_id in await roles(app, team)


async def test_removing_a_non_member_is_not_found(app: Ghostart, team: Team) -> None:
    with pytest.raises(NotFound):
        await app.organizations.remove_member(team.admin, uuid4())


async def test_principal_for_unknown_organization_is_not_found(app: Ghostart, team: Team) -> None:
    with pytest.raises(NotFound, match="organization"):
        await app.organizations.principal_for(team.admin.user_id, uuid4())


async def test_principal_for_non_member_is_not_found_like_a_missing_organization(
    app: Ghostart, team: Team
) -> None:
    outsider = await app.organizations.ensure_user("outsider@example.com")
    with pytest.raises(NotFound) as member_of_none:
        await app.organizations.principal_for(outsider.id, team.org.id)
    missing_id = uuid4()
    with pytest.raises(NotFound) as missing:
        await app.organizations.principal_for(outsider.id, missing_id)
    assert str(member_of_none.value).replace(str(team.org.id), "X") == str(missing.value).replace(
        str(missing_id), "X"
    )


async def test_members_are_scoped_to_their_organization(app: Ghostart, team: Team) -> None:
    other = await make_team(app, "Other")
    # An admin of Acme can not touch Other's members, even by id.
    with pytest.raises(NotFound):
        await app.organizations.change_role(team.admin, other.employee.user_id, Role.ADMIN)
    with pytest.raises(NotFound):
        await app.organizations.remove_member(team.admin, other.employee.user_id)
    with pytest.raises(NotFound):
        await app.organizations.principal_for(other.admin.user_id, team.org.id)
    assert {m.organization_id for m in await app.organizations.members(other.admin)} == {
        other.org.id
    }
    assert len(await app.organizations.members(other.admin)) == 3


async def test_member_events(app: Ghostart, events: EventRecorder) -> None:
    team = await make_team(app, "Evented")
    added = [e for e in events.events if e.name == EventName.MEMBER_ADDED]
    assert [e.payload for e in added] == [
        {"user_id": str(team.creator.user_id), "role": "brand_creator"},
        {"user_id": str(team.employee.user_id), "role": "employee"},
    ]
    assert {e.organization_id for e in added} == {team.org.id}
    seen = len(events.events)
    await app.organizations.change_role(team.admin, team.employee.user_id, Role.BRAND_CREATOR)
    await app.organizations.remove_member(team.admin, team.employee.user_id)
    assert events.names()[seen:] == [EventName.MEMBER_ROLE_CHANGED, EventName.MEMBER_REMOVED]


async def test_failed_member_changes_emit_nothing(
    app: Ghostart, team: Team, events: EventRecorder
) -> None:
    seen = len(events.events)
    with pytest.raises(Conflict):
        await app.organizations.remove_member(team.admin, team.admin.user_id)
    with pytest.raises(Conflict):
        await app.organizations.add_member(team.admin, team.employee.user_id, Role.EMPLOYEE)
    assert len(events.events) == seen


async def test_update_settings_by_admin(app: Ghostart, team: Team) -> None:
    assert (await app.organizations.get(team.employee)).settings.employee_posts_need_approval
    settings = OrganizationSettings(employee_posts_need_approval=False, timezone="Europe/Paris")
    org = await app.organizations.update_settings(team.admin, settings)
    assert org.settings == settings
    assert (await app.organizations.get(team.employee)).settings == settings


async def test_update_settings_refused_to_non_admins(app: Ghostart, team: Team) -> None:
    for role in (Role.EMPLOYEE, Role.BRAND_CREATOR):
        with pytest.raises(PermissionDenied, match=role.value):
            await app.organizations.update_settings(
                team.as_role(role), OrganizationSettings(employee_posts_need_approval=False)
            )
    assert (await app.organizations.get(team.admin)).settings.employee_posts_need_approval


async def test_update_settings_validates_a_mapping(app: Ghostart, team: Team) -> None:
    with pytest.raises(InvalidInput) as info:
        await app.organizations.update_settings(team.admin, {"timezone": "x" * 65})  # type: ignore[arg-type]
    assert info.value.field == "timezone"


async def test_add_member_accepts_a_role_given_as_text(app: Ghostart, team: Team) -> None:
    user = await app.organizations.ensure_user("texty@acme.example.com")
    membership = await app.organizations.add_member(team.admin, user.id, "employee")  # type: ignore[arg-type]
    assert membership.role is Role.EMPLOYEE


async def test_unknown_role_is_invalid_input(app: Ghostart, team: Team) -> None:
    with pytest.raises(InvalidInput):
        await app.organizations.change_role(team.admin, team.employee.user_id, "owner")  # type: ignore[arg-type]


async def test_settings_reject_an_unknown_time_zone(app: Ghostart, team: Team) -> None:
    with pytest.raises(InvalidInput):
        await app.organizations.update_settings(team.admin, {"timezone": "Mars/Olympus"})  # type: ignore[arg-type]
