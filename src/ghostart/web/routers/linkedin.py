"""Connecting a member's LinkedIn account: the sign-in link, the callback, status, disconnect.

``redirect_uri`` (``GHOSTART_LINKEDIN_REDIRECT_URI``) is where LinkedIn sends the browser back,
with ``code`` and ``state``. It is a page of your front end, which forwards both (and ``error``,
if any) to ``GET /v1/linkedin/callback`` with the signed-in member's bearer token: the ``state``
is sealed, expires, works once, and is bound to the member who asked for it, so the callback
must be made by that member.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import Field

from ghostart.services.linkedin import LinkedInStatus
from ghostart.web.auth import CurrentUser, OrgPrincipal
from ghostart.web.routers._common import ORG, ghostart_of
from ghostart.web.schemas import Out

router = APIRouter(tags=["linkedin"])

App = Literal["member", "organization"]
_APP = Query(description="`member` (posting as oneself) or `organization` (as a company page)")
#: LinkedIn's codes and our sealed states are far shorter; anything longer is not theirs.
_BOUNDED = Query(max_length=4096)


class ConnectOut(Out):
    authorization_url: str
    app: App


class ConnectionOut(Out):
    app: App
    member_urn: str
    member_name: str | None
    scopes: list[str]
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    needs_reconnect: bool
    reconnect_reason: str | None
    connected_at: datetime

    @classmethod
    def of(cls, status: LinkedInStatus) -> ConnectionOut:
        return cls.model_validate(status.model_dump(mode="json"))


class ConnectionsOut(Out):
    organization_id: str
    configured: bool = Field(
        description="whether this service publishes to LinkedIn (else connecting is refused)"
    )
    connections: list[ConnectionOut]


@router.get(ORG + "/linkedin/connect", response_model=ConnectOut)
async def connect(
    request: Request,
    principal: OrgPrincipal,
    app: Annotated[App, _APP] = "member",
    redirect: bool = False,
) -> ConnectOut | RedirectResponse:
    """LinkedIn's sign-in link for the caller (``redirect=true``: a 302 to it)."""
    url = ghostart_of(request).linkedin.connect_url(principal, app)
    if redirect:
        return RedirectResponse(url, status_code=302, headers={"Cache-Control": "no-store"})
    return ConnectOut(authorization_url=url, app=app)


@router.get("/linkedin/callback")
async def callback(
    request: Request,
    user: CurrentUser,
    state: Annotated[str | None, _BOUNDED] = None,
    code: Annotated[str | None, _BOUNDED] = None,
    error: Annotated[str | None, _BOUNDED] = None,
) -> ConnectionsOut:
    """Finish connecting: LinkedIn's ``code`` and ``state``, forwarded by the signed-in member."""
    principal, statuses = await ghostart_of(request).linkedin.callback(
        user.id, state=state, code=code, error=error
    )
    return ConnectionsOut(
        organization_id=str(principal.organization_id),
        configured=True,
        connections=[ConnectionOut.of(s) for s in statuses],
    )


@router.get(ORG + "/linkedin/connection")
async def connection_status(request: Request, principal: OrgPrincipal) -> ConnectionsOut:
    """The caller's LinkedIn connections here: expiry and needs-reconnect, never a token."""
    linkedin = ghostart_of(request).linkedin
    statuses = await linkedin.status(principal)
    return ConnectionsOut(
        organization_id=str(principal.organization_id),
        configured=linkedin.configured(),
        connections=[ConnectionOut.of(s) for s in statuses],
    )


@router.delete(ORG + "/linkedin/connection", status_code=204)
async def disconnect(
    request: Request, principal: OrgPrincipal, app: Annotated[App, _APP] = "member"
) -> Response:
    """Forget the caller's connection (idempotent: 204 whether or not there was one)."""
    await ghostart_of(request).linkedin.disconnect(principal, app)
    return Response(status_code=204)
