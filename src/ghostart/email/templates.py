"""Render an email from the catalog: HTML and plain text, from one validated set of data.

The HTML environment autoescapes everything (post bodies come from users and language models), so
a ``<script>`` in a post arrives as text. Templates never mark data safe; the only filters that
return markup (``paragraphs``) escape first. Links go through ``safe_url``, which lets only
``http`` and ``https`` through. The text environment does not escape: it is ``text/plain``.

Rendering is deterministic: the same name and data give the same bytes (nothing reads the clock),
so the retry of a send carries the very payload its idempotency key was first used with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from pydantic import HttpUrl, ValidationError

from ghostart.email.catalog import TEMPLATES, EmailContext, TemplateSpec
from ghostart.errors import InvalidInput, NotFound
from ghostart.models import EmailCategory
from ghostart.models.base import invalid_input_from
from ghostart.ports.mailer import Email

__all__ = ["EmailRenderer", "RenderedEmail"]

_SUBJECT_MAX = 300


@dataclass(frozen=True)
class RenderedEmail:
    """One rendered email, ready to become a :class:`~ghostart.ports.mailer.Email`."""

    template: str
    category: EmailCategory
    subject: str
    html: str
    text: str

    def to_email(
        self,
        to: list[str],
        *,
        idempotency_key: str,
        sender: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Email:
        """The message to send, tagged with its template and category."""
        return Email(
            to=to,
            subject=self.subject,
            text=self.text,
            html=self.html,
            sender=sender,
            headers=dict(headers or {}),
            tags={"category": self.category.value, "template": self.template},
            idempotency_key=idempotency_key,
        )


def _safe_url(value: object) -> str:
    text = str(value) if isinstance(value, str | HttpUrl) else ""
    return text if text.lower().startswith(("https://", "http://")) else "#"


def _paragraphs(value: object) -> Markup:
    """Escape ``value``, then blank lines become paragraphs and single newlines ``<br>``."""
    blocks = [b.strip() for b in str(value).replace("\r\n", "\n").split("\n\n") if b.strip()]
    style = 'style="margin:0 0 12px 0;white-space:normal"'
    return Markup("").join(
        Markup(f"<p {style}>")
        + Markup("<br>\n").join(escape(line) for line in b.split("\n"))
        # the markup above is ours; every piece of the text went through escape()
        + Markup("</p>\n")
        for b in blocks
    )


def _excerpt(value: object, length: int = 280) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def _localtime(value: datetime | None, zone: str = "UTC") -> str:
    if value is None:
        return ""
    when = value.astimezone(ZoneInfo(zone))
    return f"{when:%a %-d %b %Y, %H:%M} ({zone})"


def _environment(*, html: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("ghostart.email", "templates"),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        safe_url=_safe_url, paragraphs=_paragraphs, excerpt=_excerpt, localtime=_localtime
    )
    return env


class EmailRenderer:
    """Renders the catalog's templates.

    Args:
        product_name: Shown in headers and footers.
        preferences_url: Where recipients change their email preferences.
    """

    def __init__(self, *, product_name: str = "ghostart", preferences_url: str | None = None):
        self.product_name = product_name
        self.preferences_url = preferences_url
        self._html = _environment(html=True)
        self._text = _environment(html=False)

    @staticmethod
    def names() -> list[str]:
        """Every template name, sorted."""
        return sorted(TEMPLATES)

    @staticmethod
    def spec(name: str) -> TemplateSpec:
        """The catalog entry ``name``, or :class:`NotFound` listing the names there are."""
        try:
            return TEMPLATES[name]
        except KeyError:
            raise NotFound(
                f"no email template {name!r}; there are: {', '.join(sorted(TEMPLATES))}"
            ) from None

    def context(self, name: str, data: Mapping[str, Any] | EmailContext) -> EmailContext:
        """``data`` validated against the template's model, or :class:`InvalidInput`."""
        model = self.spec(name).context
        if isinstance(data, model):
            return data
        try:
            return model.model_validate(dict(data) if isinstance(data, Mapping) else data)
        except ValidationError as exc:
            raise invalid_input_from(exc) from None

    def render(
        self,
        name: str,
        data: Mapping[str, Any] | EmailContext,
        *,
        unsubscribe_url: str | None = None,
    ) -> RenderedEmail:
        """Render ``name`` with ``data``; optional categories need an ``unsubscribe_url``.

        Raises:
            NotFound: No such template.
            InvalidInput: ``data`` does not fit the template, or an optional email lacks its
                unsubscribe link.
        """
        spec = self.spec(name)
        context = self.context(name, data)
        optional = spec.category is not EmailCategory.TRANSACTIONAL
        if optional and not unsubscribe_url:
            raise InvalidInput(
                f"{name} is {spec.category.value} mail: it needs an unsubscribe link",
                field="unsubscribe_url",
            )
        values = dict(context)
        values |= {
            "product_name": self.product_name,
            "preferences_url": self.preferences_url,
            "unsubscribe_url": unsubscribe_url if optional else None,
            "category": spec.category.value,
        }
        subject = self._text.from_string(spec.subject).render(values)
        subject = " ".join(subject.split())[:_SUBJECT_MAX]  # one line: no header injection
        values["subject"] = subject
        return RenderedEmail(
            template=name,
            category=spec.category,
            subject=subject,
            html=self._html.get_template(f"{name}.html").render(values),
            text=self._text.get_template(f"{name}.txt").render(values),
        )

    def preview(self, name: str) -> RenderedEmail:
        """``name`` rendered with its sample data (``ghostart email preview NAME``)."""
        spec = self.spec(name)
        link = "https://app.ghostart.example/v1/email/unsubscribe?token=preview"
        return self.render(name, spec.sample, unsubscribe_url=link)
