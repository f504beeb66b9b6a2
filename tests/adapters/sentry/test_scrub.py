"""The scrubber on its own: what it removes, and what it keeps so that events stay useful."""

from __future__ import annotations

import pytest

from ghostart_sentry.scrub import FILTERED, Scrubber


@pytest.fixture
def scrubber() -> Scrubber:
    return Scrubber(["literal-secret-value"], from_environment=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:hunter22@cache:6379/0", f"redis://:{FILTERED}@cache:6379/0"),
        ("postgresql://app:pw-123@db/x", f"postgresql://app:{FILTERED}@db/x"),
        ("Authorization: Bearer abc.def-123456", f"Authorization: Bearer {FILTERED}"),
        ("sent Bearer abcdef123456 along", f"sent Bearer {FILTERED} along"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig", f"jwt {FILTERED}"),
        ("key sk-proj-abcdefghijklmnop", f"key {FILTERED}"),
        ("stripe sk_live_abcdef123456", f"stripe {FILTERED}"),
        ("restricted rk_test_abcdef123456", f"restricted {FILTERED}"),
        ("hook whsec_abcdefABCDEF123=", f"hook {FILTERED}"),
        ("resend re_abcdefghijkl1234", f"resend {FILTERED}"),
        ("ghostart gha_live_AbCdEf012345", f"ghostart {FILTERED}"),
        ("password=s3cr3t&user=x", f"password={FILTERED}&user=x"),
        ('{"client_secret": "abc123"}', f'{{"client_secret": "{FILTERED}"}}'),
        ("mail jane.doe+x@mail.example.co.uk now", "mail [email] now"),
        ("has literal-secret-value inside", f"has {FILTERED} inside"),
    ],
)
def test_secret_looking_values_are_replaced(scrubber: Scrubber, text: str, expected: str) -> None:
    assert scrubber.text(text) == expected


def test_secret_keys_are_filtered_at_any_depth_and_counts_are_kept(scrubber: Scrubber) -> None:
    event = {
        "extra": {
            "linkedin_access_token": "opaque",
            "X-Api-Key": "opaque",
            "nested": [{"password": "opaque", "refresh_token": {"any": "thing"}}],
            "prompt_tokens": 120,
            "completion_tokens": 80,
            "organization_id": "org-1",
        },
        "user": {"id": "u1", "email": "someone@example.com", "ip_address": "10.0.0.1"},
    }
    out = scrubber.event(event)
    extra = out["extra"]
    assert extra["linkedin_access_token"] == extra["X-Api-Key"] == FILTERED
    assert extra["nested"] == [{"password": FILTERED, "refresh_token": FILTERED}]
    assert (extra["prompt_tokens"], extra["completion_tokens"]) == (120, 80)
    assert extra["organization_id"] == "org-1"
    assert out["user"] == {"id": "u1"}


def test_secrets_from_the_environment_are_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOSTART_SECRET_KEYS", "k2:QUJDREVGR0hJSktMTU5PUA==,k1:b2xkb2xkb2xkb2xk")
    monkeypatch.setenv("GHOSTART_HOME", "/srv/ghostart-home")  # not secret by its name
    scrubber = Scrubber()
    text = scrubber.text("key k1:b2xkb2xkb2xkb2xk in /srv/ghostart-home")
    assert text == f"key {FILTERED} in /srv/ghostart-home"
