"""One-click unsubscribe: signed tokens round-trip; tampered, foreign and stale ones are refused."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from ghostart.email import (
    ONE_CLICK,
    UnsubscribeSigner,
    UnsubscribeTokenExpired,
    UnsubscribeTokenInvalid,
    load_email_settings,
    unsubscribe_headers,
    unsubscribe_url,
)
from ghostart.errors import ConfigurationError, InvalidInput
from ghostart.models import EmailCategory
from ghostart.ports.mailer import Email

KEY = base64.urlsafe_b64encode(b"k" * 32).rstrip(b"=").decode()
OTHER = base64.urlsafe_b64encode(b"o" * 32).rstrip(b"=").decode()
T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _signer(setting: str = f"k1:{KEY}", clock: _Clock | None = None) -> UnsubscribeSigner:
    return UnsubscribeSigner.from_setting(
        setting, max_age=timedelta(days=30), clock=clock or _Clock()
    )


@pytest.mark.parametrize("category", [EmailCategory.NOTIFICATIONS, EmailCategory.DIGEST])
def test_a_token_round_trips(category: EmailCategory) -> None:
    user = uuid4()
    signer = _signer()
    claim = signer.verify(signer.sign(user, category))
    assert (claim.user_id, claim.category, claim.issued_at) == (user, category, T0)


def test_transactional_mail_has_no_token() -> None:
    with pytest.raises(InvalidInput, match="transactional"):
        _signer().sign(uuid4(), EmailCategory.TRANSACTIONAL)


def test_every_altered_character_is_refused() -> None:
    signer = _signer()
    token = signer.sign(uuid4(), "digest")
    for i, char in enumerate(token):
        if char == ".":
            continue
        swapped = "0" if char != "0" else "1"
        with pytest.raises(UnsubscribeTokenInvalid):
            signer.verify(token[:i] + swapped + token[i + 1 :])


def test_a_token_for_another_user_or_category_can_not_be_forged() -> None:
    signer = _signer()
    token = signer.sign(uuid4(), "digest")
    version, key_id, _, _, issued, mac = token.split(".")
    for forged in (
        f"{version}.{key_id}.{uuid4().hex}.digest.{issued}.{mac}",
        f"{version}.{key_id}.{token.split('.')[2]}.notifications.{issued}.{mac}",
        f"{version}.{key_id}.{token.split('.')[2]}.transactional.{issued}.{mac}",
    ):
        with pytest.raises(UnsubscribeTokenInvalid, match="signature"):
            signer.verify(forged)


@pytest.mark.parametrize("garbage", ["", "u1", "u2.k1.a.b.c.d", "x" * 600, "u1.k1.zz.digest.1.a"])
def test_malformed_tokens_are_invalid(garbage: str) -> None:
    with pytest.raises(UnsubscribeTokenInvalid):
        _signer().verify(garbage)


def test_a_token_signed_under_another_key_is_refused() -> None:
    token = _signer(f"k1:{OTHER}").sign(uuid4(), "digest")
    with pytest.raises(UnsubscribeTokenInvalid):
        _signer(f"k1:{KEY}").verify(token)
    with pytest.raises(UnsubscribeTokenInvalid, match="unknown key"):
        _signer(f"k9:{KEY}").verify(token)


def test_rotation_new_key_signs_old_tokens_still_verify() -> None:
    old_token = _signer(f"k1:{KEY}").sign(uuid4(), "notifications")
    rotated = _signer(f"k2:{OTHER},k1:{KEY}")
    assert rotated.verify(old_token).category is EmailCategory.NOTIFICATIONS
    assert rotated.sign(uuid4(), "digest").split(".")[1] == "k2"


def test_expired_and_future_tokens() -> None:
    clock = _Clock()
    signer = _signer(clock=clock)
    token = signer.sign(uuid4(), "digest")
    clock.now = T0 + timedelta(days=30)
    assert signer.verify(token)  # exactly max_age: still valid
    clock.now = T0 + timedelta(days=30, seconds=1)
    with pytest.raises(UnsubscribeTokenExpired) as info:
        signer.verify(token)
    assert info.value.code == "unsubscribe_token_expired"
    assert isinstance(info.value, UnsubscribeTokenInvalid)
    clock.now = T0 - timedelta(hours=1)  # a token "from the future"
    with pytest.raises(UnsubscribeTokenInvalid, match="future"):
        signer.verify(token)


@pytest.mark.parametrize(
    ("setting", "says"),
    [
        ("k1", "entry 1"),
        ("bad id!:" + KEY, "entry 1"),
        ("k1:c2hvcnQ", "at least 32 bytes"),
        ("k1:***", "not base64url"),
    ],
)
def test_bad_key_settings_are_configuration_errors(setting: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says) as info:
        UnsubscribeSigner.from_setting(setting)
    assert KEY not in str(info.value)


def test_the_signer_repr_shows_no_key_material() -> None:
    assert KEY not in repr(_signer()) and "k1" in repr(_signer())


def test_headers_follow_rfc_8058_and_fit_the_email_port() -> None:
    url = unsubscribe_url("https://app.acme.example/", "u1.k1.a+b/c")
    assert url == "https://app.acme.example/v1/email/unsubscribe?token=u1.k1.a%2Bb%2Fc"
    headers = unsubscribe_headers(url)
    assert headers == {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": ONE_CLICK}
    assert ONE_CLICK == "List-Unsubscribe=One-Click"
    email = Email(to=["a@example.com"], subject="s", text="t", idempotency_key="k", headers=headers)
    assert email.headers == headers
    assert unsubscribe_headers("http://localhost:8000/v1/email/unsubscribe?token=x")
    with pytest.raises(InvalidInput, match="https"):
        unsubscribe_headers("http://app.acme.example/v1/email/unsubscribe?token=x")


@pytest.mark.parametrize(
    "headers",
    [{"Bcc": "spy@example.com"}, {"X-Evil": "a\r\nBcc: spy@example.com"}, {"Bad Name": "x"}],
)
def test_the_email_port_refuses_header_injection(headers: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="header"):
        Email(to=["a@example.com"], subject="s", text="t", idempotency_key="k", headers=headers)


def test_settings_sign_with_the_configured_keys_or_a_local_key(tmp_path: Path) -> None:
    configured = load_email_settings(signing_keys=f"k1:{KEY}").signer(tmp_path)
    token = configured.sign(uuid4(), "digest")
    assert UnsubscribeSigner.from_setting(f"k1:{KEY}").verify(token)
    local = load_email_settings().signer(tmp_path)
    again = load_email_settings().signer(tmp_path)  # the same key, read back from home
    assert again.verify(local.sign(uuid4(), "digest"))
    assert (tmp_path / "email-signing-key").stat().st_mode & 0o777 == 0o600
    with pytest.raises(ConfigurationError, match="GHOSTART_EMAIL_UNSUBSCRIBE_MAX_AGE_DAYS"):
        load_email_settings(unsubscribe_max_age_days=0)


def test_a_token_issued_at_a_given_time_is_the_same_every_time() -> None:
    # The outbox signs with the row's creation time: every retry renders the same bytes.
    signer = UnsubscribeSigner({"k1": b"k" * 32}, "k1")
    user, at = uuid4(), datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    first = signer.sign(user, EmailCategory.DIGEST, issued_at=at)
    assert signer.sign(user, EmailCategory.DIGEST, issued_at=at) == first
    assert signer.sign(user, EmailCategory.DIGEST, issued_at=at + timedelta(seconds=1)) != first
    assert signer.verify(first).issued_at == at
