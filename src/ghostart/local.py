"""The local workspace the CLI uses: one user and its organizations, remembered under ``home``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import UUID

from ghostart.app import Ghostart
from ghostart.models import Principal, User

__all__ = ["DEFAULT_ORGANIZATION", "local_principal"]

DEFAULT_ORGANIZATION = "Local organization"


async def local_principal(
    app: Ghostart, organization: str = DEFAULT_ORGANIZATION
) -> tuple[Principal, bool]:
    """The local admin of ``organization``, created (with a default brand voice) on first use.

    Returns the principal and whether anything was created.
    """
    path: Path = app.settings.home / "local.json"
    state = await asyncio.to_thread(_read, path)
    orgs: dict[str, str] = dict(state.get("organizations", {}))  # type: ignore[call-overload]
    created = False
    user_id = UUID(str(state["user_id"])) if "user_id" in state else None
    if user_id is not None:
        async with app.store.unit_of_work(readonly=True) as uow:
            if await uow.users.get(user_id) is None:  # the database was reset
                user_id, orgs = None, {}
    if user_id is None:
        user = User(name="Local user")
        async with app.store.unit_of_work() as uow:
            await uow.users.add(user)
        user_id, created = user.id, True
    if organization in orgs:
        principal = await app.organizations.principal_for(user_id, UUID(orgs[organization]))
    else:
        org, principal = await app.organizations.create(user_id, organization)
        await app.brand_voices.create(principal, {"name": "Default voice"})
        orgs[organization] = str(org.id)
        created = True
    if created:
        await asyncio.to_thread(_write, path, {"user_id": str(user_id), "organizations": orgs})
    return principal, created


def _read(path: Path) -> dict[str, object]:
    return json.loads(path.read_text()) if path.exists() else {}


def _write(path: Path, state: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(state, indent=2))
