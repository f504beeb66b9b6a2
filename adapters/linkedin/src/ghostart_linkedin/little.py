r"""LinkedIn's "little text" format for a post's ``commentary``.

In little text ``\ | { } @ [ ] ( ) < > # * _ ~`` are reserved. Unescaped, LinkedIn accepts the
post and silently cuts it at the first one it can not parse, so every one of them is escaped
with a backslash except where it forms an element we mean:

- a mention ``@[Name](urn:li:person:ID)`` or ``@[Name](urn:li:organization:ID)`` is kept as is;
- a hashtag ``#word`` (letters and digits, at least one letter, not inside a word) becomes the
  documented template ``{hashtag|\#|word}``, so it shows as a hashtag (``hashtags="link"``),
  or is escaped and shown as typed (``hashtags="text"``).

:func:`commentary` checks the 3,000 characters on the text as it is sent (escapes and
templates included: the strictest reading, as LinkedIn does not say how it counts), before
anything is sent. Characters are counted as Python counts them (code points), like the core's
own check of a post's body.
"""

from __future__ import annotations

import re
from typing import Literal

from ghostart.errors import InvalidInput

__all__ = ["MAX_COMMENTARY", "RESERVED", "commentary", "escape", "normalize"]

#: The longest commentary LinkedIn takes.
MAX_COMMENTARY = 3000
#: The characters little text reserves.
RESERVED = frozenset("\\|{}@[]()<>#*_~")

_MENTION = re.compile(
    r"@\[(?P<name>[^\\|{}@\[\]()<>#*_~\n]{1,200})\]"
    r"\((?P<urn>urn:li:(?:person|organization):[A-Za-z0-9_-]{1,100})\)"
)
# "#" not after a letter, digit or "#"; then letters and digits (at least one letter) up to the
# end of the word: "C#", "#1" and "#my_tag" stay text.
_HASHTAG = re.compile(r"(?<![^\W_])(?<!#)#(?P<tag>[^\W_]*[^\W\d_][^\W_]*)(?!\w)")
# The sign is "#" or the fullwidth U+FF03, escaped or not.
_TEMPLATE = re.compile(r"\{hashtag\|\\?[#\uff03]\|(?P<tag>[^}]*)\}")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def _escape_text(text: str) -> str:
    return "".join(f"\\{c}" if c in RESERVED else c for c in text)


def _escape_words(text: str, hashtags: Literal["link", "text"]) -> str:
    if hashtags == "text":
        return _escape_text(text)
    parts: list[str] = []
    last = 0
    for match in _HASHTAG.finditer(text):
        parts.append(_escape_text(text[last : match.start()]))
        parts.append(f"{{hashtag|\\#|{match['tag']}}}")
        last = match.end()
    parts.append(_escape_text(text[last:]))
    return "".join(parts)


def escape(text: str, *, hashtags: Literal["link", "text"] = "link") -> str:
    """``text`` as little text: reserved characters escaped, mentions kept, hashtags linked."""
    parts: list[str] = []
    last = 0
    for match in _MENTION.finditer(text):
        parts.append(_escape_words(text[last : match.start()], hashtags))
        parts.append(match.group(0))
        last = match.end()
    parts.append(_escape_words(text[last:], hashtags))
    return "".join(parts)


def commentary(text: str, *, hashtags: Literal["link", "text"] = "link") -> str:
    """The ``commentary`` to send for ``text``, checked against LinkedIn's limit.

    Raises:
        InvalidInput: The escaped text is empty or longer than :data:`MAX_COMMENTARY`. Nothing
            has been sent; the message says by how much to shorten it.
    """
    result = escape(text.strip(), hashtags=hashtags)
    if not result:
        raise InvalidInput("the post is empty", field="body")
    if len(result) > MAX_COMMENTARY:
        over = len(result) - MAX_COMMENTARY
        raise InvalidInput(
            f"the post is {len(result)} characters as LinkedIn receives it (reserved characters "
            f"are escaped, hashtags become templates); LinkedIn allows {MAX_COMMENTARY}: "
            f"shorten it by {over}",
            field="body",
            length=len(result),
            limit=MAX_COMMENTARY,
        )
    return result


def normalize(little: str) -> str:
    """The text a member sees for ``little``, whitespace collapsed: to compare posts."""
    text = _TEMPLATE.sub(lambda m: "#" + m["tag"], little)
    text = _ESCAPED.sub(r"\1", text)
    return " ".join(text.split())
