"""Little text: every reserved character escaped, mentions kept, hashtags linked, length checked."""

from __future__ import annotations

import json
import random

import pytest

from ghostart.errors import InvalidInput
from ghostart_linkedin import little
from ghostart_linkedin.fake import FakeLinkedIn
from ghostart_linkedin.publisher import LinkedInPost, LinkedInPublisher
from ghostart_linkedin.testing import post_element
from tests.adapters.linkedin.conftest import Connect

MENTION = "@[Ada Lovelace](urn:li:person:a1B2c3D4)"
TEXT = (
    "Back\\slash | pipe {braces} @handle [brackets] (parens) <angles> #launch *stars* "
    f"_under_ ~tilde~, thanks {MENTION} and @[Acme Corp](urn:li:organization:2414183)!"
)
#: Exactly what LinkedIn expects in ``commentary`` for TEXT.
EXPECTED = (
    "Back\\\\slash \\| pipe \\{braces\\} \\@handle \\[brackets\\] \\(parens\\) \\<angles\\> "
    "{hashtag|\\#|launch} \\*stars\\* \\_under\\_ \\~tilde\\~, thanks "
    f"{MENTION} and @[Acme Corp](urn:li:organization:2414183)!"
)


async def test_every_reserved_character_and_a_mention_give_the_exact_body(
    publisher: LinkedInPublisher, linkedin: FakeLinkedIn, connect: Connect
) -> None:
    connection = await connect()
    await publisher.publish_post(
        LinkedInPost(
            organization_id=connection.organization_id, user_id=connection.user_id, text=TEXT
        )
    )
    [create] = [r for r in linkedin.requests if r.method == "POST" and r.url.path == "/rest/posts"]
    assert json.loads(create.content)["commentary"] == EXPECTED
    # What the member sees is what they wrote.
    assert little.normalize(EXPECTED) == " ".join(TEXT.split())


def test_hashtags_as_text_are_escaped_like_any_other_character() -> None:
    assert little.escape("Ship #launch", hashtags="text") == "Ship \\#launch"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("C# and F#", "C\\# and F\\#"),  # not a hashtag: inside a word
        ("#1 priority", "\\#1 priority"),  # digits only
        ("##double", "\\#\\#double"),
        ("#my_tag", "\\#my\\_tag"),  # LinkedIn's hashtags have no underscore
        ("(#Hiring)", "\\({hashtag|\\#|Hiring}\\)"),
        ("#Café2026", "{hashtag|\\#|Café2026}"),
        ("@[Name](https://evil.example)", "\\@\\[Name\\]\\(https://evil.example\\)"),
        ("@[Na]me](urn:li:person:1)", "\\@\\[Na\\]me\\]\\(urn:li:person:1\\)"),
    ],
)
def test_only_well_formed_elements_are_kept(text: str, expected: str) -> None:
    assert little.escape(text) == expected


def test_no_reserved_character_is_left_unescaped_outside_an_element() -> None:
    rng = random.Random(7)
    alphabet = "ab #_\\|{}@[]()<>*~\n1é"
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        escaped = little.escape(text)
        bare = little._TEMPLATE.sub("", escaped)
        i = 0
        while i < len(bare):
            if bare[i] == "\\":
                assert i + 1 < len(bare) and bare[i + 1] in little.RESERVED, (text, escaped)
                i += 2
                continue
            assert bare[i] not in little.RESERVED, (text, escaped)
            i += 1
        assert little.normalize(escaped) == " ".join(text.split())


def test_the_limit_is_checked_on_the_escaped_text() -> None:
    assert len(little.commentary("x" * 3000)) == 3000
    with pytest.raises(InvalidInput) as caught:
        little.commentary("x" * 2980 + "()" * 10)  # 3,000 as typed, 3,020 once escaped
    assert caught.value.details["length"] == 3020 and "shorten it by 20" in str(caught.value)


def test_normalize_matches_what_linkedin_returns_for_a_post() -> None:
    sent = little.commentary("Big news (finally) #launch")
    returned = post_element("urn:li:share:1", "urn:li:person:x", sent)["commentary"]
    assert little.normalize(returned) == little.normalize(sent) == "Big news (finally) #launch"
    # LinkedIn writes hashtags typed in its own editor with the sign unescaped.
    assert little.normalize("Big news \\(finally\\) {hashtag|#|launch}") == little.normalize(sent)
