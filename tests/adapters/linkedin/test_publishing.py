"""Posts on the Posts API: text, article, image, as a page; delete; find; never twice."""

from __future__ import annotations

import json
from uuid import uuid4

import httpx
import pytest

from ghostart.errors import DuplicateContent, InvalidInput, PermanentError, TransientError
from ghostart.ports import PublishRequest
from ghostart_linkedin.errors import NotConnected
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.images import ImageUpload
from ghostart_linkedin.publisher import Article, LinkedInPost, LinkedInPublisher
from tests.adapters.linkedin.conftest import Connect

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def _creates(linkedin: FakeLinkedIn) -> list[httpx.Request]:
    return [r for r in linkedin.requests if r.method == "POST" and r.url.path == "/rest/posts"]


def _request(
    connection: object, body: str = "Shipping the new onboarding today."
) -> PublishRequest:
    post_id = uuid4()
    return PublishRequest(
        post_id=post_id,
        organization_id=connection.organization_id,  # type: ignore[attr-defined]
        author_id=connection.user_id,  # type: ignore[attr-defined]
        body=body,
        idempotency_key=f"post:{post_id}",
    )


async def test_a_text_post_is_sent_as_linkedin_documents_it(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    publication = await publisher.publish(_request(connection))
    [create] = _creates(linkedin)
    assert create.url == "https://api.linkedin.com/rest/posts"
    assert create.headers["linkedin-version"] == "202610"
    assert create.headers["x-restli-protocol-version"] == "2.0.0"
    assert create.headers["authorization"].startswith("Bearer AQV-access-782bbtaQ")
    assert json.loads(create.content) == {
        "author": "urn:li:person:782bbtaQ",
        "commentary": "Shipping the new onboarding today.",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    [post] = linkedin.posts
    assert publication.external_id == post["id"]  # from x-restli-id
    assert publication.url == f"https://www.linkedin.com/feed/update/{post['id']}/"


async def test_an_article_link_carries_its_title_description_and_thumbnail(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    article = Article(
        source="https://blog.example.com/onboarding",
        title="What our first week looks like",
        description="A named mentor, a first change shipped in days.",
        thumbnail=ImageUpload(PNG, "image/png"),
    )
    await publisher.publish_post(
        LinkedInPost(
            organization_id=connection.organization_id,
            user_id=connection.user_id,
            text="New on the blog",
            article=article,
        )
    )
    [create] = _creates(linkedin)
    [image_urn] = linkedin.images
    assert json.loads(create.content)["content"] == {
        "article": {
            "source": "https://blog.example.com/onboarding",
            "title": "What our first week looks like",
            "description": "A named mentor, a first change shipped in days.",
            "thumbnail": image_urn,
        }
    }


async def test_an_image_is_uploaded_and_waited_for_before_the_post(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    linkedin.processing_polls = 2
    connection = await connect()
    await publisher.publish_post(
        LinkedInPost(
            organization_id=connection.organization_id,
            user_id=connection.user_id,
            text="Our team offsite",
            image=ImageUpload(PNG, "image/png", alt_text="Twelve people on a hill"),
        )
    )
    [(image_urn, image)] = linkedin.images.items()
    initialize = next(r for r in linkedin.requests if "initializeUpload" in str(r.url))
    assert json.loads(initialize.content) == {
        "initializeUploadRequest": {"owner": "urn:li:person:782bbtaQ"}
    }
    assert linkedin.uploads[image_urn] == PNG and image["status"] == "AVAILABLE"
    assert linkedin.calls("image") == 3  # processing, processing, available
    order = [r.method + " " + r.url.path.split("/")[2] for r in linkedin.requests[-5:]]
    assert order[-1] == "POST posts"  # the post comes only after the image is available
    [create] = _creates(linkedin)
    assert json.loads(create.content)["content"] == {
        "media": {"id": image_urn, "altText": "Twelve people on a hill"}
    }


async def test_an_image_linkedin_can_not_process_makes_no_post(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    linkedin.fail_next(
        "image",
        httpx.Response(200, json={"owner": "x", "status": "PROCESSING_FAILED", "id": "x"}),
    )
    with pytest.raises(PermanentError, match="PROCESSING_FAILED"):
        await publisher.publish_post(
            LinkedInPost(
                organization_id=connection.organization_id,
                user_id=connection.user_id,
                text="Broken picture",
                image=ImageUpload(PNG, "image/png"),
            )
        )
    assert linkedin.posts == [] and _creates(linkedin) == []


async def test_the_token_is_never_sent_to_an_upload_url_outside_linkedin(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    evil = {"value": {"uploadUrl": "https://uploads.evil.example/x", "image": "urn:li:image:1"}}
    linkedin.fail_next("initialize_upload", httpx.Response(200, json=evil))
    with pytest.raises(PermanentError, match="refusing to upload"):
        await publisher.publish_post(
            LinkedInPost(
                organization_id=connection.organization_id,
                user_id=connection.user_id,
                text="x",
                image=ImageUpload(PNG, "image/png"),
            )
        )
    assert not [r for r in linkedin.requests if r.url.host == "uploads.evil.example"]


async def test_a_page_posts_through_the_organization_app(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    member = await connect(sub="member1")
    page = await connect(
        organization_id=member.organization_id,
        user_id=member.user_id,
        sub="admin1",
        app="organization",
    )
    post = LinkedInPost(
        organization_id=member.organization_id,
        user_id=member.user_id,
        text="We are hiring",
        as_organization="urn:li:organization:2414183",
    )
    await publisher.publish_post(post)
    [create] = _creates(linkedin)
    assert json.loads(create.content)["author"] == "urn:li:organization:2414183"
    token = create.headers["authorization"].removeprefix("Bearer ")
    assert linkedin.access_tokens[token] == "admin1"  # the page app's connection, not the member's
    assert (await publisher.find_post(post)) is not None
    assert page.app == "organization"


async def test_posting_as_a_page_without_the_organization_connection_is_refused(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    member = await connect()
    with pytest.raises(NotConnected, match="organization app"):
        await publisher.publish_post(
            LinkedInPost(
                organization_id=member.organization_id,
                user_id=member.user_id,
                text="x",
                as_organization="urn:li:organization:1",
            )
        )
    assert linkedin.requests == []


async def test_too_long_once_escaped_is_refused_before_any_call(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect(expires_in=60)  # would be refreshed if anything were sent
    with pytest.raises(InvalidInput, match="3020 characters"):
        await publisher.publish(_request(connection, "x" * 2980 + "()" * 10))
    assert linkedin.requests == []


async def test_delete_removes_the_post_and_a_second_delete_is_fine(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    publication = await publisher.publish(_request(connection))
    await publisher.delete(connection.key, publication.external_id)
    delete = linkedin.requests[-1]
    assert delete.method == "DELETE" and delete.headers["x-restli-method"] == "DELETE"
    assert delete.url.raw_path.decode().endswith(
        "/rest/posts/urn%3Ali%3Ashare%3A" + publication.external_id.rsplit(":", 1)[1]
    )
    assert linkedin.posts == []
    await publisher.delete(connection.key, publication.external_id)  # 404: already gone


async def test_find_reads_the_authors_recent_posts_and_matches_the_text(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    request = _request(connection, "Lessons (and mistakes) from #onboarding 40 engineers")
    published = await publisher.publish(request)
    found = await publisher.find(request)
    assert found is not None and found.external_id == published.external_id
    listing = linkedin.requests[-1]
    assert listing.url.query.decode() == (
        "q=author&author=urn%3Ali%3Aperson%3A782bbtaQ&count=20&sortBy=LAST_MODIFIED"
    )
    assert await publisher.find(_request(connection, "Something else entirely")) is None


async def test_without_r_member_social_find_answers_none(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    linkedin.can_read_member_posts = False
    connection = await connect()
    request = _request(connection)
    await publisher.publish(request)
    assert await publisher.find(request) is None


async def test_a_publish_that_timed_out_after_linkedin_accepted_it_is_found_not_repeated(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    request = _request(connection)
    linkedin.fail_next("create", "timeout_after")
    with pytest.raises(TransientError) as caught:
        await publisher.publish(request)
    assert caught.value.details["ambiguous"] is True
    assert linkedin.calls("create") == 1  # never repeated inside the adapter
    found = await publisher.find(request)
    [post] = linkedin.posts
    assert found is not None and found.external_id == post["id"]
    # A retry that does not ask first is told it is a duplicate, with the existing URN.
    with pytest.raises(DuplicateContent) as duplicate:
        await publisher.publish(request)
    assert duplicate.value.existing_id == post["id"]
    assert len(linkedin.posts) == 1


async def test_a_timeout_before_linkedin_acted_is_not_ambiguous(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    linkedin.fail_next("create", "timeout")
    with pytest.raises(TransientError):
        await publisher.publish(_request(connection))
    assert linkedin.posts == [] and await publisher.find(_request(connection)) is None
    linkedin.routes["create"].side_effect = httpx.ConnectError("refused")
    with pytest.raises(TransientError) as caught:
        await publisher.publish(_request(connection))
    assert caught.value.details["ambiguous"] is False
