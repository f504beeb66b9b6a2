"""Every email ghostart sends: its template, category, subject and the data it needs.

Each template's data is a pydantic model, so an event handler that forgets a field fails when it
builds the email, not in a half-rendered message. Links are ``HttpUrl``: only ``http`` and
``https`` reach an ``href``. Each entry carries sample data, which ``ghostart email preview NAME``
renders and the tests check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, HttpUrl

from ghostart.models import EmailCategory, TimeZoneName

__all__ = [
    "TEMPLATES",
    "AccountEmail",
    "BillingEmail",
    "DigestEmail",
    "DigestItem",
    "EmailContext",
    "GenerationFailedEmail",
    "PostEmail",
    "PublishFailedEmail",
    "ReconnectEmail",
    "TemplateSpec",
]


class EmailContext(BaseModel):
    """What every email shows: who it is for, which organization, where the app is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    recipient_name: str | None = Field(default=None, max_length=200)
    organization_name: str | None = Field(default=None, max_length=200)
    app_url: HttpUrl
    #: The recipient's IANA time zone: every time in the email is shown in it.
    timezone: TimeZoneName = "UTC"


class PostEmail(EmailContext):
    """An email about one post: a draft, a review, a publication."""

    post_body: str = Field(max_length=10_000)
    post_url: HttpUrl
    author_name: str | None = Field(default=None, max_length=200)
    reviewer_name: str | None = Field(default=None, max_length=200)
    #: The reviewer's note on a rejection.
    note: str | None = Field(default=None, max_length=2000)
    scheduled_for: datetime | None = None
    #: The post on LinkedIn, once published.
    linkedin_url: HttpUrl | None = None
    ai_generated: bool = False
    campaign_name: str | None = Field(default=None, max_length=200)


class GenerationFailedEmail(EmailContext):
    """A draft could not be written."""

    topic: str = Field(max_length=500)
    error: str = Field(max_length=2000)
    #: Moderation refused the content (as opposed to a provider failing).
    rejected: bool = False
    request_url: HttpUrl


class PublishFailedEmail(EmailContext):
    """A scheduled post did not reach LinkedIn."""

    post_body: str = Field(max_length=10_000)
    post_url: HttpUrl
    error: str = Field(max_length=2000)
    #: The failure was LinkedIn refusing the connection: reconnecting is the fix.
    needs_reconnect: bool = False
    reconnect_url: HttpUrl | None = None


class AccountEmail(EmailContext):
    """Membership and billing changes."""

    role: str | None = Field(default=None, max_length=50)
    actor_name: str | None = Field(default=None, max_length=200)
    plan: str | None = Field(default=None, max_length=100)


class BillingEmail(EmailContext):
    """A payment failed, or a trial ends soon: to the organization's admins."""

    plan: str | None = Field(default=None, max_length=100)
    billing_url: HttpUrl
    #: When the provider tries the payment again.
    retry_at: datetime | None = None
    trial_ends_at: datetime | None = None


class ReconnectEmail(EmailContext):
    """LinkedIn access has expired or is about to."""

    reconnect_url: HttpUrl
    expires_at: datetime | None = None
    expired: bool = False


class DigestItem(BaseModel):
    """One post in the weekly digest."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    post_body: str = Field(max_length=10_000)
    status: str = Field(max_length=30)
    url: HttpUrl
    author_name: str | None = Field(default=None, max_length=200)


class DigestEmail(EmailContext):
    """The weekly digest of one organization, for one member."""

    period_start: datetime
    period_end: datetime
    generated: int = Field(default=0, ge=0)
    in_review: int = Field(default=0, ge=0)
    scheduled: int = Field(default=0, ge=0)
    published: int = Field(default=0, ge=0)
    failed: int = Field(default=0, ge=0)
    items: list[DigestItem] = Field(default_factory=list, max_length=50)


@dataclass(frozen=True)
class TemplateSpec:
    """One email: ``{name}.html`` and ``{name}.txt`` under ``ghostart/email/templates``."""

    name: str
    category: EmailCategory
    #: A Jinja expression of the subject, rendered as text and kept to one line.
    subject: str
    context: type[EmailContext]
    description: str
    sample: dict[str, Any] = field(default_factory=dict, repr=False)


_APP = "https://app.ghostart.example"
_BODY = (
    "Most hiring problems are onboarding problems in disguise.\n\n"
    "When a new engineer struggles, we blame the hire. In my experience the first two weeks "
    "decide more than the interview did: a named mentor, a first change shipped in days.\n\n"
    "What did your best first week look like? #Hiring #Engineering"
)
_BASE: dict[str, Any] = {
    "recipient_name": "Ada",
    "organization_name": "Acme Robotics",
    "app_url": _APP,
    "timezone": "Europe/Paris",
}
_POST: dict[str, Any] = _BASE | {"post_body": _BODY, "post_url": f"{_APP}/posts/7d1c"}

_N, _T, _D = EmailCategory.NOTIFICATIONS, EmailCategory.TRANSACTIONAL, EmailCategory.DIGEST

_SPECS = [
    TemplateSpec(
        "draft_ready",
        _N,
        "Your draft is ready for review",
        PostEmail,
        "content.generated: a draft waits for its author",
        _POST | {"ai_generated": True},
    ),
    TemplateSpec(
        "generation_failed",
        _N,
        "We could not draft your post",
        GenerationFailedEmail,
        "content.failed: the generation failed or was refused",
        _BASE
        | {
            "topic": "Why our team writes design docs",
            "error": "moderation flagged the draft (harassment); it was not kept",
            "rejected": True,
            "request_url": f"{_APP}/posts/new",
        },
    ),
    TemplateSpec(
        "review_requested",
        _N,
        "{{ author_name or 'A teammate' }} asks you to review a post",
        PostEmail,
        "post.submitted: reviewers are asked to approve or reject",
        _POST | {"author_name": "Grace"},
    ),
    TemplateSpec(
        "post_approved",
        _N,
        "Your post was approved",
        PostEmail,
        "post.approved: the author learns it may be scheduled",
        _POST | {"reviewer_name": "Grace"},
    ),
    TemplateSpec(
        "post_rejected",
        _N,
        "Your post needs changes",
        PostEmail,
        "post.rejected: the author gets the reviewer's note",
        _POST | {"reviewer_name": "Grace", "note": "Shorter hook, and drop the second hashtag."},
    ),
    TemplateSpec(
        "post_scheduled",
        _N,
        "Your post is scheduled",
        PostEmail,
        "post.scheduled: when it will go out",
        _POST | {"scheduled_for": "2026-12-01T08:30:00Z"},
    ),
    TemplateSpec(
        "post_published",
        _N,
        "Your post is live on LinkedIn",
        PostEmail,
        "post.published: with the link to the post",
        _POST | {"linkedin_url": "https://www.linkedin.com/feed/update/urn:li:share:7012345678"},
    ),
    TemplateSpec(
        "publish_failed",
        _N,
        "Your post was not published",
        PublishFailedEmail,
        "post.failed: why, and what to do",
        _BASE
        | {
            "post_body": _BODY,
            "post_url": f"{_APP}/posts/7d1c",
            "error": "LinkedIn refused the access token (401)",
            "needs_reconnect": True,
            "reconnect_url": f"{_APP}/settings/linkedin",
        },
    ),
    TemplateSpec(
        "campaign_post_ready",
        _N,
        "A post for the {{ campaign_name or 'new' }} campaign is ready for you",
        PostEmail,
        "campaign.created: each participant's own variant",
        _POST | {"campaign_name": "Spring launch", "author_name": "Grace", "ai_generated": True},
    ),
    TemplateSpec(
        "member_added",
        _T,
        "You were added to {{ organization_name or 'an organization' }} on ghostart",
        AccountEmail,
        "member.added: the new member learns their role",
        _BASE | {"role": "editor", "actor_name": "Grace"},
    ),
    TemplateSpec(
        "member_role_changed",
        _T,
        "Your role in {{ organization_name or 'your organization' }} changed",
        AccountEmail,
        "member.role_changed",
        _BASE | {"role": "admin", "actor_name": "Grace"},
    ),
    TemplateSpec(
        "member_removed",
        _T,
        "You were removed from {{ organization_name or 'an organization' }}",
        AccountEmail,
        "member.removed",
        _BASE | {"actor_name": "Grace"},
    ),
    TemplateSpec(
        "plan_changed",
        _T,
        "{{ organization_name or 'Your organization' }} is now on the {{ plan or 'new' }} plan",
        AccountEmail,
        "billing.plan_changed: to the organization's admins",
        _BASE | {"plan": "Team"},
    ),
    TemplateSpec(
        "payment_failed",
        _T,
        "A payment for {{ organization_name or 'your organization' }} failed",
        BillingEmail,
        "billing.payment_failed: to the organization's admins, with what to do",
        _BASE
        | {
            "plan": "Team",
            "billing_url": f"{_APP}/settings/billing",
            "retry_at": "2026-12-07T09:00:00Z",
        },
    ),
    TemplateSpec(
        "trial_ending",
        _T,
        "The trial of {{ organization_name or 'your organization' }} ends soon",
        BillingEmail,
        "billing.trial_ending: to the organization's admins",
        _BASE
        | {
            "plan": "Team",
            "billing_url": f"{_APP}/settings/billing",
            "trial_ends_at": "2026-12-10T00:00:00Z",
        },
    ),
    TemplateSpec(
        "linkedin_reconnect",
        _T,
        "{% if expired %}Reconnect LinkedIn to keep publishing"
        "{% else %}Your LinkedIn connection expires soon{% endif %}",
        ReconnectEmail,
        "linkedin.connection.expiring / needs_reconnect: LinkedIn access expires or expired",
        _BASE
        | {"reconnect_url": f"{_APP}/settings/linkedin", "expires_at": "2026-12-04T09:00:00Z"},
    ),
    TemplateSpec(
        "weekly_digest",
        _D,
        "Your week on LinkedIn: {{ published }} published, {{ in_review }} waiting for review",
        DigestEmail,
        "scheduled: the weekly digest, in each member's time zone",
        _BASE
        | {
            "period_start": "2026-11-23T00:00:00+01:00",
            "period_end": "2026-11-30T00:00:00+01:00",
            "generated": 6,
            "in_review": 2,
            "scheduled": 1,
            "published": 3,
            "failed": 0,
            "items": [
                {"post_body": _BODY, "status": "published", "url": f"{_APP}/posts/7d1c"},
                {
                    "post_body": "Design docs are for the reader, not the writer.",
                    "status": "in_review",
                    "url": f"{_APP}/posts/91ab",
                    "author_name": "Grace",
                },
            ],
        },
    ),
]

#: Every email by name.
TEMPLATES: dict[str, TemplateSpec] = {spec.name: spec for spec in _SPECS}
