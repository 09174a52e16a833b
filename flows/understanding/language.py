"""Which language a client writes, and whether a first message only opens the conversation.

"hi there" and "Hello, can you help me?" are English greetings, not a problem report: the
bot answers in English and waits for the story. Indonesian clients mix English words
("error", "login", "printer") into Indonesian, so English needs its function words.
"""

from __future__ import annotations

from flows import guards

# English words Indonesian clients do not mix in: their presence means an English sentence.
_EN_FUNCTION = frozenset(
    {
        "a", "am", "an", "and", "are", "be", "been", "but", "can", "can't", "cannot", "could",
        "did", "didn't", "do", "does", "doesn't", "don't", "for", "from", "have", "has",
        "hello", "hey", "hi", "how", "i", "i'm", "is", "isn't", "it", "it's", "me", "my",
        "not", "of", "our", "please", "should", "that", "the", "there", "this", "to", "was",
        "we", "what", "when", "where", "which", "why", "will", "with", "won't", "would",
        "you", "your", "thanks", "thank", "morning", "afternoon", "evening", "anyone",
        "someone", "help", "want", "need", "after", "before", "since", "still", "yet",
        "already", "just", "any", "all", "again", "they", "he", "she", "them", "us",
    }
)  # fmt: skip
# Slang both languages use ("ok", "thx"): no sign of Indonesian.
_SHARED = frozenset(
    {"ok", "okay", "okey", "okee", "thx", "pls", "y", "ss", "tf", "tq", "ty", "yup"}
)
_EN_GREETING = frozenset({"hi", "hello", "hey", "morning", "afternoon", "evening"})
# Words of an opening that asks for nothing yet ("Hello, can you help me?", "mau tanya kak").
_OPENING = frozenset(
    {
        "a", "anyone", "any", "assist", "assistance", "be", "bisa", "bantu", "bantuan", "can",
        "could", "dibantu", "do", "excuse", "good", "have", "help", "hello", "here", "hey",
        "hi", "i", "is", "me", "need", "question", "questions", "please", "someone", "there",
        "to", "want", "would", "you", "ask", "saya", "mau", "tanya", "bertanya", "tolong",
        "ingin", "boleh", "minta", "kak", "min", "admin", "ya", "dong", "gan", "sis", "ada",
        "yang", "ok", "oke", "kah", "apa", "an", "it", "something", "sesuatu", "this",
        "morning", "afternoon", "evening", "all", "everyone", "team", "support", "sir",
        "madam", "maam", "ma'am", "kamu", "anda", "bot", "ini", "with", "helpdesk", "there's",
    }
)  # fmt: skip


def detect(message: str) -> str | None:
    """'en' or 'id' when the message clearly is in one of them, else None."""
    ws = [w.lower() for w in guards.WORD.findall(message)]
    en = sum(1 for w in ws if w in _EN_FUNCTION)
    indo = sum(
        1 for w in ws if w in guards.INDONESIAN_WORDS or (w in guards.SLANG and w not in _SHARED)
    )
    if en >= 2 and en > 2 * indo:
        return "en"
    if en >= 1 and indo == 0 and any(w in _EN_GREETING for w in ws) and len(ws) >= 2:
        return "en"  # "hi there", "good morning"
    if indo >= 1 and indo >= en:
        return "id"
    return guards.detect_language(message)


def is_opening(message: str) -> bool:
    """Whether the message only greets or offers to ask ("Hello, can you help me?")."""
    ws = guards.words(message)
    return bool(ws) and all(
        w in _OPENING or w in guards.GREETING_WORDS or w in guards.INTENT_WORDS for w in ws
    )
