"""Values inside the sentences clients answer with: "sy rina kak" is the name "Rina".

"outletnya toko berkah jaya, domainnya berkahjaya.erzap.id" holds an outlet name and a domain;
each is kept on its own, without the filler words around it.
"""

from __future__ import annotations

import re

from flows import guards

_DOMAIN = re.compile(r"(?i)\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.erzap\.id\b")
# Words that label or pad a value ("outletnya ...", "nama outletnya ...", "... kak").
_LABEL = r"(?:[Nn]ama|[Dd]omain|[Oo]utlet|[Uu]saha|[Ll]okasi|[Aa]lamat|[Ii]nstansi|grup|group)"
_LEAD = re.compile(
    rf"^\s*(?:{_LABEL}(?:\s*nya)?\s+)*(?:{_LABEL}(?:\s*nya)?|[Aa]dalah|yaitu|itu|is|:|-)"
    r"(?:\s+|\s*[:=-]\s*)"
)
_FILLER_LEAD = re.compile(
    r"(?i)^\s*(?:(?:oh|ok|oke|baik|iya|ya|jadi|untuk|utk|di|dari|kak|kk|min|saya|sy|kami)\b[\s,]*)+"
)
_TRAIL = re.compile(
    r"(?i)(?:[\s,]+(?:kak|kk|min|ya|yaa|ka|gan|sis|mas|mbak|bro|nih|dong)\b)+[\s.!🙏]*$"
)
_DOMAIN_LABEL = re.compile(r"(?i)\b(?:dan|and|,)?\s*domain(?:\s*nya)?\s*[:=-]?\s*$")


def person_name(text: str) -> str | None:
    """A person's name from an answer, capitalised as a name when typed all lower case."""
    name = guards.clean_name(text)
    if name is None:
        return None
    if name == name.lower():
        name = " ".join(part[:1].upper() + part[1:] for part in name.split())
    return name


def domain_in(text: str) -> str | None:
    """The ERZAP domain in the text ("berkahjaya.erzap.id"), lower case, or None."""
    found = _DOMAIN.search(text)
    return found.group(0).lower() if found else None


def labelled_value(text: str) -> str | None:
    """The value of a free-text answer without the words that label or pad it."""
    value = text.strip()
    domain = _DOMAIN.search(value)
    if domain is not None:
        rest = (value[: domain.start()] + " " + value[domain.end() :]).strip(" ,.;")
        rest = _DOMAIN_LABEL.sub("", rest).strip(" ,.;")
        value = rest if guards.clean_text(_strip(rest) or "") else domain.group(0).lower()
        if value == domain.group(0).lower():
            return value
    return _strip(value) or None


def _strip(value: str) -> str:
    out = _FILLER_LEAD.sub("", value)
    out = _LEAD.sub("", out)
    out = _TRAIL.sub("", out)
    return out.strip(" ,.;:-")
