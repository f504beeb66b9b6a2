"""Plans and quotas."""

from __future__ import annotations

from pydantic import Field

from ghostart.models.base import DomainModel

__all__ = ["Plan"]


class Plan(DomainModel):
    """What an organization may do per calendar month (UTC). ``None`` means unlimited."""

    name: str = Field(min_length=1, max_length=80)
    monthly_generations: int | None = Field(default=None, ge=0)
    seats: int | None = Field(default=None, ge=0)
    #: Campaigns the organization may start per billing period.
    campaigns: int | None = Field(default=None, ge=0)
    #: Whether API keys may be created and used.
    api_access: bool = True
