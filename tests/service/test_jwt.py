"""JWT verification: good Supabase-shaped tokens pass, a corpus of bad ones is refused."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ghostart.errors import ConfigurationError, TransientError, Unauthenticated
from ghostart.web.jwt import JWTSettings, JWTVerifier, TokenClaims, mint_dev_token

SECRET = "dev-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
NOW = 1_750_000_000.0
ISSUER = "https://project.supabase.co/auth/v1"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
USER = UUID("7d3b2f4e-8a61-4c0b-9f1e-2a5d6c7b8e90")

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
KEYS: dict[str, Any] = {"RS256": RSA_KEY, "ES256": EC_KEY}


class Clock:
    """A settable clock for expiry and JWKS cache ages."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


def payload(**overrides: Any) -> dict[str, Any]:
    """A Supabase user token's claims; an override of ``None`` removes the claim."""
    claims: dict[str, Any] = {
        "sub": str(USER),
        "aud": "authenticated",
        "iss": ISSUER,
        "role": "authenticated",
        "email": "ada@example.com",
        "session_id": "5d1f7c2a-0b0e-4f57-8a55-3f3b1a2c9d10",
        "iat": int(NOW) - 60,
        "exp": int(NOW) + 3600,
        "user_metadata": {},
        "app_metadata": {"provider": "email"},
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def hs_token(**overrides: Any) -> str:
    return jwt.encode(payload(**overrides), SECRET, algorithm="HS256")


def signed(alg: str, kid: str = "key-1", **overrides: Any) -> str:
    return jwt.encode(payload(**overrides), KEYS[alg], algorithm=alg, headers={"kid": kid})


def jwk(alg: str, kid: str = "key-1", private_key: Any = None) -> dict[str, Any]:
    key = (private_key or KEYS[alg]).public_key()
    algorithm = jwt.algorithms.RSAAlgorithm if alg == "RS256" else jwt.algorithms.ECAlgorithm
    return {**algorithm.to_jwk(key, as_dict=True), "kid": kid, "alg": alg, "use": "sig"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(obj: dict[str, Any]) -> str:
    return b64(json.dumps(obj).encode())


def hs_settings(**overrides: Any) -> JWTSettings:
    return JWTSettings(**{"secret": SECRET, "issuer": ISSUER, **overrides})


def jwks_settings(alg: str = "RS256", **overrides: Any) -> JWTSettings:
    return JWTSettings(
        **{"jwks_url": JWKS_URL, "algorithms": (alg,), "issuer": ISSUER, **overrides}
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def jwks() -> Iterator[respx.Route]:
    """The JWKS URL, publishing the RSA and the EC key."""
    with respx.mock(assert_all_called=False) as router:
        route = router.get(JWKS_URL)
        route.return_value = httpx.Response(200, json={"keys": [jwk("RS256"), jwk("ES256")]})
        yield route


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def hs(clock: Clock) -> JWTVerifier:
    return JWTVerifier(hs_settings(), clock=clock)


@pytest.fixture
def rs(http: httpx.AsyncClient, clock: Clock, jwks: respx.Route) -> JWTVerifier:
    return JWTVerifier(jwks_settings("RS256"), http=http, clock=clock)


async def rejected(verifier: JWTVerifier, token: Any) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as info:
        await verifier.verify(token)
    if isinstance(token, str) and token:
        assert token not in str(info.value)
    return info.value


# --- good tokens -------------------------------------------------------------------------------


async def test_a_good_hs256_token_is_accepted(hs: JWTVerifier) -> None:
    claims = await hs.verify(hs_token())

    assert claims == TokenClaims(
        user_id=USER,
        email="ada@example.com",
        role="authenticated",
        session_id="5d1f7c2a-0b0e-4f57-8a55-3f3b1a2c9d10",
        expires_at=datetime.fromtimestamp(NOW + 3600, UTC),
        raw=payload(),
    )


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
async def test_a_good_jwks_token_is_accepted(
    alg: str, http: httpx.AsyncClient, clock: Clock, jwks: respx.Route
) -> None:
    verifier = JWTVerifier(jwks_settings(alg), http=http, clock=clock)

    claims = await verifier.verify(signed(alg))

    assert claims.user_id == USER
    assert claims.role == "authenticated"
    assert jwks.call_count == 1


async def test_an_empty_email_is_none_and_extra_claims_are_kept_in_raw(hs: JWTVerifier) -> None:
    claims = await hs.verify(hs_token(email="", session_id=None, phone="+4915112345678"))

    assert claims.email is None
    assert claims.session_id is None
    assert claims.raw["phone"] == "+4915112345678"


async def test_a_list_audience_containing_ours_is_accepted(hs: JWTVerifier) -> None:
    claims = await hs.verify(hs_token(aud=["authenticated", "other"]))

    assert claims.user_id == USER


async def test_without_a_configured_issuer_none_is_required(clock: Clock) -> None:
    verifier = JWTVerifier(hs_settings(issuer=None), clock=clock)

    assert (await verifier.verify(hs_token(iss=None))).user_id == USER


async def test_user_metadata_grants_nothing(hs: JWTVerifier) -> None:
    plain = await hs.verify(hs_token())
    meta = {"role": "admin", "is_admin": True, "organization_role": "admin"}
    claims = await hs.verify(hs_token(user_metadata=meta, app_metadata={"role": "service_role"}))

    assert claims.role == "authenticated"
    assert claims.model_dump(exclude={"raw"}) == plain.model_dump(exclude={"raw"})
    assert claims.raw["user_metadata"] == meta


# --- the corpus of bad tokens ------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["", "c2ln"])
async def test_alg_none_is_rejected(hs: JWTVerifier, signature: str) -> None:
    token = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(payload())}.{signature}"

    await rejected(hs, token)


async def test_alg_none_is_rejected_against_a_jwks(rs: JWTVerifier, jwks: respx.Route) -> None:
    header = {"alg": "none", "typ": "JWT", "kid": "key-1"}

    await rejected(rs, f"{segment(header)}.{segment(payload())}.")
    assert jwks.call_count == 0


async def test_hs256_signed_with_the_rsa_public_key_is_rejected(
    rs: JWTVerifier, jwks: respx.Route
) -> None:
    # The classic key-confusion forgery: the public PEM used as an HMAC secret.
    pem = RSA_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = (
        f"{segment({'alg': 'HS256', 'typ': 'JWT', 'kid': 'key-1'})}.{segment(payload())}"
    )
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()

    await rejected(rs, f"{signing_input}.{b64(mac)}")
    assert jwks.call_count == 0  # refused on the pinned algorithm, before any key lookup


async def test_a_token_of_another_asymmetric_algorithm_is_rejected(rs: JWTVerifier) -> None:
    await rejected(rs, signed("ES256", kid="key-1"))


@pytest.mark.parametrize(("age", "accepted"), [(29, True), (30, False), (31, False), (3600, False)])
async def test_expiry_honours_the_leeway(hs: JWTVerifier, age: int, accepted: bool) -> None:
    token = hs_token(exp=int(NOW) - age)

    if accepted:
        assert (await hs.verify(token)).user_id == USER
    else:
        assert (await rejected(hs, token)).message == "token expired"


async def test_expiry_follows_the_clock(hs: JWTVerifier, clock: Clock) -> None:
    token = hs_token()
    await hs.verify(token)

    clock.now += 3600 + 31

    await rejected(hs, token)


@pytest.mark.parametrize("claim", ["nbf", "iat"])
async def test_a_token_from_the_future_is_rejected(hs: JWTVerifier, claim: str) -> None:
    assert (await hs.verify(hs_token(**{claim: int(NOW) + 20}))).user_id == USER  # within leeway

    error = await rejected(hs, hs_token(**{claim: int(NOW) + 60}))
    assert error.message == "invalid or expired token"


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"aud": None}, id="audience-missing"),
        pytest.param({"aud": "anon"}, id="audience-anon"),
        pytest.param({"aud": ["anon"]}, id="audience-list-without-ours"),
        pytest.param({"iss": "https://evil.supabase.co/auth/v1"}, id="foreign-issuer"),
        pytest.param({"iss": None}, id="issuer-missing"),
        pytest.param({"exp": None}, id="exp-missing"),
        pytest.param({"exp": str(int(NOW) + 3600)}, id="exp-a-string"),
        pytest.param({"exp": True}, id="exp-a-bool"),
        pytest.param({"exp": 10**20}, id="exp-out-of-range"),
        pytest.param({"role": "service_role"}, id="role-service"),
        pytest.param({"role": "anon"}, id="role-anon"),
        pytest.param({"role": None}, id="role-missing"),
        pytest.param({"role": "Authenticated"}, id="role-other-case"),
        pytest.param({"sub": None}, id="sub-missing"),
        pytest.param({"sub": "user-42"}, id="sub-not-a-uuid"),
        pytest.param({"sub": 42}, id="sub-a-number"),
        pytest.param({"sub": USER.hex}, id="sub-unhyphenated"),
        pytest.param({"sub": f"urn:uuid:{USER}"}, id="sub-urn"),
        pytest.param({"email": ["ada@example.com"]}, id="email-a-list"),
        pytest.param({"nbf": "soon"}, id="nbf-a-string"),
    ],
)
async def test_bad_claims_are_rejected(hs: JWTVerifier, overrides: dict[str, Any]) -> None:
    error = await rejected(hs, hs_token(**overrides))

    assert error.message == "invalid or expired token"


async def test_a_service_role_token_from_the_jwks_is_not_a_user(rs: JWTVerifier) -> None:
    await rejected(rs, signed("RS256", role="service_role"))


async def test_a_tampered_payload_is_rejected(hs: JWTVerifier) -> None:
    header, body, signature = hs_token().split(".")
    i = len(body) // 2
    changed = body[:i] + ("A" if body[i] != "A" else "B") + body[i + 1 :]

    await rejected(hs, f"{header}.{changed}.{signature}")


async def test_a_swapped_payload_is_rejected(rs: JWTVerifier) -> None:
    header, _, signature = signed("RS256").split(".")
    forged = segment(payload(sub=str(uuid4())))

    await rejected(rs, f"{header}.{forged}.{signature}")


async def test_a_token_signed_with_another_secret_is_rejected(hs: JWTVerifier) -> None:
    forged = jwt.encode(payload(), "another-secret-0123456789-abcdefghijkl", algorithm="HS256")

    await rejected(hs, forged)


async def test_a_token_signed_by_another_key_with_a_known_kid_is_rejected(rs: JWTVerifier) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(payload(), stranger, algorithm="RS256", headers={"kid": "key-1"})

    await rejected(rs, forged)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "...",
        "!!!.@@@.###",
        "eyJhbGciOiJIUzI1NiJ9.%%%%.abc",
        f"{segment({'alg': 'HS256'})}.bm90IGpzb24.abc",  # payload "not json"
        f"{b64(b'[1, 2]')}.{segment(payload())}.abc",  # header not an object
        f"{segment({'alg': 'HS256'})}.{segment(payload())}.{'A' * 20_000}",
        None,
        b"a.b.c",
        42,
    ],
)
async def test_malformed_tokens_are_rejected(hs: JWTVerifier, token: Any) -> None:
    await rejected(hs, token)


async def test_every_forgery_gets_the_same_message(hs: JWTVerifier) -> None:
    tokens = [hs_token(aud="anon"), hs_token(role="service_role"), hs_token() + "x", "a.b.c"]

    messages = {(await rejected(hs, token)).message for token in tokens}

    assert messages == {"invalid or expired token"}


# --- the JWKS ----------------------------------------------------------------------------------


async def test_the_jwks_is_cached(rs: JWTVerifier, jwks: respx.Route, clock: Clock) -> None:
    await rs.verify(signed("RS256"))
    clock.now += 599
    await rs.verify(signed("RS256"))
    assert jwks.call_count == 1

    clock.now += 2  # past jwks_cache_seconds
    await rs.verify(signed("RS256"))
    assert jwks.call_count == 2


async def test_an_unknown_kid_refetches_once_then_is_rejected(
    rs: JWTVerifier, jwks: respx.Route, clock: Clock
) -> None:
    await rs.verify(signed("RS256"))
    clock.now += 31

    await rejected(rs, signed("RS256", kid="key-unknown"))
    assert jwks.call_count == 2

    # Spraying kids right after that refetch makes no more requests.
    for n in range(5):
        await rejected(rs, signed("RS256", kid=f"key-spray-{n}"))
    assert jwks.call_count == 2


async def test_an_unknown_kid_on_a_cold_cache_fetches_once(
    rs: JWTVerifier, jwks: respx.Route
) -> None:
    await rejected(rs, signed("RS256", kid="key-unknown"))

    assert jwks.call_count == 1


async def test_a_token_without_kid_is_rejected_without_a_fetch(
    rs: JWTVerifier, jwks: respx.Route
) -> None:
    await rejected(rs, jwt.encode(payload(), RSA_KEY, algorithm="RS256"))

    assert jwks.call_count == 0


async def test_a_rotated_key_is_accepted_after_one_refetch(
    rs: JWTVerifier, jwks: respx.Route, clock: Clock
) -> None:
    await rs.verify(signed("RS256"))
    new_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.return_value = httpx.Response(
        200, json={"keys": [jwk("RS256"), jwk("RS256", "key-2", new_key)]}
    )
    token = jwt.encode(payload(), new_key, algorithm="RS256", headers={"kid": "key-2"})

    # Within 30 s of the last fetch the new kid is refused without a request...
    await rejected(rs, token)
    assert jwks.call_count == 1

    # ...after that, one refetch finds it.
    clock.now += 30
    assert (await rs.verify(token)).user_id == USER
    assert (await rs.verify(token)).user_id == USER
    assert jwks.call_count == 2


async def test_concurrent_verifies_share_one_fetch(
    http: httpx.AsyncClient, clock: Clock, jwks: respx.Route
) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.02)
        return httpx.Response(200, json={"keys": [jwk("ES256")]})

    jwks.side_effect = slow
    verifier = JWTVerifier(jwks_settings("ES256"), http=http, clock=clock)

    results = await asyncio.gather(*(verifier.verify(signed("ES256")) for _ in range(10)))

    assert {claims.user_id for claims in results} == {USER}
    assert jwks.call_count == 1


# --- remembered verifications -------------------------------------------------------------------


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record each signature check PyJWT makes."""
    calls: list[str] = []
    decode = jwt.decode

    def counting(token: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(token)
        return decode(token, *args, **kwargs)

    monkeypatch.setattr(jwt, "decode", counting)
    return calls


async def test_a_verified_token_is_checked_once_a_minute(
    hs: JWTVerifier, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    decodes = count_decodes(monkeypatch)
    token = hs_token()

    for _ in range(3):
        assert (await hs.verify(token)).user_id == USER
    assert len(decodes) == 1

    clock.now += 60
    assert (await hs.verify(token)).user_id == USER
    assert len(decodes) == 2


async def test_a_remembered_token_still_expires(hs: JWTVerifier, clock: Clock) -> None:
    token = hs_token(exp=int(NOW) + 10)
    await hs.verify(token)

    clock.now += 10 + 30  # exp plus the leeway: within the minute it is remembered

    assert (await rejected(hs, token)).message == "token expired"


async def test_forgeries_are_never_remembered(
    hs: JWTVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    decodes = count_decodes(monkeypatch)
    forged = jwt.encode(payload(), "another-secret-0123456789-abcdefghijklmn", algorithm="HS256")

    for _ in range(3):
        await rejected(hs, forged)
    assert len(decodes) == 3


async def test_a_key_withdrawn_from_the_jwks_stops_verifying_with_the_cache(
    rs: JWTVerifier, jwks: respx.Route, clock: Clock
) -> None:
    await rs.verify(signed("RS256", session_id="earlier"))  # fetches the JWKS
    token = signed("RS256")
    clock.now += 570
    await rs.verify(token)  # remembered, but not past the JWKS cache
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks.return_value = httpx.Response(200, json={"keys": [jwk("RS256", "key-2", other)]})

    clock.now += 31  # past the JWKS cache (600 s), within a minute of remembering the token

    await rejected(rs, token)
    assert jwks.call_count == 2


async def test_remembered_tokens_are_bounded(hs: JWTVerifier, clock: Clock) -> None:
    tokens = [hs_token(session_id=str(n)) for n in range(5_000)]
    for token in tokens:
        await hs.verify(token)

    assert len(hs._verified) <= 4_096
    assert tokens[-1] in hs._verified and tokens[0] not in hs._verified


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(500), id="http-500"),
        pytest.param(httpx.Response(404), id="http-404"),
        pytest.param(httpx.ConnectError("refused"), id="connection-error"),
        pytest.param(httpx.ReadTimeout("slow"), id="timeout"),
        pytest.param(httpx.Response(200, text="<html>"), id="not-json"),
        pytest.param(httpx.Response(200, json={"keys": []}), id="no-keys"),
        pytest.param(httpx.Response(200, json={"keys": [jwk("ES256")]}), id="no-rsa-key"),
        pytest.param(httpx.Response(200, json=["not", "a", "jwks"]), id="not-an-object"),
    ],
)
async def test_a_jwks_failure_is_transient(
    rs: JWTVerifier, jwks: respx.Route, answer: httpx.Response | Exception
) -> None:
    if isinstance(answer, Exception):
        jwks.side_effect = answer
    else:
        jwks.return_value = answer

    with pytest.raises(TransientError) as info:
        await rs.verify(signed("RS256"))

    assert info.value.provider == "jwks"
    assert not isinstance(info.value, Unauthenticated)


async def test_a_failed_refresh_keeps_the_cached_keys(
    rs: JWTVerifier, jwks: respx.Route, clock: Clock
) -> None:
    await rs.verify(signed("RS256"))
    jwks.return_value = httpx.Response(503)
    clock.now += 601

    assert (await rs.verify(signed("RS256"))).user_id == USER
    assert (await rs.verify(signed("RS256"))).user_id == USER
    assert jwks.call_count == 2  # retried no more than once per 30 s

    jwks.return_value = httpx.Response(200, json={"keys": [jwk("RS256")]})
    clock.now += 30
    await rs.verify(signed("RS256"))
    assert jwks.call_count == 3


async def test_a_cold_failure_is_retried_on_the_next_verify(
    rs: JWTVerifier, jwks: respx.Route
) -> None:
    jwks.side_effect = [
        httpx.ConnectError("down"),
        httpx.Response(200, json={"keys": [jwk("RS256")]}),
    ]

    with pytest.raises(TransientError):
        await rs.verify(signed("RS256"))
    assert (await rs.verify(signed("RS256"))).user_id == USER


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"use": "enc"}, id="encryption-key"),
        pytest.param({"alg": "RS512"}, id="other-alg"),
        pytest.param({"kid": None}, id="no-kid"),
        pytest.param({"n": "%%%"}, id="malformed"),
        pytest.param({"d": "c2VjcmV0"}, id="private-material"),
    ],
)
async def test_unusable_jwks_entries_are_ignored(
    rs: JWTVerifier, jwks: respx.Route, entry: dict[str, Any]
) -> None:
    bad = {name: value for name, value in {**jwk("RS256"), **entry}.items() if value is not None}
    jwks.return_value = httpx.Response(200, json={"keys": [bad, "junk", jwk("RS256", "key-2")]})

    await rejected(rs, signed("RS256"))
    assert (await rs.verify(signed("RS256", kid="key-2"))).user_id == USER


async def test_a_jwk_without_alg_serves_each_pinned_algorithm(
    http: httpx.AsyncClient, clock: Clock, jwks: respx.Route
) -> None:
    bare = {k: v for k, v in jwk("RS256").items() if k != "alg"}
    jwks.return_value = httpx.Response(200, json={"keys": [bare]})
    verifier = JWTVerifier(jwks_settings(algorithms=("RS256", "PS256")), http=http, clock=clock)

    for alg in ("RS256", "PS256"):
        token = jwt.encode(payload(), RSA_KEY, algorithm=alg, headers={"kid": "key-1"})
        assert (await verifier.verify(token)).user_id == USER


async def test_aclose_closes_only_its_own_client(
    http: httpx.AsyncClient, clock: Clock, jwks: respx.Route
) -> None:
    borrowed = JWTVerifier(jwks_settings(), http=http, clock=clock)
    await borrowed.verify(signed("RS256"))
    await borrowed.aclose()
    assert not http.is_closed

    owned = JWTVerifier(jwks_settings(), clock=clock)
    assert (await owned.verify(signed("RS256"))).user_id == USER
    await owned.aclose()
    await owned.aclose()  # idempotent


# --- settings, dev tokens, secrecy -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({}, "GHOSTART_JWT_SECRET"),
        ({"secret": SECRET, "jwks_url": JWKS_URL}, "GHOSTART_JWT_JWKS_URL"),
        ({"secret": SECRET, "algorithms": ("none",)}, "'none'"),
        ({"secret": SECRET, "algorithms": ("HS256", "NONE")}, "'none'"),
        ({"secret": SECRET, "algorithms": ()}, "GHOSTART_JWT_ALGORITHMS"),
        ({"secret": SECRET, "algorithms": ("XS256",)}, "GHOSTART_JWT_ALGORITHMS"),
        ({"secret": SECRET, "algorithms": ("RS256",)}, "needs a JWKS URL"),
        ({"secret": SECRET, "algorithms": ("HS256", "ES256")}, "needs a JWKS URL"),
        ({"jwks_url": JWKS_URL}, "needs a secret"),  # the HS256 default
        ({"jwks_url": JWKS_URL, "algorithms": ("ES256", "HS256")}, "needs a secret"),
        ({"jwks_url": "http://project.supabase.co/jwks.json", "algorithms": ("ES256",)}, "https"),
        ({"jwks_url": "not a url", "algorithms": ("ES256",)}, "GHOSTART_JWT_JWKS_URL"),
        ({"secret": "too-short-secret"}, "GHOSTART_JWT_SECRET"),
        ({"secret": SECRET + "\n"}, "whitespace"),
        ({"secret": "-----BEGIN PUBLIC KEY-----" + "A" * 40}, "GHOSTART_JWT_JWKS_URL"),
        ({"secret": 12345678901234567890123456789012345}, "GHOSTART_JWT_SECRET"),
        ({"secret": SECRET, "audience": " "}, "GHOSTART_JWT_AUDIENCE"),
        ({"secret": SECRET, "issuer": ""}, "GHOSTART_JWT_ISSUER"),
        ({"secret": SECRET, "leeway_seconds": -1}, "GHOSTART_JWT_LEEWAY_SECONDS"),
        ({"secret": SECRET, "jwks_cache_seconds": 0}, "jwks_cache_seconds"),
    ],
)
def test_bad_settings_name_the_setting(kwargs: dict[str, Any], names: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        JWTSettings(**kwargs)

    assert names in str(info.value)
    assert SECRET not in str(info.value)
    assert "12345678901234567890" not in str(info.value)


def test_local_http_jwks_is_allowed_for_supabase_cli() -> None:
    url = "http://127.0.0.1:54321/auth/v1/.well-known/jwks.json"

    assert JWTSettings(jwks_url=url, algorithms=("ES256",)).jwks_url == url


def test_settings_are_frozen() -> None:
    settings = hs_settings()

    with pytest.raises(ValueError, match="frozen"):
        settings.audience = "anon"  # type: ignore[misc]


async def test_mint_dev_token_round_trips(clock: Clock) -> None:
    verifier = JWTVerifier(hs_settings(), clock=clock)
    token = mint_dev_token(SECRET, USER, email="ada@example.com", issuer=ISSUER, now=NOW)

    claims = await verifier.verify(token)

    assert (claims.user_id, claims.email, claims.role) == (USER, "ada@example.com", "authenticated")
    assert claims.expires_at == datetime.fromtimestamp(NOW + 3600, UTC)
    assert set(claims.raw) == {"sub", "email", "role", "aud", "iss", "iat", "exp"}
    assert jwt.get_unverified_header(token)["alg"] == "HS256"


async def test_mint_dev_token_honours_ttl_and_audience(clock: Clock) -> None:
    verifier = JWTVerifier(hs_settings(issuer=None, audience="my-app"), clock=clock)
    token = mint_dev_token(SECRET, USER, audience="my-app", ttl_seconds=60, now=NOW)

    claims = await verifier.verify(token)
    assert claims.email is None
    clock.now += 60 + 31
    await rejected(verifier, token)


def test_mint_dev_token_refuses_nonsense() -> None:
    with pytest.raises(ConfigurationError):
        mint_dev_token("", USER)
    with pytest.raises(ValueError, match="ttl_seconds"):
        mint_dev_token(SECRET, USER, ttl_seconds=0)


async def test_no_secret_or_token_in_reprs_or_errors(
    caplog: pytest.LogCaptureFixture, hs: JWTVerifier
) -> None:
    settings = hs_settings()
    token = hs_token()
    caplog.set_level("DEBUG", logger="ghostart.web")

    claims = await hs.verify(token)
    await rejected(hs, token[:-2] + "xy")

    for text in (repr(settings), str(settings), settings.model_dump_json(), repr(hs), repr(claims)):
        assert SECRET not in text
        assert token not in text
    assert SECRET not in caplog.text
    assert token.split(".")[2] not in caplog.text
