"""A user's own profile and email preferences: the model, the rules, the service and its events."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from ghostart.app import Ghostart
from ghostart.errors import InvalidInput, NotFound
from ghostart.models import (
    EmailCategory,
    EmailPreferences,
    EventName,
    OrganizationSettings,
    User,
)
from ghostart.testing import EventRecorder

# --- the model ---


def test_transactional_mail_is_always_allowed() -> None:
    everything_off = EmailPreferences(notifications=False, digest=False)
    assert everything_off.allows(EmailCategory.TRANSACTIONAL)
    assert everything_off.allows("transactional")
    assert not everything_off.allows(EmailCategory.NOTIFICATIONS)
    assert not everything_off.allows("digest")
    # A stored "transactional": false (or a caller's) is not a preference and changes nothing.
    stored = EmailPreferences.model_validate({"transactional": False})
    assert stored.allows("transactional") and "transactional" not in stored.model_dump()


def test_optional_categories_default_on_and_follow_their_field() -> None:
    prefs = EmailPreferences()
    assert all(prefs.allows(c) for c in EmailCategory)
    assert EmailPreferences(digest=False).allows("notifications")
    assert not EmailPreferences(digest=False).allows("digest")
    with pytest.raises(ValueError):
        prefs.allows("marketing")


def test_every_optional_category_is_a_preference_field() -> None:
    optional = {c.value for c in EmailCategory} - {EmailCategory.TRANSACTIONAL.value}
    assert set(EmailPreferences.model_fields) == optional


def test_stored_preferences_load_tolerantly_and_keep_unknown_keys() -> None:
    stored = {"digest": False, "marketing": False, "frequency": {"weekly": True}}
    prefs = EmailPreferences.model_validate(stored)
    assert prefs.digest is False and prefs.notifications is True
    assert prefs.model_dump() == {"notifications": True, "digest": False} | {
        "marketing": False,
        "frequency": {"weekly": True},
    }
    assert EmailPreferences.model_validate({}) == EmailPreferences()
    user = User.model_validate({"email": "a@example.com", "email_preferences": stored})
    assert user.email_preferences == prefs


@pytest.mark.parametrize("zone", ["Mars/Olympus", "", "Europe/", "../etc/passwd", "x" * 65])
def test_user_and_organization_time_zones_share_one_rule(zone: str) -> None:
    with pytest.raises(InvalidInput) as user_error:
        User.parse({"timezone": zone})
    with pytest.raises(InvalidInput) as org_error:
        OrganizationSettings.parse({"timezone": zone})
    assert user_error.value.field == org_error.value.field == "timezone"
    assert str(user_error.value) == str(org_error.value)


def test_a_user_defaults_to_utc_and_takes_iana_names() -> None:
    assert User().timezone == "UTC"
    assert User.parse({"timezone": " America/Sao_Paulo "}).timezone == "America/Sao_Paulo"


# --- the service ---


async def _user(app: Ghostart, email: str = "ada@example.com") -> User:
    return await app.organizations.sign_in(uuid4(), email, "Ada")


async def test_update_profile_changes_only_what_is_given(
    app: Ghostart, events: EventRecorder
) -> None:
    user = await _user(app)
    changed = await app.profiles.update_profile(user.id, timezone="Europe/Paris")
    assert (changed.name, changed.timezone) == ("Ada", "Europe/Paris")
    renamed = await app.profiles.update_profile(user.id, name="  Ada Lovelace ")
    assert (renamed.name, renamed.timezone) == ("Ada Lovelace", "Europe/Paris")
    cleared = await app.profiles.update_profile(user.id, name=None)
    assert cleared.name is None
    stored = await app.profiles.get(user.id)
    assert stored == cleared and stored.email == user.email and stored.created_at == user.created_at
    profile_events = [e for e in events.events if e.name == EventName.USER_PROFILE_UPDATED]
    assert [e.payload for e in profile_events] == [
        {"user_id": str(user.id), "changed": ["timezone"]},
        {"user_id": str(user.id), "changed": ["name"]},
        {"user_id": str(user.id), "changed": ["name"]},
    ]
    assert all(e.organization_id is None for e in profile_events)


async def test_an_update_that_changes_nothing_emits_nothing(
    app: Ghostart, events: EventRecorder
) -> None:
    user = await _user(app)
    seen = len(events.events)
    assert await app.profiles.update_profile(user.id, name="Ada", timezone="UTC") == user
    assert await app.profiles.update_profile(user.id) == user
    assert await app.profiles.set_email_preferences(user.id, {"digest": True}) == EmailPreferences()
    assert events.events[seen:] == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"name": "   "}, "name"),
        ({"name": "n" * 201}, "name"),
    ],
)
async def test_bad_profile_changes_are_refused_and_change_nothing(
    app: Ghostart, changes: dict[str, object], field: str
) -> None:
    user = await _user(app)
    with pytest.raises(InvalidInput) as info:
        await app.profiles.update_profile(user.id, **changes)  # type: ignore[arg-type]
    assert info.value.field == field
    assert await app.profiles.get(user.id) == user


async def test_email_preferences_are_a_partial_update(app: Ghostart, events: EventRecorder) -> None:
    user = await _user(app)
    assert await app.profiles.email_preferences(user.id) == EmailPreferences()
    prefs = await app.profiles.set_email_preferences(user.id, {"digest": False})
    assert prefs == EmailPreferences(notifications=True, digest=False)
    prefs = await app.profiles.set_email_preferences(user.id, {EmailCategory.NOTIFICATIONS: False})
    assert prefs == EmailPreferences(notifications=False, digest=False)
    assert await app.profiles.email_preferences(user.id) == prefs
    assert (await app.profiles.get(user.id)).timezone == "UTC"  # the rest of the profile stays
    whole = await app.profiles.set_email_preferences(user.id, EmailPreferences(digest=False))
    assert whole == EmailPreferences(notifications=True, digest=False)
    changes = [
        e.payload for e in events.events if e.name == EventName.USER_EMAIL_PREFERENCES_CHANGED
    ]
    assert changes == [
        {"user_id": str(user.id), "digest": False},
        {"user_id": str(user.id), "notifications": False},
        {"user_id": str(user.id), "notifications": True},
    ]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"transactional": False}, "transactional", "always sent"),
        ({"transactional": True}, "transactional", "always sent"),
        ({"marketing": False}, "marketing", "unknown email category"),
        ({"digest": "no"}, "digest", "true or false"),
        ({"notifications": None}, "notifications", "true or false"),
        ({"digest": 0}, "digest", "true or false"),
    ],
)
async def test_bad_preference_changes_are_refused_and_change_nothing(
    app: Ghostart, changes: dict[str, object], field: str, message: str
) -> None:
    user = await _user(app)
    with pytest.raises(InvalidInput, match=message) as info:
        await app.profiles.set_email_preferences(user.id, {"notifications": False} | changes)
    assert info.value.field == field
    assert await app.profiles.email_preferences(user.id) == EmailPreferences()


async def test_keys_from_a_newer_version_survive_a_change(app: Ghostart) -> None:
    user = await _user(app)
    newer = EmailPreferences.model_validate({"marketing": False})
    async with app.store.unit_of_work() as uow:
        await uow.users.save_profile(user.model_copy(update={"email_preferences": newer}))
    prefs = await app.profiles.set_email_preferences(user.id, {"digest": False})
    await app.profiles.update_profile(user.id, timezone="Asia/Tokyo")
    stored = (await app.profiles.get(user.id)).email_preferences
    assert stored == prefs
    assert stored.model_dump() == {"notifications": True, "digest": False, "marketing": False}


async def test_concurrent_changes_of_one_user_are_all_kept(app: Ghostart) -> None:
    user = await _user(app)
    await asyncio.gather(
        app.profiles.set_email_preferences(user.id, {"digest": False}),
        app.profiles.set_email_preferences(user.id, {"notifications": False}),
        app.profiles.update_profile(user.id, timezone="Europe/Oslo"),
        app.profiles.update_profile(user.id, name="Ada L."),
    )
    stored = await app.profiles.get(user.id)
    assert stored.email_preferences == EmailPreferences(notifications=False, digest=False)
    assert (stored.timezone, stored.name) == ("Europe/Oslo", "Ada L.")


async def test_one_users_changes_leave_everyone_else_alone(app: Ghostart) -> None:
    ada, bob = await _user(app), await _user(app, "bob@example.com")
    await app.profiles.update_profile(ada.id, name="Ada", timezone="Europe/London")
    await app.profiles.set_email_preferences(ada.id, {"notifications": False, "digest": False})
    assert await app.profiles.get(bob.id) == bob


async def test_an_unknown_user_is_not_found(app: Ghostart) -> None:
    nobody = uuid4()
    with pytest.raises(NotFound):
        await app.profiles.get(nobody)
    with pytest.raises(NotFound):
        await app.profiles.update_profile(nobody, timezone="UTC")
    with pytest.raises(NotFound):
        await app.profiles.set_email_preferences(nobody, {"digest": False})
    with pytest.raises(InvalidInput) as info:
        await app.profiles.get("not-a-uuid")  # type: ignore[arg-type]
    assert info.value.field == "user_id"
