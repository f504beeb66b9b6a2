"""``ghostart email preview NAME`` and ``ghostart email templates``."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from click.testing import CliRunner

from ghostart.cli import main
from ghostart.email import TEMPLATES


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["email", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_templates_lists_every_template_with_its_category() -> None:
    code, out, _ = _run("templates")
    assert code == 0
    rows = {line.split()[0]: line.split()[1] for line in out.splitlines()}
    assert rows == {name: spec.category.value for name, spec in TEMPLATES.items()}


def test_preview_prints_subject_text_and_html() -> None:
    code, out, _ = _run("preview", "publish_failed")
    assert code == 0
    assert out.startswith("Subject: Your post was not published\nCategory: notifications\n")
    assert "What to do: LinkedIn no longer accepts" in out  # the text part
    assert "<!DOCTYPE html>" in out and "Reconnect LinkedIn</a>" in out  # the HTML part


@pytest.mark.parametrize(
    ("part", "present", "absent"), [("text", "Why:", "<html"), ("html", "<html", "Subject:")]
)
def test_preview_one_part(part: str, present: str, absent: str) -> None:
    code, out, _ = _run("preview", "publish_failed", "--part", part)
    assert code == 0 and present in out and absent not in out


def test_preview_html_is_a_parseable_document() -> None:
    code, out, _ = _run("preview", "weekly_digest", "--part", "html")
    assert code == 0
    parser = HTMLParser()
    parser.feed(out)
    parser.close()
    assert out.strip().endswith("</html>")


def test_an_unknown_template_lists_the_known_ones() -> None:
    code, out, err = _run("preview", "weekly_digets")
    assert code == 1 and out == ""
    assert "no email template 'weekly_digets'" in err and "weekly_digest" in err
