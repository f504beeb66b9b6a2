"""LinkedIn's documented request and response shapes, for tests with respx (no network).

Sources (cited in docs/adapters/linkedin.md): LinkedIn's Posts API, Images API, little text
format, Authorization Code Flow and Refresh Tokens pages on learn.microsoft.com, and error
bodies exactly as LinkedIn sent them in public bug reports (the 422 duplicate, the 426 version,
the 401 revoked token, the 429 daily throttle, the 403 missing permission). ``respx`` comes with
``ghostart[test]``; :mod:`ghostart_linkedin.fake` serves these from a stateful fake.
"""

from __future__ import annotations

from typing import Any

import httpx

from ghostart_linkedin.settings import API_BASE_URL, DEFAULT_VERSION, OAUTH_BASE_URL

__all__ = [
    "API_BASE_URL",
    "DEFAULT_VERSION",
    "DOCUMENTED_ERRORS",
    "OAUTH_BASE_URL",
    "OAUTH_ERRORS",
    "error_response",
    "image_status",
    "initialize_upload",
    "oauth_error_response",
    "post_element",
    "token_response",
    "userinfo",
]


def token_response(
    access_token: str,
    *,
    expires_in: int = 5_184_000,
    refresh_token: str | None = None,
    refresh_token_expires_in: int | None = None,
    scope: str = "email,openid,profile,w_member_social",
) -> dict[str, Any]:
    """``POST /oauth/v2/accessToken``: 60 days, plus a refresh token for approved partners."""
    body: dict[str, Any] = {
        "access_token": access_token,
        "expires_in": expires_in,
        "scope": scope,
        "token_type": "Bearer",
        "id_token": "eyJ6aXAiOiJERUYiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.c2lnbmVk",
    }
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
        body["refresh_token_expires_in"] = refresh_token_expires_in or 31_536_000
    return body


def userinfo(sub: str = "782bbtaQ", name: str = "John Doe") -> dict[str, Any]:
    """``GET /v2/userinfo`` (OpenID Connect)."""
    given, _, family = name.partition(" ")
    return {
        "sub": sub,
        "email_verified": True,
        "name": name,
        "locale": {"country": "US", "language": "en"},
        "given_name": given,
        "family_name": family,
        "email": f"{given.lower()}@example.com",
        "picture": "https://media.licdn.com/dms/image/C5603AQH/profile-displayphoto-shrink_100_100/0/",
    }


def post_element(
    urn: str, author: str, commentary: str, *, published_at_ms: int = 1_764_000_000_000
) -> dict[str, Any]:
    """One element of ``GET /rest/posts?q=author`` (a published post)."""
    return {
        "id": urn,
        "author": author,
        "commentary": commentary,
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "lifecycleStateInfo": {"isEditedByAuthor": False},
        "isReshareDisabledByAuthor": False,
        "createdAt": published_at_ms,
        "publishedAt": published_at_ms,
        "lastModifiedAt": published_at_ms,
    }


def initialize_upload(image_urn: str, upload_url: str) -> dict[str, Any]:
    """``POST /rest/images?action=initializeUpload``."""
    return {
        "value": {
            "uploadUrlExpiresAt": 1_764_086_400_000,
            "uploadUrl": upload_url,
            "image": image_urn,
        }
    }


def image_status(image_urn: str, owner: str, status: str) -> dict[str, Any]:
    """``GET /rest/images/{urn}``: ``WAITING_UPLOAD``, ``PROCESSING``, ``AVAILABLE``, ..."""
    body: dict[str, Any] = {"owner": owner, "status": status, "id": image_urn}
    if status == "AVAILABLE":
        body |= {
            "downloadUrl": "https://media.licdn.com/dms/image/D4E10AQ/image-shrink_1280/0/",
            "downloadUrlExpiresAt": 1_764_172_800_000,
            "mediaType": "image/png",
        }
    return body


#: Error bodies of the REST API, by name: (status, body).
DOCUMENTED_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "invalid_token": (
        401,
        {"serviceErrorCode": 65600, "message": "Invalid access token", "status": 401},
    ),
    "revoked_token": (
        401,
        {
            "status": 401,
            "serviceErrorCode": 65601,
            "code": "REVOKED_ACCESS_TOKEN",
            "message": "The token used in the request has been revoked by the user",
        },
    ),
    "access_denied": (
        403,
        {
            "status": 403,
            "serviceErrorCode": 100,
            "code": "ACCESS_DENIED",
            "message": "Not enough permissions to access: POST /posts",
        },
    ),
    "bad_request": (
        400,
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "Invalid param. Please see errorDetails for more information.",
            "errorDetails": {
                "inputErrors": [
                    {
                        "description": "Invalid value for field; wrong type or other syntax error",
                        "input": {"inputPath": {"fieldPath": "/visibility"}},
                        "code": "ERROR_PARSING_FIELD",
                    }
                ]
            },
            "status": 400,
        },
    ),
    "duplicate_post": (
        422,
        {
            "errorDetailType": "com.linkedin.common.error.BadRequest",
            "message": "com.linkedin.content.common.exception.BadRequestResponseException: "
            "Content is a duplicate of urn:li:share:7141138937766391808",
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
    ),
    "nonexistent_version": (
        426,
        {
            "status": 426,
            "code": "NONEXISTENT_VERSION",
            "message": "Requested version 20240401 is not active",
        },
    ),
    "throttled_application": (
        429,
        {
            "status": 429,
            "serviceErrorCode": 101,
            "code": "TOO_MANY_REQUESTS",
            "message": "Resource level throttle APPLICATION DAY limit for calls to this resource "
            "is reached.",
        },
    ),
    "throttled": (
        429,
        {
            "serviceErrorCode": 101,
            "message": "Resource level throttle limit for calls to this resource is reached.",
            "status": 429,
        },
    ),
    "server_error": (500, {"message": "Internal Server Error", "status": 500}),
    "gateway_timeout": (504, {}),
}

#: Error bodies of the token endpoint (``/oauth/v2/accessToken``): (status, body).
OAUTH_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "invalid_grant": (
        400,
        {
            "error": "invalid_grant",
            "error_description": "The provided authorization grant or refresh token is invalid, "
            "expired or revoked.",
        },
    ),
    "invalid_client": (
        401,
        {"error": "invalid_client", "error_description": "Client authentication failed"},
    ),
    "code_mismatch": (
        400,
        {
            "error": "invalid_request",
            "error_description": "Unable to retrieve access token: appid/redirect uri/code "
            "verifier does not match authorization code. Or authorization code expired. Or "
            "external member binding exists",
        },
    ),
}


def error_response(name: str) -> httpx.Response:
    """The documented REST error ``name`` as a response (an empty body stays empty)."""
    status, body = DOCUMENTED_ERRORS[name]
    if not body:
        return httpx.Response(status, text="")
    return httpx.Response(status, json=body, headers={"x-li-uuid": "AAYYmBv8m3gAAAAAAAAAAA=="})


def oauth_error_response(name: str) -> httpx.Response:
    """The documented token-endpoint error ``name`` as a response."""
    status, body = OAUTH_ERRORS[name]
    return httpx.Response(status, json=body)
