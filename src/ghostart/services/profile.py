"""A user's own profile and email preferences: each person edits their own, in no organization."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Literal
from uuid import UUID

from ghostart.errors import InvalidInput, NotFound
from ghostart.models import (
    DomainEvent,
    EmailCategory,
    EmailPreferences,
    EventName,
    User,
    as_uuid,
)
from ghostart.services.context import ServiceContext

__all__ = ["UNSET", "ProfileService"]


class _Unset(Enum):
    UNSET = "unset"


#: "Leave this field as it is" (``None`` can not say so: it clears a user's name).
UNSET: Literal[_Unset.UNSET] = _Unset.UNSET


class ProfileService:
    """Reads and changes a user's name, time zone and email preferences.

    Callers pass the id of the user acting on their own profile (the web layer's signed-in user);
    API keys act for an organization and have no profile. Changes are partial: what is not given
    stays. A change that changes something emits an event.
    """

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def get(self, user_id: UUID) -> User:
        """The user ``user_id``."""
        user_id = as_uuid(user_id, "user_id")
        async with self.ctx.store.unit_of_work(readonly=True) as uow:
            user = await uow.users.get(user_id)
        if user is None:
            raise NotFound(f"user {user_id} not found")
        return user

    async def update_profile(
        self,
        user_id: UUID,
        *,
        name: str | Literal[_Unset.UNSET] | None = UNSET,
        timezone: str | Literal[_Unset.UNSET] = UNSET,
        headline: str | Literal[_Unset.UNSET] | None = UNSET,
        about: str | Literal[_Unset.UNSET] | None = UNSET,
        joins_campaigns: bool | Literal[_Unset.UNSET] = UNSET,
    ) -> User:
        """Change the profile; what is not given stays.

        ``name``, ``headline`` and ``about`` (``None`` clears each) and ``joins_campaigns``
        (``False`` opts out of advocacy campaigns) shape campaign variants; ``timezone`` is an
        IANA name.
        """
        fields = {
            "name": name,
            "timezone": timezone,
            "headline": headline,
            "about": about,
            "joins_campaigns": joins_campaigns,
        }
        given: dict[str, Any] = {f: value for f, value in fields.items() if value is not UNSET}
        for field in ("timezone", "joins_campaigns"):
            if field in given and given[field] is None:
                raise InvalidInput(f"{field} can not be cleared", field=field)
        if "joins_campaigns" in given and not isinstance(given["joins_campaigns"], bool):
            raise InvalidInput("joins_campaigns must be true or false", field="joins_campaigns")
        # Validated by the model itself, so the rules are the ones every stored user obeys.
        checked = User.parse(given).model_dump(include=set(given))
        for field in ("name", "headline", "about"):
            if field in checked and checked[field] == "":
                raise InvalidInput(f"{field} must not be blank; send null to clear it", field=field)

        def report(before: User, after: User) -> DomainEvent | None:
            changed = sorted(f for f in checked if getattr(before, f) != getattr(after, f))
            if not changed:
                return None
            return self._event(EventName.USER_PROFILE_UPDATED, after, changed=changed)

        _, after = await self._change(user_id, lambda user: user.model_copy(update=checked), report)
        return after

    async def email_preferences(self, user_id: UUID) -> EmailPreferences:
        """The user's email preferences."""
        return (await self.get(user_id)).email_preferences

    async def set_email_preferences(
        self, user_id: UUID, changes: EmailPreferences | Mapping[str, object]
    ) -> EmailPreferences:
        """Turn optional categories on or off: ``{"digest": False}`` changes the digest only.

        An :class:`EmailPreferences` sets every category it has. ``transactional`` is not a
        preference (that mail is always sent): naming it is :class:`InvalidInput`, as is an
        unknown category or a value that is not a bool.
        """
        if isinstance(changes, EmailPreferences):
            changes = changes.model_dump(include=set(EmailPreferences.model_fields))
        checked = _checked_preferences(changes)

        def apply(user: User) -> User:
            current = user.email_preferences
            # Stored keys this version does not know are carried over untouched.
            merged = EmailPreferences.model_validate(current.model_dump() | checked)
            return user.model_copy(update={"email_preferences": merged})

        def report(before: User, after: User) -> DomainEvent | None:
            old = before.email_preferences
            changed = {k: v for k, v in checked.items() if getattr(old, k) != v}
            if not changed:
                return None
            return self._event(EventName.USER_EMAIL_PREFERENCES_CHANGED, after, **changed)

        _, after = await self._change(user_id, apply, report)
        return after.email_preferences

    async def _change(
        self,
        user_id: UUID,
        change: Callable[[User], User],
        report: Callable[[User, User], DomainEvent | None],
    ) -> tuple[User, User]:
        """Apply ``change`` to the stored user under a row lock; the user before and after.

        The event ``report`` makes of the change (if any) is recorded in the same transaction.
        """
        user_id = as_uuid(user_id, "user_id")
        event: DomainEvent | None = None
        async with self.ctx.store.unit_of_work() as uow:
            await uow.users.lock(user_id)
            current = await uow.users.get(user_id)
            if current is None:
                raise NotFound(f"user {user_id} not found")
            updated = change(current)
            if updated != current and not await uow.users.save_profile(updated):
                raise NotFound(f"user {user_id} not found")
            made = report(current, updated)
            if made is not None:
                event = await self.ctx.record(uow, made)
        if event is not None:
            await self.ctx.dispatch(event)
        return current, updated

    @staticmethod
    def _event(name: str, user: User, **payload: Any) -> DomainEvent:
        return DomainEvent(name=name, payload={"user_id": str(user.id), **payload})


def _checked_preferences(changes: Mapping[str, object]) -> dict[str, bool]:
    optional = [c.value for c in EmailCategory if c is not EmailCategory.TRANSACTIONAL]
    checked: dict[str, bool] = {}
    for key, value in changes.items():
        if key == EmailCategory.TRANSACTIONAL:
            raise InvalidInput(
                "transactional email is always sent; it is not a preference",
                field=EmailCategory.TRANSACTIONAL.value,
            )
        if key not in optional:
            raise InvalidInput(
                f"unknown email category {key!r}; use one of {', '.join(optional)}",
                field=str(key),
            )
        if not isinstance(value, bool):
            raise InvalidInput(f"{key} must be true or false, not {value!r}", field=str(key))
        checked[str(key)] = value
    return checked
