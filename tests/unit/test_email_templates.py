"""Every template renders to HTML that parses and a text part; user text arrives escaped."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from ghostart.email import TEMPLATES, EmailRenderer
from ghostart.errors import InvalidInput, NotFound
from ghostart.models import EmailCategory

VOID = {"meta", "br", "img", "hr", "input", "link"}
UNSUBSCRIBE = "https://app.acme.example/v1/email/unsubscribe?token=u1.k1.x"


class _Strict(HTMLParser):
    """Records tags, links, script elements and the visible text; checks that tags balance."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.hrefs: list[str] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        self.hrefs += [v or "" for k, v in attrs if k == "href"]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(html: str) -> _Strict:
    parser = _Strict()
    parser.feed(html)
    parser.close()
    assert parser.errors == [] and parser.stack == [], (parser.errors, parser.stack)
    return parser


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_template_renders_html_that_parses_and_a_text_part(name: str) -> None:
    rendered = EmailRenderer(preferences_url="https://app.acme.example/settings/email").preview(
        name
    )
    parsed = _parse(rendered.html)
    assert rendered.html.lstrip().startswith("<!DOCTYPE html>")
    assert parsed.scripts == 0
    assert rendered.text.strip() and "<p" not in rendered.text and "<a " not in rendered.text
    assert rendered.subject and "\n" not in rendered.subject
    assert all(h.startswith(("https://", "http://")) for h in parsed.hrefs)
    spec = TEMPLATES[name]
    if spec.category is EmailCategory.TRANSACTIONAL:
        assert "unsubscribe" not in rendered.text.lower()
    else:  # optional mail links its unsubscribe URL in both parts
        assert any("unsubscribe" in h for h in parsed.hrefs)
        assert "/v1/email/unsubscribe?token=" in rendered.text


def test_a_post_body_with_script_arrives_escaped_in_html_and_intact_in_text() -> None:
    attack = 'Great quarter! <script>alert("x")</script> <img src=x onerror=alert(1)> & more'
    data = TEMPLATES["post_rejected"].sample | {
        "post_body": attack,
        "note": "<b>bold</b> note",
        "reviewer_name": "Eve</strong><script>steal()</script>",
    }
    rendered = EmailRenderer().render("post_rejected", data, unsubscribe_url=UNSUBSCRIBE)
    parsed = _parse(rendered.html)
    assert parsed.scripts == 0
    assert "<script>" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in rendered.html
    assert "&lt;b&gt;bold&lt;/b&gt;" in rendered.html
    visible = "".join(parsed.text)
    assert '<script>alert("x")</script>' in visible  # shown as text, never run
    assert attack in rendered.text  # text/plain carries it as written


def test_paragraphs_keep_the_post_shape_and_subjects_stay_one_line() -> None:
    data = TEMPLATES["review_requested"].sample | {
        "post_body": "Line one\nline two\n\nSecond paragraph",
        "author_name": "Grace\r\nBcc: everyone@example.com",
    }
    rendered = EmailRenderer().render("review_requested", data, unsubscribe_url=UNSUBSCRIBE)
    assert "Line one<br>\nline two</p>" in rendered.html
    assert rendered.html.count("Second paragraph</p>") == 1
    assert rendered.subject == "Grace Bcc: everyone@example.com asks you to review a post"


def test_links_must_be_http_urls() -> None:
    data = TEMPLATES["post_published"].sample | {"linkedin_url": "javascript:alert(1)"}
    with pytest.raises(InvalidInput, match="linkedin_url"):
        EmailRenderer().render("post_published", data, unsubscribe_url=UNSUBSCRIBE)


def test_missing_data_and_unknown_templates_are_typed_errors() -> None:
    renderer = EmailRenderer()
    with pytest.raises(InvalidInput, match="post_body"):
        renderer.render(
            "draft_ready",
            {"app_url": "https://a.example", "post_url": "https://a.example/p"},
            unsubscribe_url=UNSUBSCRIBE,
        )
    with pytest.raises(NotFound, match="weekly_digest"):
        renderer.render("weekly_digets", {})


def test_optional_mail_needs_an_unsubscribe_link_and_transactional_shows_none() -> None:
    renderer = EmailRenderer()
    with pytest.raises(InvalidInput, match="unsubscribe"):
        renderer.render("weekly_digest", TEMPLATES["weekly_digest"].sample)
    rendered = renderer.render(
        "member_added", TEMPLATES["member_added"].sample, unsubscribe_url=UNSUBSCRIBE
    )
    assert UNSUBSCRIBE not in rendered.html and "service email" in rendered.text


def test_times_are_shown_in_the_recipient_time_zone() -> None:
    data = TEMPLATES["post_scheduled"].sample | {
        "scheduled_for": "2026-12-01T08:30:00Z",
        "timezone": "America/New_York",
    }
    rendered = EmailRenderer().render("post_scheduled", data, unsubscribe_url=UNSUBSCRIBE)
    assert "Tue 1 Dec 2026, 03:30 (America/New_York)" in rendered.text


def test_rendering_is_deterministic() -> None:
    # A retried send must carry the payload its idempotency key was first used with.
    first = EmailRenderer().preview("weekly_digest")
    assert EmailRenderer().preview("weekly_digest") == first


def test_to_email_tags_the_template_and_category() -> None:
    email = (
        EmailRenderer()
        .preview("draft_ready")
        .to_email(
            ["ada@example.com"],
            idempotency_key="email:1",
            headers={"List-Unsubscribe": "<https://x>"},
        )
    )
    assert email.tags == {"category": "notifications", "template": "draft_ready"}
    assert email.headers == {"List-Unsubscribe": "<https://x>"}
    assert email.html and email.text and email.subject == "Your draft is ready for review"
