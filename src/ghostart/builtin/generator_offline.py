"""The offline generator: deterministic drafts from templates. It is not AI and says so.

It lets everything around generation (caching, queueing, review, publishing) run with no keys and
no network. The same voice version and request always give the same draft.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import random
import re
from collections.abc import Callable

from ghostart.models import (
    LINKEDIN_MAX_CHARS,
    AuthorContext,
    BrandVoice,
    ContentRequest,
    Draft,
    PostFormat,
    Usage,
)

__all__ = ["OfflineGenerator"]

NOTICE = (
    "Drafted offline from templates, not by AI. "
    "Set GHOSTART_GENERATOR=openai (pip install ghostart-openai) for AI drafts."
)

_OPENERS: dict[PostFormat, tuple[str, ...]] = {
    PostFormat.INSIGHT: (
        "Here is what I keep learning about {topic}.",
        "{Topic} is easy to talk about and hard to do well.",
        "One thing about {topic} that {audience} tend to miss:",
    ),
    PostFormat.STORY: (
        "A year ago I would have told you {topic} was a side issue. I was wrong.",
        "Last week a conversation about {topic} changed how I work.",
        "The first time I worked on {topic}, almost nothing went to plan.",
    ),
    PostFormat.LIST: (
        "Three things I have learned about {topic}:",
        "If you are working on {topic}, start with these:",
        "A short checklist for {topic}:",
    ),
    PostFormat.QUESTION: (
        "A question for {audience}: how do you approach {topic}?",
        "What would change if we took {topic} seriously?",
        "Where does {topic} sit on your list this quarter?",
    ),
    PostFormat.ANNOUNCEMENT: (
        "Some news about {topic}.",
        "We have been working on {topic}, and today we can share it.",
        "A milestone worth sharing: {topic}.",
    ),
}

_POINTS = (
    "Start small and make the first step visible.",
    "Write down what success looks like before you begin.",
    "Ask the people closest to the work what slows them down.",
    "Measure one thing that matters instead of ten that do not.",
    "Share what you learn early, even when it is unfinished.",
    "Make the default path the right path.",
    "Keep the feedback loop short enough to feel it.",
    "Say no to the good ideas that would crowd out the great one.",
)

_BODY = (
    "The teams that do this well are not the ones with the biggest budgets.",
    "They are the ones that treat {topic} as a habit, not a project.",
    "It rarely fails for lack of ideas; it fails for lack of follow-through.",
    "Clarity beats volume: one clear message travels further than five vague ones.",
    "The best results I have seen came from small, steady improvements.",
    "None of this needs a reorganisation. It needs attention, every week.",
    "When {audience} see the why, the how tends to follow.",
    "Progress on {topic} compounds, and so does neglect.",
    "It is worth asking what we would stop doing to make room for it.",
    "The hard part is not knowing what to do. It is doing it consistently.",
    "I have found it helps to share the messy middle, not just the result.",
    "There is no shortcut, but there is a direction.",
    "Most of the value shows up in the second and third iteration, not the first.",
    "If it only works when everyone tries hard, it does not work yet.",
    "The question I ask now is simple: what would make this easier next time?",
    "Small teams can move faster here than large ones, and that is an advantage worth using.",
    "Writing it down forces the kind of clarity that meetings rarely do.",
    "Good intentions are not a plan; a calendar entry is a start.",
    "Every shortcut we took early on came back to us with interest.",
    "The people doing the work usually know the answer already. Ask them.",
    "I would rather ship something modest this month than something perfect next year.",
    "What gets celebrated gets repeated, so celebrate the right things.",
)

_CLOSERS = (
    "Curious how others see it.",
    "That is where I would start.",
    "More on this soon.",
)

_EMOJI = ("💡", "🚀", "✅", "📌")

# A campaign variant's own angle, from its author's headline. Each wording differs from the others
# in its words, not only its punctuation.
_ANGLES = (
    "Why it matters to me: in {work}, I see the difference this makes.",
    "Speaking from {work}, this is anything but abstract.",
    "I am sharing this because {work} keeps bringing me back to it.",
    "From {work}, what stands out to me is how practical it is.",
    "This one is personal: {work} taught me why it matters.",
    "In {work}, I have seen what happens when this is done well.",
    "My take, from {work}: it deserves your attention.",
    "I rarely share company news, but {work} made this one easy to back.",
    "Seen from {work}, this is worth a few minutes of your time.",
    "What convinced me was seeing it up close in {work}.",
    "My angle, from {work}: start with the people it helps.",
    "{Work} gives me a front-row seat to why this matters.",
)
#: Variants below this number are pairwise different by construction (see ``_variant_parts``).
DISTINCT_VARIANTS = len(_ANGLES) * 3 * len(_CLOSERS)


_STOPWORDS = frozenset(
    [
        "about",
        "after",
        "also",
        "been",
        "before",
        "being",
        "could",
        "does",
        "doing",
        "from",
        "have",
        "here",
        "into",
        "just",
        "like",
        "make",
        "makes",
        "more",
        "most",
        "much",
        "only",
        "over",
        "really",
        "should",
        "some",
        "such",
        "than",
        "that",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "very",
        "what",
        "when",
        "where",
        "which",
        "while",
        "will",
        "with",
        "without",
        "would",
        "write",
        "writes",
        "your",
    ]
)


@functools.lru_cache(maxsize=256)
def _avoider(words: tuple[str, ...]) -> Callable[[str], str]:
    """A filter that drops ``words`` (whole words, any case) and the doubled spaces left behind."""
    patterns = [re.compile(rf"(?i)\b{re.escape(word)}\b\s?") for word in words]
    spaces = re.compile(r"[ \t]{2,}")

    def avoid(text: str) -> str:
        for pattern in patterns:
            text = pattern.sub("", text)
        return spaces.sub(" ", text).strip()

    return avoid


def _hashtags(topic: str) -> list[str]:
    """Up to three hashtags from the topic's distinctive words, capitalised."""
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z-]{3,}", topic) if w.lower() not in _STOPWORDS]
    unique = list(dict.fromkeys(w.replace("-", "").capitalize() for w in words))
    return unique[:3]


def _mid_sentence(text: str) -> str:
    """Lower a capital that only starts a sentence ("Why we..." -> "why we...", not "API ...")."""
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first[0].isupper() and first[1:].islower():
        return text[0].lower() + text[1:]
    return text


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _variant_parts(variant: int, openers: int) -> tuple[int, int, int]:
    """The angle, opener and closer of campaign variant ``variant``.

    A mixed-radix count: variants below :data:`DISTINCT_VARIANTS` never share all three, so
    colleagues' drafts differ even when their profiles are identical (or empty).
    """
    angle, rest = variant % len(_ANGLES), variant // len(_ANGLES)
    return angle, rest % openers, (rest // openers) % len(_CLOSERS)


def _angle(author: AuthorContext, template: str) -> str:
    """The author's paragraph: their angle, and the latest post they published, if any."""
    work = f"my work as {author.headline}" if author.headline else "my work"
    text = template.format(work=work, Work=_capitalised(work))
    if author.past_posts:
        first_line = author.past_posts[0].split("\n", 1)[0].strip()
        snippet = first_line if len(first_line) <= 90 else first_line[:89].rsplit(" ", 1)[0] + "…"
        text += f" It follows on from something I shared recently: “{snippet.rstrip('.')}”."
    return text


def _shortened(body: str, closing: str, high: int) -> str:
    """``body`` cut at a word so that it and ``closing`` fit in ``high`` characters if they can.

    Used when the closing carries a link, which must survive whole (up to LinkedIn's limit).
    """
    budget = high - len(closing) - 2
    if budget >= 40 and len(body) > budget:
        body = body[: budget - 1].rsplit(" ", 1)[0].rstrip() + "…"
    return f"{body}\n\n{closing}"[:LINKEDIN_MAX_CHARS]


class OfflineGenerator:
    """Template drafts that follow a brand voice's audience, topics, words to avoid and length."""

    model = "offline-template@1"

    def __init__(self, *, latency: float = 0.0) -> None:
        if latency < 0:
            raise ValueError("latency must be >= 0")
        #: Simulated generation time in seconds, for demos and benchmarks.
        self.latency = latency

    async def generate(self, voice: BrandVoice, request: ContentRequest) -> Draft:
        """Write one draft, the same one every time for the same voice version and request."""
        if self.latency:
            await asyncio.sleep(self.latency)
        body = self.compose(voice, request)
        tokens_in = len(voice.model_dump_json()) // 4 + len(request.model_dump_json()) // 4
        notice = NOTICE
        if not request.language.lower().startswith("en"):
            notice += f" Offline templates are English only; '{request.language}' was not followed."
        return Draft(
            body=body,
            model=self.model,
            usage=Usage(prompt_tokens=tokens_in, completion_tokens=len(body) // 4),
            ai_generated=False,
            notice=notice,
        )

    def compose(self, voice: BrandVoice, request: ContentRequest) -> str:
        """The draft text (synchronous and pure).

        A request with an author (a campaign variant) gets that author's angle after the
        opener, and its opener, angle and closer chosen by the variant's number; a link is
        kept whole at the end.
        """
        seed = hashlib.sha256(
            f"{voice.id}:{voice.version}:{request.normalised()}".encode()
        ).digest()
        rng = random.Random(seed)
        topic = " ".join(request.topic.split()).rstrip(".!?")
        fill = {
            "topic": _mid_sentence(topic),
            "Topic": _capitalised(topic),
            "audience": voice.audience,
        }
        low, high = request.length.chars
        author = request.author
        openers = _OPENERS[request.format]

        closer: str | None = None  # drawn below, in its old turn, for requests without author
        if author is None:
            opener = rng.choice(openers)
        else:
            # Shifted per campaign (a rotation: still one combination per variant), so that a
            # member does not open every campaign's post the same way.
            shift = 0
            if request.campaign_id is not None:
                shift = int(hashlib.sha256(request.campaign_id.bytes).hexdigest(), 16)
            angle, opener_at, closer_at = _variant_parts(
                (author.variant + shift) % DISTINCT_VARIANTS, len(openers)
            )
            opener, closer = openers[opener_at], _CLOSERS[closer_at]
        opener = opener.format(**fill)
        if voice.emoji:
            opener = f"{rng.choice(_EMOJI)} {opener}"
        paragraphs = [opener]
        if author is not None:  # kept, like the opener, however short the draft must be
            paragraphs.append(_angle(author, _ANGLES[angle]))
        fixed = len(paragraphs)
        if request.format is PostFormat.LIST:
            points = rng.sample(_POINTS, k=3 if request.length.value != "short" else 2)
            paragraphs.append("\n".join(f"{i}. {p}" for i, p in enumerate(points, 1)))
        related = [t for t in voice.topics if t.casefold() not in topic.casefold()]
        if related:
            paragraphs.append(f"It connects directly to {rng.choice(related)}.")

        ending = [closer if closer is not None else rng.choice(_CLOSERS)]
        if request.call_to_action:
            ending.append(_capitalised(request.call_to_action.rstrip(".!?")) + ".")
        tags = voice.hashtags or _hashtags(topic)
        tail = " ".join(ending)
        tag_line = " ".join("#" + t.replace(" ", "") for t in tags)
        pool = [s.format(**fill) for s in _BODY]
        rng.shuffle(pool)
        steps = [p for p in _POINTS if p not in paragraphs[-1]]
        rng.shuffle(steps)

        # Each paragraph is filtered once; growing or shrinking the draft only rejoins them.
        avoid = _avoider(tuple(voice.words_to_avoid))
        kept = [avoid(p) for p in paragraphs]
        if request.link is None:
            closing = avoid(f"{tail}\n\n{tag_line}" if tag_line else tail)
        else:  # the link is not filtered: a word to avoid must not break a URL
            closing = "\n\n".join(p for p in (avoid(tail), request.link, avoid(tag_line)) if p)

        def render() -> str:
            return "\n\n".join([p for p in kept if p] + [closing]).strip()

        text = render()
        while (pool or steps) and len(text) < low:
            paragraphs.append(pool.pop() if pool else f"A practical step: {steps.pop()}")
            kept.append(avoid(paragraphs[-1]))
            text = render()
        while len(text) > high and len(paragraphs) > fixed:
            paragraphs.pop()
            kept.pop()
            text = render()
        if len(text) <= high:
            return text
        if request.link is not None:
            return _shortened("\n\n".join(p for p in kept if p), closing, high)
        return text[:high]
