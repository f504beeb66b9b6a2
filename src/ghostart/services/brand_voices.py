"""Brand voices: created and edited by brand creators and admins, read by every member."""

from __future__ import annotations

from uuid import UUID

from ghostart.errors import Conflict, NotFound
from ghostart.models import BrandVoice, BrandVoiceSpec, Principal, as_uuid
from ghostart.rbac import Permission, authorize
from ghostart.services.context import ServiceContext

__all__ = ["BrandVoiceService"]


class BrandVoiceService:
    """CRUD for brand voices; every edit bumps ``version`` (which invalidates cached drafts)."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    async def create(
        self, principal: Principal, spec: BrandVoiceSpec | dict[str, object]
    ) -> BrandVoice:
        """Add a brand voice."""
        authorize(principal, Permission.BRAND_VOICE_MANAGE)
        parsed = BrandVoiceSpec.parse(spec)
        now = self.ctx.clock.now()
        voice = BrandVoice(
            **parsed.model_dump(),
            organization_id=principal.organization_id,
            created_at=now,
            updated_at=now,
        )
        async with self.ctx.store.unit_of_work(principal) as uow:
            await uow.brand_voices.add(voice)
        return voice

    async def get(self, principal: Principal, voice_id: UUID) -> BrandVoice:
        """One brand voice of the principal's organization."""
        authorize(principal, Permission.BRAND_VOICE_READ)
        voice_id = as_uuid(voice_id, "voice_id")
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            voice = await uow.brand_voices.get(principal.organization_id, voice_id)
        if voice is None:
            raise NotFound(f"brand voice {voice_id} not found")
        return voice

    async def list(self, principal: Principal) -> list[BrandVoice]:
        """Every brand voice of the organization, oldest first."""
        authorize(principal, Permission.BRAND_VOICE_READ)
        async with self.ctx.store.unit_of_work(principal, readonly=True) as uow:
            return await uow.brand_voices.list(principal.organization_id)

    async def update(
        self,
        principal: Principal,
        voice_id: UUID,
        spec: BrandVoiceSpec | dict[str, object],
        *,
        expected_version: int | None = None,
    ) -> BrandVoice:
        """Replace the editable fields; ``expected_version`` guards against lost updates."""
        authorize(principal, Permission.BRAND_VOICE_MANAGE)
        parsed = BrandVoiceSpec.parse(spec)
        voice_id = as_uuid(voice_id, "voice_id")
        async with self.ctx.store.unit_of_work(principal) as uow:
            current = await uow.brand_voices.get(principal.organization_id, voice_id)
            if current is None:
                raise NotFound(f"brand voice {voice_id} not found")
            if expected_version is not None and expected_version != current.version:
                raise Conflict(f"brand voice changed meanwhile (now version {current.version})")
            updated = BrandVoice(
                **parsed.model_dump(),
                id=current.id,
                organization_id=current.organization_id,
                version=current.version + 1,
                created_at=current.created_at,
                updated_at=self.ctx.clock.now(),
            )
            if not await uow.brand_voices.update(updated, expected_version=current.version):
                raise Conflict("brand voice changed meanwhile; reload and try again")
        return updated

    async def delete(self, principal: Principal, voice_id: UUID) -> None:
        """Remove a brand voice (posts keep their text)."""
        authorize(principal, Permission.BRAND_VOICE_MANAGE)
        voice_id = as_uuid(voice_id, "voice_id")
        async with self.ctx.store.unit_of_work(principal) as uow:
            if not await uow.brand_voices.delete(principal.organization_id, voice_id):
                raise NotFound(f"brand voice {voice_id} not found")
