"""What the mailer sends: request shapes, idempotency keys across retries, batches."""

from __future__ import annotations

import json
from collections.abc import Callable
from uuid import uuid4

import httpx
import pytest
import respx

from ghostart.email import EmailRenderer, send_many, unsubscribe_headers
from ghostart.errors import InvalidInput, TransientError
from ghostart.ports.mailer import Email
from ghostart.retry import RetryPolicy
from ghostart_resend.mailer import ResendMailer
from ghostart_resend.testing import FakeResend, error_response

from .conftest import KEY, SENDER

UNSUBSCRIBE = "https://app.acme.example/v1/email/unsubscribe?token=u1.k1.abc"


def _email(key: str | None = None, to: str = "ada@example.com", **extra: object) -> Email:
    return Email.model_validate(
        {
            "to": [to],
            "subject": "Your draft is ready",
            "text": "Open ghostart to review it.",
            "idempotency_key": key or f"email:{uuid4()}",
        }
        | extra
    )


def _policy() -> RetryPolicy:
    return RetryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.002)


def _body(request: httpx.Request) -> object:
    return json.loads(request.content)


async def test_a_rendered_email_is_sent_as_resend_documents_it(
    mailer: ResendMailer, fake: FakeResend
) -> None:
    rendered = EmailRenderer().preview("post_published")
    email = rendered.to_email(
        ["ada@example.com"], idempotency_key="email:abc", headers=unsubscribe_headers(UNSUBSCRIBE)
    )
    message_id = await mailer.send(email)

    [request] = fake.requests
    assert request.url == "https://api.resend.com/emails"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["idempotency-key"] == "email:abc"
    assert _body(request) == {
        "from": SENDER,
        "to": ["ada@example.com"],
        "subject": "Your post is live on LinkedIn",
        "text": email.text,
        "html": email.html,
        "headers": {
            "List-Unsubscribe": f"<{UNSUBSCRIBE}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        "tags": [
            {"name": "category", "value": "notifications"},
            {"name": "template", "value": "post_published"},
        ],
    }
    assert message_id  # Resend's id, as the fake answered it
    assert fake.sent == [_body(request)]


async def test_the_email_sender_wins_and_tags_are_made_acceptable(
    mailer: ResendMailer, fake: FakeResend
) -> None:
    await mailer.send(
        _email(sender="Grace <grace@acme.example>", tags={"org id": "acme.example/1", "": "x"})
    )
    body = _body(fake.requests[0])
    assert isinstance(body, dict)
    assert body["from"] == "Grace <grace@acme.example>"
    # Resend accepts only ASCII letters, digits, "_" and "-" in tags: anything else is replaced.
    assert body["tags"] == [
        {"name": "_", "value": "x"},
        {"name": "org_id", "value": "acme_example_1"},
    ]
    assert "html" not in body and "headers" not in body


async def test_retries_after_a_5xx_and_a_timeout_carry_the_same_key(
    mailer: ResendMailer, resend_mock: respx.MockRouter
) -> None:
    route = resend_mock.post("/emails").mock(
        side_effect=[
            error_response("application_error"),
            httpx.ReadTimeout("slow"),
            httpx.Response(200, json={"id": "4ef9a417-02e9-4d39-ad75-9611e0fcc33c"}),
        ]
    )
    email = _email("email:outbox-row-42")
    message_id = await _policy().call(lambda: mailer.send(email), operation="email.send")

    assert message_id == "4ef9a417-02e9-4d39-ad75-9611e0fcc33c"
    keys = [call.request.headers["idempotency-key"] for call in route.calls]
    assert keys == ["email:outbox-row-42"] * 3


async def test_a_retry_whose_first_attempt_was_accepted_sends_nothing_more(
    mailer: ResendMailer, fake: FakeResend
) -> None:
    # The answer to the first attempt was lost (a crash, a timeout after Resend accepted it):
    # the outbox sends again with the row's key, and Resend answers the first id again.
    email = _email("email:outbox-row-7")
    first = await mailer.send(email)
    again = await mailer.send(email)
    assert again == first and len(fake.sent) == 1 and len(fake.requests) == 2


async def test_no_sdk_retries_one_request_per_attempt(
    mailer: ResendMailer, resend_mock: respx.MockRouter
) -> None:
    route = resend_mock.post("/emails").mock(return_value=error_response("internal_server_error"))
    with pytest.raises(TransientError):
        await mailer.send(_email())
    assert route.call_count == 1


async def test_an_answer_without_an_id_is_transient(
    mailer: ResendMailer, resend_mock: respx.MockRouter
) -> None:
    resend_mock.post("/emails").mock(return_value=httpx.Response(200, json={"object": "email"}))
    with pytest.raises(TransientError, match="no email id"):
        await mailer.send(_email())


async def test_a_batch_is_one_request_with_every_email_and_a_derived_key(
    mailer: ResendMailer, fake: FakeResend
) -> None:
    emails = [_email(f"digest:{i}", to=f"member{i}@example.com") for i in range(3)]
    ids = await mailer.send_batch(emails)

    [request] = fake.requests
    assert request.url == "https://api.resend.com/emails/batch"
    body = _body(request)
    assert isinstance(body, list)
    assert [b["to"] for b in body] == [[f"member{i}@example.com"] for i in range(3)]
    assert all(b["from"] == SENDER for b in body)
    assert len(ids) == 3 and len(set(ids)) == 3
    key = request.headers["idempotency-key"]
    assert key.startswith("batch:")
    # Retrying the same batch derives the same key: Resend answers the same ids, sends nothing.
    assert await mailer.send_batch(emails) == ids
    assert fake.requests[1].headers["idempotency-key"] == key and len(fake.sent) == 3
    # Another batch gets another key.
    await mailer.send_batch(emails[:2])
    assert fake.requests[2].headers["idempotency-key"] != key


async def test_a_batch_retried_after_a_5xx_keeps_its_key(
    mailer: ResendMailer, resend_mock: respx.MockRouter
) -> None:
    ok = {"data": [{"id": "ae2014de-c168-4c61-8267-70d2662a1ce1"}]}
    route = resend_mock.post("/emails/batch").mock(
        side_effect=[error_response("application_error"), httpx.Response(200, json=ok)]
    )
    ids = await _policy().call(
        lambda: mailer.send_batch([_email("a")], idempotency_key="digest-slot-1"),
        operation="email.batch",
    )
    assert ids == ["ae2014de-c168-4c61-8267-70d2662a1ce1"]
    assert [c.request.headers["idempotency-key"] for c in route.calls] == ["digest-slot-1"] * 2


async def test_a_batch_answer_that_does_not_match_is_transient(
    mailer: ResendMailer, resend_mock: respx.MockRouter
) -> None:
    resend_mock.post("/emails/batch").mock(
        return_value=httpx.Response(200, json={"data": [{"id": "only-one"}]})
    )
    with pytest.raises(TransientError, match="1 ids for 2 emails"):
        await mailer.send_batch([_email(), _email()])


@pytest.mark.parametrize("count", [0, 101])
async def test_a_batch_holds_one_to_a_hundred(mailer: ResendMailer, count: int) -> None:
    with pytest.raises(InvalidInput, match="1 to 100"):
        await mailer.send_batch([_email() for _ in range(count)])


async def test_send_many_uses_batches_of_a_hundred(mailer: ResendMailer, fake: FakeResend) -> None:
    emails = [_email(f"digest:{i}") for i in range(250)]
    ids = await send_many(mailer, emails)
    assert len(ids) == 250 and len(set(ids)) == 250
    assert [len(_body(r)) for r in fake.requests] == [100, 100, 50]  # type: ignore[arg-type]
    # The same list sent again (a retried digest job) sends nothing twice.
    assert await send_many(mailer, emails) == ids
    assert len(fake.sent) == 250


async def test_the_mailer_makes_and_closes_its_own_client(
    make_mailer: Callable[..., ResendMailer], resend_mock: respx.MockRouter, fake: FakeResend
) -> None:
    from ghostart_resend.settings import ResendSettings

    mailer = ResendMailer(ResendSettings.load(api_key=KEY, sender=SENDER, timeout=5))
    await mailer.send(_email())  # respx sees the mailer's own client too
    assert len(fake.sent) == 1
    await mailer.aclose()
    assert mailer._http.is_closed
