"""Email routes: one-click unsubscribe (RFC 8058), delivery webhooks, the caller's recent emails.

``POST /email/unsubscribe?token=...`` is what a mail client's "Unsubscribe" button calls (body
``List-Unsubscribe=One-Click``); it needs no sign-in, the signed token says who leaves which
category. ``GET`` on the same URL only shows a page with a button that POSTs: mail scanners
follow links, so a GET never unsubscribes. A tampered or expired token is a 400.

``POST /email/webhooks/{provider}`` takes the mailer's delivery webhooks (Resend's, verified by
their Svix signature on the raw body); a hard bounce or a complaint suppresses the address.
"""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from ghostart.email.delivery import DeliveryWebhooks
from ghostart.email.unsubscribe import UnsubscribeTokenExpired, UnsubscribeTokenInvalid
from ghostart.errors import ConfigurationError, NotFound
from ghostart.web.auth import CurrentUser
from ghostart.web.problems import problem
from ghostart.web.routers._common import ghostart_of

router = APIRouter(prefix="/email", tags=["email"])

_TOKEN = Query(min_length=1, max_length=512, description="the signed token from the email")
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_CATEGORY_NAMES = {"notifications": "notifications about your posts", "digest": "the weekly digest"}


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>body{{font:16px/1.5 system-ui,sans-serif;"
        "max-width:36rem;margin:3rem auto;padding:0 1rem}}button{{font:inherit;"
        "padding:.5rem 1rem}}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(page, status_code=status, headers=_HEADERS)


def _refused(exc: UnsubscribeTokenInvalid) -> str:
    if isinstance(exc, UnsubscribeTokenExpired):
        return "This unsubscribe link has expired; change your email preferences in the app."
    return "This unsubscribe link is not valid; change your email preferences in the app."


@router.get("/unsubscribe", response_class=HTMLResponse, include_in_schema=False)
async def unsubscribe_page(request: Request, token: str = _TOKEN) -> HTMLResponse:
    """A page with one button that unsubscribes (the GET itself changes nothing)."""
    try:
        found = ghostart_of(request).email.signer.verify(token)
    except UnsubscribeTokenInvalid as exc:
        return _page("Unsubscribe", f"<p>{html.escape(_refused(exc))}</p>", status=400)
    what = _CATEGORY_NAMES.get(found.category.value, found.category.value)
    form = (
        f"<p>Stop receiving {html.escape(what)} by email? Account and security emails still "
        "come.</p>"
        f'<form method="post" action="?token={html.escape(token, quote=True)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        "<button>Unsubscribe</button></form>"
    )
    return _page("Unsubscribe", form)


@router.post("/unsubscribe", status_code=200, response_model=None)
async def unsubscribe(request: Request, token: str = _TOKEN) -> Response:
    """RFC 8058 one-click unsubscribe: turns the token's category off for its user.

    Answers 200 and no body to a mail client, or a confirmation page to a browser's form.
    Idempotent: a second POST changes nothing. A tampered or expired token is a 400.
    """
    app = ghostart_of(request)
    try:
        done = await app.email.unsubscribe(token, profiles=app.profiles)
    except UnsubscribeTokenInvalid as exc:
        return problem(400, _refused(exc), code=exc.code)
    if "text/html" in request.headers.get("accept", ""):
        what = _CATEGORY_NAMES.get(done.category.value, done.category.value)
        return _page("Unsubscribed", f"<p>You will no longer receive {html.escape(what)}.</p>")
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


@router.post("/webhooks/{provider}", status_code=200, response_model=None)
async def delivery_webhook(request: Request, provider: str) -> Response | dict[str, Any]:
    """A delivery webhook of the configured mailer, verified on the raw body.

    401 when the signature does not check out (the provider retries, then gives up); 404 when
    the configured mailer is not ``provider`` or takes no webhooks; 503 when its webhook
    secret is not configured.
    """
    app = ghostart_of(request)
    mailer = app.mailer
    if not isinstance(mailer, DeliveryWebhooks) or mailer.webhook_provider != provider:
        raise NotFound(f"no email webhooks for {provider!r} here")
    body = await request.body()
    try:
        event = mailer.verify_webhook(body, dict(request.headers))
    except ConfigurationError as exc:
        return problem(503, exc.message, code="email_webhooks_not_configured")
    suppressed = await app.email.record_delivery(event)
    return {"received": event.type.value, "suppressed": suppressed}


@router.get("/recent")
async def recent_emails(request: Request, user: CurrentUser) -> dict[str, Any]:
    """The caller's newest emails: template, category, status, delivery (no addresses)."""
    rows = await ghostart_of(request).email.recent(user.id)
    return {
        "emails": [
            {
                "id": str(r.id),
                "template": r.template,
                "category": r.category.value,
                "status": r.status.value,
                "delivery": r.delivery,
                "created_at": r.created_at.isoformat(),
                "sent_at": r.sent_at.isoformat() if r.sent_at else None,
            }
            for r in rows
        ]
    }
