"""Which domain event sends which email to whom: one table, read by the email event handler.

The handler (``ghostart.email.service``, see ``docs/email.md``) turns each committed event into
outbox rows: for every rule of the event's name, it resolves the recipients, drops those whose
preferences or suppression say no (transactional mail always goes), and writes one row per recipient with the
key from :func:`email_idempotency_key`. The key is unique per event, template and user, so an event
delivered twice to the handler writes its rows once, and every retry of a row sends with the same
key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ghostart.email.catalog import TEMPLATES
from ghostart.models import EmailCategory, EventName, Permission

__all__ = [
    "EVENT_EMAILS",
    "REVIEW_PERMISSION",
    "EmailRule",
    "Recipients",
    "digest_idempotency_key",
    "email_idempotency_key",
    "rules_for",
]


class Recipients(StrEnum):
    """Who, relative to an event, gets its email."""

    #: The post's author: ``payload["author_id"]`` (``author_ids`` for a generation).
    AUTHOR = "author"
    #: Members of the event's organization who hold ``post.review``, except the author.
    REVIEWERS = "reviewers"
    #: The member the event is about: ``payload["user_id"]``.
    SUBJECT = "subject"
    #: The organization's admins.
    ADMINS = "admins"
    #: The authors of ``payload["post_ids"]`` (each campaign participant, for their own post).
    POST_AUTHORS = "post_authors"


@dataclass(frozen=True)
class EmailRule:
    """One email an event sends."""

    event: str
    recipients: Recipients
    template: str

    @property
    def category(self) -> EmailCategory:
        """The template's category, which decides whether preferences apply."""
        return TEMPLATES[self.template].category


#: The permission that makes a member a reviewer.
REVIEW_PERMISSION = Permission.POST_REVIEW

#: Every email a domain event sends. Events not listed send none.
EVENT_EMAILS: tuple[EmailRule, ...] = (
    EmailRule(EventName.CONTENT_GENERATED, Recipients.AUTHOR, "draft_ready"),
    EmailRule(EventName.CONTENT_FAILED, Recipients.AUTHOR, "generation_failed"),
    EmailRule(EventName.POST_SUBMITTED, Recipients.REVIEWERS, "review_requested"),
    EmailRule(EventName.POST_APPROVED, Recipients.AUTHOR, "post_approved"),
    EmailRule(EventName.POST_REJECTED, Recipients.AUTHOR, "post_rejected"),
    EmailRule(EventName.POST_SCHEDULED, Recipients.AUTHOR, "post_scheduled"),
    EmailRule(EventName.POST_PUBLISHED, Recipients.AUTHOR, "post_published"),
    EmailRule(EventName.POST_FAILED, Recipients.AUTHOR, "publish_failed"),
    EmailRule(EventName.CAMPAIGN_CREATED, Recipients.POST_AUTHORS, "campaign_post_ready"),
    EmailRule(EventName.MEMBER_ADDED, Recipients.SUBJECT, "member_added"),
    EmailRule(EventName.MEMBER_ROLE_CHANGED, Recipients.SUBJECT, "member_role_changed"),
    EmailRule(EventName.MEMBER_REMOVED, Recipients.SUBJECT, "member_removed"),
    EmailRule(EventName.BILLING_PLAN_CHANGED, Recipients.ADMINS, "plan_changed"),
    EmailRule(EventName.BILLING_PAYMENT_FAILED, Recipients.ADMINS, "payment_failed"),
    EmailRule(EventName.BILLING_TRIAL_ENDING, Recipients.ADMINS, "trial_ending"),
    EmailRule(EventName.LINKEDIN_EXPIRING, Recipients.SUBJECT, "linkedin_reconnect"),
    EmailRule(EventName.LINKEDIN_NEEDS_RECONNECT, Recipients.SUBJECT, "linkedin_reconnect"),
)


def rules_for(event_name: str) -> list[EmailRule]:
    """The emails ``event_name`` sends (none for an event not in the table)."""
    return [rule for rule in EVENT_EMAILS if rule.event == event_name]


def email_idempotency_key(event_id: UUID, template: str, user_id: UUID) -> str:
    """The outbox key of one event's email to one user: the same however often it is derived."""
    return f"email:{event_id.hex}:{template}:{user_id.hex}"


def digest_idempotency_key(user_id: UUID, organization_id: UUID, slot_start: datetime) -> str:
    """The key of one member's digest for the weekly slot starting at ``slot_start``.

    ``slot_start`` is converted to UTC, so the same slot computed in any time zone or by any
    worker gives the same key, and the digest is sent once.
    """
    if slot_start.tzinfo is None:
        raise ValueError("slot_start must be timezone-aware")
    stamp = slot_start.timestamp()
    return f"digest:{organization_id.hex}:{user_id.hex}:{int(stamp)}"
