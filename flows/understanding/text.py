"""Messages as comparable words: slang, suffixes, paraphrases and typos rewritten once.

"kata sandi kasirnya lupa" and "lupa password kasir" must look alike before any FAQ keyword
or sample question is compared, so a message goes through the guards' slang table, loses the
"-nya" suffix, has paraphrases rewritten (synonyms.yaml) and, for words the profile's FAQ
does not know, the closest known word (rapidfuzz) when it is a near miss ("pasword").
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache
from importlib.resources import files

from rapidfuzz import fuzz, process

from flows import guards
from flows.yaml_files import read_yaml


def _load_synonyms() -> dict[str, str]:
    data = read_yaml(
        files("flows.understanding").joinpath("synonyms.yaml").read_text(encoding="utf-8")
    )
    phrases = data.get("phrases", {}) if isinstance(data, dict) else {}
    out: dict[str, str] = {}
    for key, value in phrases.items():
        k, v = str(key).strip().lower(), str(value).strip().lower()
        if not k or not v:
            raise ValueError(f"synonyms.yaml: empty phrase in '{key}: {value}'")
        out[" ".join(guards.words(k))] = " ".join(guards.words(v))
    return out


SYNONYMS = _load_synonyms()
_SYNONYM_RE = re.compile(
    r"(?<!\S)(?:"
    + "|".join(re.escape(k) for k in sorted(SYNONYMS, key=len, reverse=True) if k)
    + r")(?!\S)"
)
# "-nya" is a suffix ("passwordnya", "printernya") except in these words.
_NYA_WORDS = frozenset(
    {"bertanya", "ditanya", "tanya", "hanya", "punya", "sanya", "karunya", "nya", "bertanyanya"}
)
_MIN_TYPO_LEN = 5  # shorter words are matched exactly: "sama" is not "nama"
_TYPO_CUTOFF = 85.0


def _strip_suffix(word: str) -> str:
    if word.endswith("nya") and len(word) >= 7 and word not in _NYA_WORDS:
        return word[:-3]
    return word


@lru_cache(maxsize=8192)
def base_words(text: str) -> tuple[str, ...]:
    """Slang replaced, "-nya" dropped and paraphrases rewritten; no typo correction yet."""
    line = " ".join(_strip_suffix(w) for w in guards.words(text))
    line = _SYNONYM_RE.sub(lambda m: SYNONYMS[m.group(0)], line)
    return tuple(line.split())


def correct(words: tuple[str, ...], known: Collection[str]) -> tuple[str, ...]:
    """Each unknown word of five letters or more replaced by its near-identical known word."""
    return tuple(w if w in known or len(w) < _MIN_TYPO_LEN else _nearest(w, known) for w in words)


def _nearest(word: str, known: Collection[str]) -> str:
    return _nearest_cached(word, known if isinstance(known, frozenset) else frozenset(known))


@lru_cache(maxsize=65536)
def _nearest_cached(word: str, known: frozenset[str]) -> str:
    if word.isdigit():
        return word
    found = process.extractOne(word, known, scorer=fuzz.ratio, score_cutoff=_TYPO_CUTOFF)
    return str(found[0]) if found is not None else word
