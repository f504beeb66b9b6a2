"""Images for posts (Images API): initialize the upload, upload the bytes, wait until available.

1. ``POST /rest/images?action=initializeUpload`` with ``{"initializeUploadRequest":
   {"owner": <author URN>}}`` answers ``value.uploadUrl`` and ``value.image`` (the image URN);
2. the bytes go to ``uploadUrl`` with a ``PUT`` (only ever to a LinkedIn host: it carries the
   member's token);
3. ``GET /rest/images/{urn}`` until ``status`` is ``AVAILABLE``. ``PROCESSING_FAILED`` is a
   :class:`~ghostart.errors.PermanentError`; still processing after
   ``GHOSTART_LINKEDIN_IMAGE_POLL_ATTEMPTS`` polls is a :class:`~ghostart.errors.TransientError`
   (no post was made, so trying again is safe).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from ghostart.errors import InvalidInput, PermanentError, TransientError
from ghostart_linkedin.api import ApiSession
from ghostart_linkedin.errors import PROVIDER, body_of

__all__ = ["ImageUpload", "upload_image"]

#: The formats the Images API takes.
CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/gif"})
#: LinkedIn's cap is on pixels (36,152,320); this is a sanity bound on the bytes we hold.
MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True)
class ImageUpload:
    """An image to attach: the bytes, their type, and the alternative text for screen readers."""

    data: bytes = field(repr=False)
    content_type: str = "image/jpeg"
    alt_text: str | None = None

    def __post_init__(self) -> None:
        if self.content_type not in CONTENT_TYPES:
            raise InvalidInput(
                f"LinkedIn takes JPEG, PNG or GIF images, not {self.content_type}",
                field="image.content_type",
            )
        if not self.data or len(self.data) > MAX_BYTES:
            raise InvalidInput(
                f"the image must be 1 byte to {MAX_BYTES // (1024 * 1024)} MB", field="image"
            )
        if self.alt_text is not None and len(self.alt_text) > 4086:
            raise InvalidInput("alt text is limited to 4,086 characters", field="image.alt_text")


async def upload_image(
    session: ApiSession,
    owner: str,
    image: ImageUpload,
    *,
    poll_interval: float,
    poll_attempts: int,
    sleep: Callable[[float], Awaitable[None]],
) -> str:
    """Upload ``image`` for ``owner`` (a person or organization URN); its ``urn:li:image:...``."""
    response = await session.request(
        "POST",
        "/rest/images",
        query="action=initializeUpload",
        json={"initializeUploadRequest": {"owner": owner}},
        operation="initialize the image upload",
    )
    value = body_of(response).get("value") or {}
    upload_url, urn = value.get("uploadUrl"), value.get("image")
    if not isinstance(upload_url, str) or not isinstance(urn, str):
        raise TransientError(
            "linkedin: initializeUpload answered without uploadUrl and image",
            provider=PROVIDER,
            raw=value,
        )
    await session.upload(upload_url, image.data, image.content_type)
    for attempt in range(poll_attempts):
        response = await session.request(
            "GET", f"/rest/images/{quote(urn, safe='')}", operation="read the image's status"
        )
        status = body_of(response).get("status")
        if status == "AVAILABLE":
            return urn
        if status == "PROCESSING_FAILED":
            raise PermanentError(
                f"linkedin: the image {urn} could not be processed (PROCESSING_FAILED); check "
                "its format and size",
                provider=PROVIDER,
                raw=body_of(response),
            )
        if attempt + 1 < poll_attempts:
            await sleep(poll_interval)
    raise TransientError(
        f"linkedin: the image {urn} is not available after {poll_attempts} checks",
        provider=PROVIDER,
    )
