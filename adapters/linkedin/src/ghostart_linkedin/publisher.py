"""The LinkedIn publisher: posts on the Posts API, found again after an ambiguous failure.

:meth:`LinkedInPublisher.publish` (the :class:`~ghostart.ports.Publisher` port) posts a
request's text in its author's name. :meth:`LinkedInPublisher.publish_post` posts a
:class:`LinkedInPost`: text, an article link or an image, as the member or as a company page
(through the organization app's connection).

Never twice, at the adapter's level:

- the commentary is escaped and its length checked before anything is sent;
- ``POST /rest/posts`` is made once per call and never repeated here: a timeout or dropped
  connection after sending is a :class:`~ghostart.errors.TransientError` with
  ``ambiguous=True``, and the caller asks :meth:`find` before trying again;
- :meth:`find` reads the author's recent posts (``GET /rest/posts?q=author``) and matches the
  text as a member sees it;
- LinkedIn's 422 ``DUPLICATE_POST`` on a retry is :class:`~ghostart.errors.DuplicateContent`
  carrying the existing post's URN.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote
from uuid import UUID

import httpx
from pydantic import BaseModel, ConfigDict, Field

from ghostart.errors import InvalidInput, PermanentError, TransientError
from ghostart.ports import Clock, Monitor, Publication, PublishRequest
from ghostart_linkedin import little
from ghostart_linkedin.api import ApiSession, LinkedInAPI
from ghostart_linkedin.connections import ConnectionKey
from ghostart_linkedin.errors import PROVIDER, body_of
from ghostart_linkedin.images import ImageUpload, upload_image
from ghostart_linkedin.oauth import InvalidGrant
from ghostart_linkedin.settings import AppKind, LinkedInSettings
from ghostart_linkedin.tokens import Tokens

__all__ = ["Article", "LinkedInPost", "LinkedInPublisher", "post_url"]

log = logging.getLogger("ghostart.linkedin")


class Article(BaseModel):
    """A link shown as a card. LinkedIn does not scrape the page: title (and more) come from us."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(pattern=r"^https?://", max_length=2000)
    title: str = Field(min_length=1, max_length=400)
    description: str | None = Field(default=None, max_length=4086)
    #: An image uploaded as the card's thumbnail.
    thumbnail: ImageUpload | None = None


class LinkedInPost(BaseModel):
    """A post to make: whose connection, as whom, what."""

    model_config = ConfigDict(frozen=True)

    organization_id: UUID
    user_id: UUID
    #: The member's words (plain text; mentions as ``@[Name](urn:li:person:ID)``).
    text: str = Field(min_length=1)
    #: ``urn:li:organization:ID`` to post as a page (with the organization app's connection);
    #: ``None`` posts as the member.
    as_organization: str | None = Field(default=None, pattern=r"^urn:li:organization:\d+$")
    article: Article | None = None
    image: ImageUpload | None = None
    visibility: Literal["PUBLIC", "CONNECTIONS"] = "PUBLIC"

    @property
    def key(self) -> ConnectionKey:
        """The connection that posts it."""
        app: AppKind = "organization" if self.as_organization else "member"
        return ConnectionKey(self.organization_id, self.user_id, app)


def post_url(urn: str) -> str:
    """Where a post can be seen."""
    return f"https://www.linkedin.com/feed/update/{urn}/"


class LinkedInPublisher:
    """A :class:`~ghostart.ports.Publisher` on LinkedIn's Posts API."""

    #: Seconds between two runs of :meth:`maintain`'s work.
    MAINTAIN_EVERY = 3600.0
    #: How far LinkedIn's clock may be behind ours when :meth:`find` dates a post.
    FIND_SKEW = timedelta(minutes=10)

    def __init__(
        self,
        settings: LinkedInSettings,
        *,
        api: LinkedInAPI,
        clock: Clock,
        monitor: Monitor | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        owns_http: bool = False,
    ) -> None:
        self.settings = settings
        self.api = api
        self._clock = clock
        self._monitor = monitor
        self._sleep = sleep
        self._owns_http = owns_http
        self._maintained_at: datetime | None = None

    @property
    def tokens(self) -> Tokens:
        """Connections and tokens (the OAuth flow is ``tokens.oauth``)."""
        return self.api.tokens

    # -- the Publisher port -------------------------------------------------------------------

    async def publish(self, request: PublishRequest) -> Publication:
        """Post ``request.body`` in its author's name, once."""
        return await self.publish_post(_as_post(request))

    async def find(self, request: PublishRequest) -> Publication | None:
        """The author's recent post with this text, if an earlier attempt made it.

        Posts LinkedIn dates before ``request.attempt_started_at`` (less ``FIND_SKEW``) are
        not the attempt's: an older post with the same words is not taken for this one.
        """
        return await self.find_post(_as_post(request), not_before=request.attempt_started_at)

    # -- richer posts -------------------------------------------------------------------------

    async def publish_post(self, post: LinkedInPost) -> Publication:
        """Make ``post``: one ``POST /rest/posts`` (after any image uploads)."""
        commentary = little.commentary(post.text, hashtags=self.settings.hashtags)
        session = self.api.session(post.key)
        author = post.as_organization or await session.author()
        body: dict[str, Any] = {
            "author": author,
            "commentary": commentary,
            "visibility": post.visibility,
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.image is not None:
            media: dict[str, Any] = {"id": await self._upload(session, author, post.image)}
            if post.image.alt_text:
                media["altText"] = post.image.alt_text
            body["content"] = {"media": media}
        elif post.article is not None:
            article: dict[str, Any] = {
                "source": post.article.source,
                "title": post.article.title,
            }
            if post.article.description:
                article["description"] = post.article.description
            if post.article.thumbnail is not None:
                article["thumbnail"] = await self._upload(session, author, post.article.thumbnail)
            body["content"] = {"article": article}
        response = await session.request(
            "POST", "/rest/posts", json=body, operation="create the post", may_have_landed=True
        )
        urn = response.headers.get("x-restli-id") or str(body_of(response).get("id") or "")
        if not urn:
            # Created (2xx) but unnamed: it exists, so this must not be retried blindly.
            raise TransientError(
                "linkedin: the post was created but LinkedIn did not say its URN",
                provider=PROVIDER,
                ambiguous=True,
            )
        if self._monitor is not None:
            self._monitor.incr("ghostart.linkedin.published", app=post.key.app)
        log.info("published %s for user %s", urn, post.user_id)
        return Publication(external_id=urn, url=post_url(urn), published_at=self._clock.now())

    async def find_post(
        self, post: LinkedInPost, *, not_before: datetime | None = None
    ) -> Publication | None:
        """The author's recent post whose text is ``post``'s, if any.

        Reading a member's posts needs ``r_member_social``, which LinkedIn grants to approved
        partners only; without it (403) this answers ``None``, and LinkedIn's own duplicate
        check (422 ``DUPLICATE_POST`` on a retry) is what stops a second post.
        """
        wanted = little.normalize(little.commentary(post.text, hashtags=self.settings.hashtags))
        session = self.api.session(post.key)
        author = post.as_organization or await session.author()
        query = (
            f"q=author&author={quote(author, safe='')}"
            f"&count={self.settings.find_count}&sortBy=LAST_MODIFIED"
        )
        try:
            response = await session.request(
                "GET", "/rest/posts", query=query, operation="read the author's recent posts"
            )
        except PermanentError as exc:
            if exc.status != 403:
                raise
            log.warning("cannot read %s's posts (403: %s); relying on DUPLICATE_POST", author, exc)
            if self._monitor is not None:
                self._monitor.incr("ghostart.linkedin.find_forbidden", app=post.key.app)
            return None
        earliest = None if not_before is None else not_before - self.FIND_SKEW
        for element in body_of(response).get("elements") or []:
            if not isinstance(element, dict) or not element.get("id"):
                continue
            if little.normalize(str(element.get("commentary") or "")) != wanted:
                continue
            urn = str(element["id"])
            when = element.get("createdAt") or element.get("publishedAt")
            made = datetime.fromtimestamp(int(when) / 1000, tz=UTC) if when else None
            if earliest is not None and made is not None and made < earliest:
                log.info("%s has the same text but predates this attempt; not ours", urn)
                continue
            published = element.get("publishedAt") or when
            published_at = (
                datetime.fromtimestamp(int(published) / 1000, tz=UTC)
                if published
                else self._clock.now()
            )
            return Publication(external_id=urn, url=post_url(urn), published_at=published_at)
        return None

    async def delete(self, key: ConnectionKey, urn: str) -> None:
        """Delete a post (``DELETE /rest/posts/{urn}``); one already gone counts as deleted."""
        try:
            await self.api.session(key).request(
                "DELETE",
                f"/rest/posts/{quote(urn, safe='')}",
                operation="delete the post",
                headers={"X-RestLi-Method": "DELETE"},
            )
        except PermanentError as exc:
            if exc.status not in (404, 410):
                raise

    # -- connecting accounts and upkeep (the core's LinkedIn service and worker) --------------

    def apps(self) -> tuple[AppKind, ...]:
        """The LinkedIn apps configured here (``member``, and ``organization`` if set)."""
        return tuple(self.tokens.oauth.apps)

    def authorization_url(
        self, *, organization_id: UUID, user_id: UUID, app: AppKind = "member"
    ) -> str:
        """Where to send ``user_id`` to grant access (a sealed, single-use ``state`` is in it)."""
        return self.tokens.oauth.authorization_url(
            organization_id=organization_id, user_id=user_id, app=app
        )

    def state_organization(self, state: str | None) -> UUID:
        """The organization a callback's ``state`` was issued for (checked again on connect).

        Raises:
            InvalidState: Missing or not ours.
        """
        return self.tokens.oauth.peek_state(state).organization_id

    async def complete(
        self,
        *,
        organization_id: UUID,
        user_id: UUID,
        state: str | None,
        code: str | None,
        error: str | None = None,
    ) -> None:
        """Finish the OAuth callback for the signed-in user (see :meth:`Tokens.connect`).

        Raises:
            InvalidState: The ``state`` was refused (missing, forged, someone else's, expired,
                reused).
            InvalidInput: The member declined, or LinkedIn refused the code (expired or used:
                the member connects again).
        """
        try:
            await self.tokens.connect(
                organization_id=organization_id,
                user_id=user_id,
                state=state,
                code=code,
                error=error,
            )
        except InvalidGrant as exc:
            raise InvalidInput(
                "LinkedIn refused the authorization code (expired or already used); connect again",
                field="code",
            ) from exc

    async def rotate_tokens(self, *, batch_size: int = 100) -> dict[str, int]:
        """Re-seal stored tokens under the primary key (``ghostart secrets rotate`` runs it)."""
        return await self.tokens.rotate_all(batch_size=batch_size)

    async def maintain(self) -> None:
        """Periodic upkeep, at most every ``MAINTAIN_EVERY`` seconds however often called.

        Sends the "expiring soon" reminders (once per token) and forgets spent OAuth states
        that have expired. The core's worker calls it on every reconciliation.
        """
        now = self._clock.now()
        if self._maintained_at is not None and (
            (now - self._maintained_at).total_seconds() < self.MAINTAIN_EVERY
        ):
            return
        self._maintained_at = now
        reminded = await self.tokens.remind_expiring()
        purged = await self.tokens.oauth.purge_states()
        if reminded or purged:
            log.info("linkedin upkeep: %d reminder(s), %d spent state(s) purged", reminded, purged)

    async def aclose(self) -> None:
        """Close the HTTP client if this publisher made it."""
        if self._owns_http:
            await self.api.http.aclose()

    async def _upload(self, session: ApiSession, owner: str, image: ImageUpload) -> str:
        return await upload_image(
            session,
            owner,
            image,
            poll_interval=self.settings.image_poll_interval,
            poll_attempts=self.settings.image_poll_attempts,
            sleep=self._sleep,
        )


def _as_post(request: PublishRequest) -> LinkedInPost:
    return LinkedInPost(
        organization_id=request.organization_id, user_id=request.author_id, text=request.body
    )


def make_http_client(settings: LinkedInSettings) -> httpx.AsyncClient:
    """The HTTP client the plugin builds (tests inject their own)."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout)),
        follow_redirects=False,
    )
