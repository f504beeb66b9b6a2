"""A stateful fake of the LinkedIn endpoints the adapter calls, served through respx.

It checks what LinkedIn checks (the bearer token, ``LinkedIn-Version``, Rest.li 2.0.0), keeps
the posts it accepted, answers ``GET /rest/posts?q=author`` from them, refuses a second post
with the same author and commentary with the documented 422 ``DUPLICATE_POST``, and can be told
to fail the next call of a route: with a documented error, a timeout before LinkedIn acts, or a
timeout *after* it acted (the ambiguous case)::

    with respx.mock(assert_all_called=False) as router:
        linkedin = FakeLinkedIn(router)
        access, refresh = linkedin.issue_tokens("782bbtaQ")
        linkedin.fail_next("create", "timeout_after")
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import respx

from ghostart_linkedin.testing import (
    API_BASE_URL,
    DEFAULT_VERSION,
    OAUTH_BASE_URL,
    error_response,
    image_status,
    initialize_upload,
    oauth_error_response,
    post_element,
    token_response,
    userinfo,
)

__all__ = ["UPLOAD_BASE_URL", "FakeLinkedIn", "Outcome"]

UPLOAD_BASE_URL = "https://www.linkedin.com/dms-uploads"

#: What to do with the next call of a route: a documented error's name (REST or OAuth),
#: ``"timeout"`` (nothing happens), ``"timeout_after"`` (it happens, the answer is lost),
#: ``"hang_after"`` (it happens, the answer never comes: cancel the caller), or a response.
Outcome = str | httpx.Response


@dataclass
class FakeLinkedIn:
    """LinkedIn's API, OAuth and upload endpoints on a respx router."""

    router: respx.MockRouter
    version: str = DEFAULT_VERSION
    api_base_url: str = API_BASE_URL
    oauth_base_url: str = OAUTH_BASE_URL
    #: Whether reading a member's posts is allowed (``r_member_social``, partners only).
    can_read_member_posts: bool = True
    #: How many polls an uploaded image stays ``PROCESSING``.
    processing_polls: int = 1
    access_tokens: dict[str, str] = field(default_factory=dict)  # token -> member sub
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    posts: list[dict[str, Any]] = field(default_factory=list)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    #: Every request, for assertions on headers and bodies.
    requests: list[httpx.Request] = field(default_factory=list)
    #: Whether a refresh answers with a refresh token (approved partners).
    refresh_returns_refresh_token: bool = True
    _failures: dict[str, list[Outcome]] = field(default_factory=lambda: defaultdict(list))
    _calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(7_141_138_937_766))
    routes: dict[str, respx.Route] = field(default_factory=dict)
    #: Set when a call is left hanging (``"hang_after"``).
    hanging: asyncio.Event = field(default_factory=asyncio.Event)
    #: LinkedIn's clock: what ``createdAt`` and ``publishedAt`` of a new post say.
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _created_ms: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        api, oauth = self.api_base_url, self.oauth_base_url
        add: list[tuple[str, str, Any, Callable[[httpx.Request], httpx.Response]]] = [
            ("create", "POST", f"{api}/rest/posts", self._create),
            ("list", "GET", re.compile(re.escape(f"{api}/rest/posts") + r"\?"), self._list),
            ("delete", "DELETE", re.compile(re.escape(f"{api}/rest/posts/") + r".+"), self._delete),
            (
                "initialize_upload",
                "POST",
                re.compile(re.escape(f"{api}/rest/images") + r"\?action=initializeUpload"),
                self._initialize_upload,
            ),
            ("image", "GET", re.compile(re.escape(f"{api}/rest/images/") + r".+"), self._image),
            ("upload", "PUT", re.compile(re.escape(UPLOAD_BASE_URL) + r"/.+"), self._upload),
            ("token", "POST", f"{oauth}/accessToken", self._token),
            ("userinfo", "GET", f"{api}/v2/userinfo", self._userinfo),
        ]
        for name, method, url, handler in add:
            pattern = {"url__regex": url.pattern} if isinstance(url, re.Pattern) else {"url": url}
            route = self.router.route(method=method, **pattern)
            route.side_effect = self._wrap(name, handler)
            self.routes[name] = route

    # -- set-up -------------------------------------------------------------------------------

    def issue_tokens(self, sub: str, *, refresh: bool = True) -> tuple[str, str | None]:
        """A valid access token (and refresh token) for member ``sub``."""
        n = next(self._ids)
        access = f"AQV-access-{sub}-{n}-DO-NOT-LEAK"
        self.access_tokens[access] = sub
        if not refresh:
            return access, None
        token = f"AQW-refresh-{sub}-{n}-DO-NOT-LEAK"
        self.refresh_tokens[token] = sub
        return access, token

    def revoke(self, token: str) -> None:
        """LinkedIn forgets ``token`` (access or refresh): it now answers 401 / invalid_grant."""
        self.access_tokens.pop(token, None)
        self.refresh_tokens.pop(token, None)

    def fail_next(self, route: str, *outcomes: Outcome) -> None:
        """The next calls of ``route`` end as ``outcomes``, in order."""
        self._failures[route].extend(outcomes)

    def calls(self, route: str) -> int:
        """How many requests reached ``route`` (answered or not)."""
        return self._calls[route]

    # -- handlers -----------------------------------------------------------------------------

    def _wrap(
        self, name: str, handler: Callable[[httpx.Request], httpx.Response]
    ) -> Callable[[httpx.Request], Awaitable[httpx.Response]]:
        async def side_effect(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            self._calls[name] += 1
            outcome = self._failures[name].pop(0) if self._failures[name] else None
            if isinstance(outcome, httpx.Response):
                return outcome
            if outcome == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            if outcome is not None and outcome not in ("timeout_after", "hang_after"):
                return _named_error(outcome)
            if name not in ("token", "upload"):
                refused = self._check(request, versioned=name != "userinfo")
                if refused is not None:
                    return refused
            response = handler(request)
            if outcome == "timeout_after":
                raise httpx.ReadTimeout("timed out after the server acted", request=request)
            if outcome == "hang_after":  # the caller dies waiting (cancel it to "kill" it)
                self.hanging.set()
                await asyncio.Event().wait()
            return response

        return side_effect

    def _check(self, request: httpx.Request, *, versioned: bool) -> httpx.Response | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return error_response("invalid_token")
        if versioned and request.headers.get("linkedin-version") != self.version:
            body = {
                "status": 426,
                "code": "NONEXISTENT_VERSION",
                "message": f"Requested version {request.headers.get('linkedin-version')} is "
                "not active",
            }
            return httpx.Response(426, json=body)
        if versioned and request.headers.get("x-restli-protocol-version") != "2.0.0":
            return httpx.Response(400, json={"message": "Rest.li protocol 2.0.0 required"})
        return None

    def _create(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        for post in self.posts:
            if (post["author"], post["commentary"]) == (body["author"], body["commentary"]):
                status, error = (
                    422,
                    {
                        "errorDetailType": "com.linkedin.common.error.BadRequest",
                        "message": "com.linkedin.content.common.exception."
                        f"BadRequestResponseException: Content is a duplicate of {post['id']}",
                        "errorDetails": {
                            "inputErrors": [
                                {
                                    "description": "Duplicate post is detected",
                                    "input": {},
                                    "code": "DUPLICATE_POST",
                                }
                            ]
                        },
                        "status": 422,
                    },
                )
                return httpx.Response(status, json=error)
        urn = f"urn:li:share:{next(self._ids)}"
        self.posts.append({"id": urn, **body})
        self._created_ms[urn] = int(self.now().timestamp() * 1000)
        return httpx.Response(201, headers={"x-restli-id": urn})

    def _list(self, request: httpx.Request) -> httpx.Response:
        query = parse_qs(request.url.query.decode(), keep_blank_values=True)
        author = query.get("author", [""])[0]
        if author.startswith("urn:li:person:") and not self.can_read_member_posts:
            return error_response("access_denied")
        count = int(query.get("count", ["10"])[0])
        mine = [p for p in reversed(self.posts) if p["author"] == author][:count]
        elements = [
            post_element(
                p["id"], p["author"], p["commentary"], published_at_ms=self._created_ms[p["id"]]
            )
            for p in mine
        ]
        return httpx.Response(
            200, json={"paging": {"start": 0, "count": count}, "elements": elements}
        )

    def _delete(self, request: httpx.Request) -> httpx.Response:
        urn = unquote(request.url.path.rsplit("/", 1)[-1])
        before = len(self.posts)
        self.posts = [p for p in self.posts if p["id"] != urn]
        if len(self.posts) == before:
            return httpx.Response(404, json={"message": "Not Found", "status": 404})
        return httpx.Response(204)

    def _initialize_upload(self, request: httpx.Request) -> httpx.Response:
        owner = json.loads(request.content)["initializeUploadRequest"]["owner"]
        n = next(self._ids)
        urn = f"urn:li:image:C4E10AQ{n}"
        self.images[urn] = {"owner": owner, "status": "WAITING_UPLOAD", "polls": 0}
        url = f"{UPLOAD_BASE_URL}/C4E10AQ{n}/uploaded-image/0?ca=vector_ads&cn=uploads&sync=0"
        return httpx.Response(200, json=initialize_upload(urn, url))

    def _upload(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in (
            self.access_tokens
        ):
            return error_response("invalid_token")
        image_id = request.url.path.split("/")[2]
        urn = f"urn:li:image:{image_id}"
        self.uploads[urn] = request.content
        self.images[urn]["status"] = "PROCESSING"
        return httpx.Response(201)

    def _image(self, request: httpx.Request) -> httpx.Response:
        urn = unquote(request.url.path.rsplit("/", 1)[-1])
        image = self.images[urn]
        if image["status"] == "PROCESSING":
            image["polls"] += 1
            if image["polls"] > self.processing_polls:
                image["status"] = "AVAILABLE"
        return httpx.Response(200, json=image_status(urn, image["owner"], image["status"]))

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        if form.get("grant_type") == "refresh_token":
            sub = self.refresh_tokens.get(form.get("refresh_token", ""))
            if sub is None:
                return oauth_error_response("invalid_grant")
            access, _ = self.issue_tokens(sub, refresh=False)
            refresh = form["refresh_token"] if self.refresh_returns_refresh_token else None
            return httpx.Response(
                200,
                json=token_response(
                    access, refresh_token=refresh, refresh_token_expires_in=26_438_400
                ),
            )
        code = form.get("code", "")
        if not code.startswith("code-for-"):
            return oauth_error_response("invalid_grant")
        access, refresh = self.issue_tokens(code.removeprefix("code-for-"))
        return httpx.Response(200, json=token_response(access, refresh_token=refresh))

    def _userinfo(self, request: httpx.Request) -> httpx.Response:
        sub = self.access_tokens[request.headers["authorization"].removeprefix("Bearer ")]
        return httpx.Response(200, json=userinfo(sub))


def _named_error(name: str) -> httpx.Response:
    from ghostart_linkedin.testing import DOCUMENTED_ERRORS, OAUTH_ERRORS

    if name in OAUTH_ERRORS:
        return oauth_error_response(name)
    if name in DOCUMENTED_ERRORS:
        return error_response(name)
    raise KeyError(f"no documented LinkedIn error named {name!r}")
