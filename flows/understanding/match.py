"""How specifically a message matches a profile's FAQ entries and generic failure words.

A question that mentions a failure ("cara reset password? kasir lupa passwordnya, gk bisa
login") is still the question: the FAQ entry wins when its match (keyword phrases, sample
questions, a question form) outweighs the generic failure words ("gk bisa", "error") in the
message. flows/classify.py weighs the two; this module measures them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.profiles.schema import FaqEntry, Profile
from flows.understanding import text

# Words that carry no topic: a sample question and a message are compared without them.
_STOP = frozenset(
    {
        "a", "ada", "aja", "akan", "an", "and", "apa", "apakah", "atau", "bagaimana", "banget",
        "bisa", "boleh", "bro", "can", "cara", "could", "dan", "deh", "di", "do", "does",
        "dong", "gan", "how", "i", "ini", "is", "it", "itu", "ka", "kak", "kah", "ke", "kok",
        "mau", "me", "min", "minta", "my", "nih", "of", "on", "or", "please", "saja", "saya",
        "sih", "tanya", "the", "this", "to", "tolong", "untuk", "we", "what", "ya", "yang",
        "you", "your", "mohon", "ingin", "pengen", "bertanya", "halo", "hi", "hello", "pagi",
        "siang", "sore", "malam", "selamat", "kami", "kita", "jadi", "sudah", "lagi", "juga",
        "dengan", "sama", "kalau", "gitu", "begitu", "where", "which", "are", "there", "for",
    }
)  # fmt: skip
# A question, as clients type one: the FAQ is meant for it. Indonesian question words count
# anywhere; English ones only where a sentence starts ("my password is ..." asks nothing).
_QUESTION_WORDS = frozenset(
    {"cara", "bagaimana", "apakah", "berapa", "dimana", "kapan", "bisakah", "bolehkah", "apa",
     "adakah", "mana", "gimana", "tanya", "bertanya"}
)  # fmt: skip
_QUESTION_OPENERS = frozenset(
    {"how", "what", "where", "when", "which", "can", "could", "does", "do", "is", "are", "cara"}
)  # fmt: skip
_SENTENCE = re.compile(r"[.!?,;\n]+")
_QUESTION_WEIGHT = 2.0
_MIN_SAMPLE_WORDS = 3  # "wifi lemot" is too short a sample to tell a question from a report
_GAP = 2  # words that may slip into a keyword phrase ("tambah akun kasir" for "tambah kasir")


@dataclass(frozen=True, slots=True)
class FaqMatch:
    """The best FAQ entry for a message and how strongly it matches (0: not at all)."""

    entry: FaqEntry | None
    score: float
    question: bool


class _Index:
    """A profile's FAQ and failure words, normalised once."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        known: set[str] = set()
        self.entries: list[tuple[FaqEntry, list[tuple[str, ...]], list[frozenset[str]]]] = []
        for entry in profile.faq:
            # "add cashier" and "tambah kasir" are one keyword once normalised: counted once
            keywords = list(dict.fromkeys(text.base_words(k) for k in entry.keywords))
            samples = [
                frozenset(w for w in text.base_words(s) if w not in _STOP) for s in entry.samples
            ]
            for k in keywords:
                known.update(k)
            for s in samples:
                known.update(s)
            self.entries.append((entry, [k for k in keywords if k], [s for s in samples if s]))
        # "rusak" and "broken" are one failure once normalised: counted once
        self.failure = list(
            dict.fromkeys(text.base_words(k) for k in profile.categories["hard"].keywords)
        )
        self.problem = list(
            dict.fromkeys(text.base_words(k) for k in profile.categories["normal"].keywords)
        )
        for rule in profile.categories.values():
            for word in rule.keywords:
                known.update(text.base_words(word))
        for step in profile.troubleshooting:
            for group in step.when_all:
                for phrase in group:
                    known.update(text.base_words(phrase))
        self.known = frozenset(known)

    def words(self, message: str) -> tuple[str, ...]:
        """The message's words, near misses of the profile's words corrected."""
        return text.correct(text.base_words(message), self.known)


_INDEXES: dict[int, _Index] = {}


def index_for(profile: Profile) -> _Index:
    """The profile's index, built on first use (an admin's edit makes a new Profile)."""
    found = _INDEXES.get(id(profile))
    if found is None or found.profile is not profile:
        if len(_INDEXES) > 64:
            _INDEXES.clear()
        found = _INDEXES[id(profile)] = _Index(profile)
    return found


def has_words_in_order(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    """Whether `phrase` occurs in `words` in order, each next word at most _GAP words on."""
    if not phrase:
        return False
    first = phrase[0]
    for start, w in enumerate(words):
        if w != first:
            continue
        at = start
        for p in phrase[1:]:
            nxt = next(
                (j for j in range(at + 1, min(at + 2 + _GAP, len(words))) if words[j] == p), None
            )
            if nxt is None:
                break
            at = nxt
        else:
            return True
    return False


def is_question(message: str, words: tuple[str, ...]) -> bool:
    """Whether the message asks something ("?", "cara ...", "how do I ...")."""
    if "?" in message or any(w in _QUESTION_WORDS for w in words):
        return True
    for sentence in _SENTENCE.split(message):
        first = text.base_words(sentence)[:1]
        if first and first[0] in _QUESTION_OPENERS:
            return True
    return False


def best_faq(message: str, profile: Profile) -> FaqMatch:
    """The FAQ entry the message matches most specifically, with its weight."""
    index = index_for(profile)
    words = index.words(message)
    present = set(words)
    question = is_question(message, words)
    best: FaqEntry | None = None
    best_score = 0.0
    for entry, keywords, samples in index.entries:
        hits = [len(k) for k in keywords if k[0] in present and has_words_in_order(words, k)]
        score = max(hits, default=0) + min(0.5 * (len(hits) - 1), 1.0) if hits else 0.0
        cover = 0.0
        for sample in samples:
            overlap = len(sample & present)
            if overlap >= 2 and len(sample) >= _MIN_SAMPLE_WORDS:
                cover = max(cover, overlap / len(sample))
        if cover >= 0.9:
            score += 3.0
        elif cover >= 0.75:
            score += 2.0
        if score > best_score:
            best, best_score = entry, score
    if best is not None and question:
        best_score += _QUESTION_WEIGHT
    return FaqMatch(best, best_score, question)


def mentions(message: str, phrases: tuple[str, ...], profile: Profile) -> bool:
    """Whether the message holds one of the phrases, both normalised (synonyms, typos)."""
    index = index_for(profile)
    words = index.words(message)
    present = set(words)
    for phrase in phrases:
        k = text.base_words(phrase)
        if k and k[0] in present and has_words_in_order(words, k):
            return True
    return False


def problem_weight(message: str, profile: Profile) -> float:
    """Generic failure words: each Hard keyword phrase counts 2, each Normal one 1."""
    index = index_for(profile)
    words = index.words(message)
    present = set(words)

    def hits(phrases: list[tuple[str, ...]]) -> int:
        return sum(1 for k in phrases if k and k[0] in present and has_words_in_order(words, k))

    return 2.0 * hits(index.failure) + hits(index.problem)
