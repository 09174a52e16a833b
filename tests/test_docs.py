"""The repository explains itself: citations point inside it, and every one resolves."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    p
    for pattern in ("*.md", "*.py", "*.toml", "*.yaml", "*.yml", "*.j2", "*.html", "*.sh")
    for p in ROOT.rglob(pattern)
    if not {".git", ".venv", "node_modules"} & set(p.relative_to(ROOT).parts)
    and p.name != "CHANGELOG.md"  # history: it names the issues it closed
]
# Documents that exist only on the original team's machines, and shorthand for them.
OUTSIDE = re.compile(
    r"LIBRARIES\.md|DEVELOPERS\.md|\.\./shared|\bthe brief\b|\bseeds?/?\s*0\d\d\b"
    r"|\bissue ?#?\d+\b|\(#\d+\)",
    re.IGNORECASE,
)
CITATION = re.compile(r"docs/([\w./-]+\.md)(?:#([\w-]+))?")


def _anchors(doc: Path) -> set[str]:
    text = doc.read_text(encoding="utf-8")
    explicit = set(re.findall(r'<a id="([\w-]+)"></a>', text))
    headings = {
        re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    }
    return explicit | headings


def test_nothing_cites_a_document_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in SOURCES
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if OUTSIDE.search(line) and path != Path(__file__)
    ]
    assert found == [], "cite docs/ (or say the reason in place):\n" + "\n".join(found)


def test_every_cited_doc_and_anchor_exists() -> None:
    broken = []
    for path in SOURCES:
        for doc, anchor in CITATION.findall(path.read_text(encoding="utf-8")):
            target = ROOT / "docs" / doc
            if not target.is_file():
                broken.append(f"{path.relative_to(ROOT)}: docs/{doc}")
            elif anchor and anchor not in _anchors(target):
                broken.append(f"{path.relative_to(ROOT)}: docs/{doc}#{anchor}")
    assert broken == []


def test_the_citation_checks_can_fail() -> None:
    assert OUTSIDE.search("# measured in LIBRARIES.md")
    assert OUTSIDE.search("(seed 004, section 9)")
    assert OUTSIDE.search("report commands (#7)")
    assert not OUTSIDE.search("colour: #666;")
    assert "no-such-anchor" not in _anchors(ROOT / "docs" / "procedures.md")
