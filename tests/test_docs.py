"""The repository explains itself: citations point inside it, and every one resolves."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    p
    for pattern in ("*.md", "*.py", "*.toml", "*.yaml", "*.yml", "*.j2", "*.html", "*.sh")
    for p in ROOT.rglob(pattern)
    if not any(part.startswith(".") or part == "data" for part in p.relative_to(ROOT).parts)
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
    assert METHOD_IN_DIAGRAM.findall("D->>DB: Desk.accept") == [("Desk", "accept")]
    assert "no_such_method" not in _methods_by_class()["Desk"]


# --- docs/architecture.md: its diagrams name real code, and every process is drawn ---

ARCHITECTURE = ROOT / "docs" / "architecture.md"
PATH_IN_DIAGRAM = re.compile(r"\b((?:chatbot|flows|db)/[\w/]+\.py)\b")
METHOD_IN_DIAGRAM = re.compile(r"\b([A-Z]\w+)\.([a-z_]\w*)\b")
# Each process `loket serve` runs, by the module whose main() it runs.
PROCESS_MAINS = sorted(
    p.relative_to(ROOT).as_posix()
    for p in (ROOT / "chatbot" / "runtime").glob("*.py")
    if re.search(r"^(?:async )?def (?:main|run_worker)\(", p.read_text(encoding="utf-8"), re.M)
)


def _diagrams() -> str:
    blocks = re.findall(r"```mermaid\n(.*?)```", ARCHITECTURE.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 2, "docs/architecture.md draws the processes and one message's path"
    return "\n".join(blocks)


@functools.cache
def _methods_by_class() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in [*ROOT.glob("chatbot/**/*.py"), *ROOT.glob("flows/**/*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                found.setdefault(node.name, set()).update(
                    f.name
                    for f in node.body
                    if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
                )
    return found


def test_the_architecture_diagrams_name_files_that_exist() -> None:
    missing = [p for p in PATH_IN_DIAGRAM.findall(_diagrams()) if not (ROOT / p).is_file()]
    assert missing == []


def test_the_architecture_diagrams_name_methods_that_exist() -> None:
    missing = [
        f"{cls}.{method}"
        for cls, method in METHOD_IN_DIAGRAM.findall(_diagrams())
        if method not in _methods_by_class().get(cls, set())
    ]
    assert missing == []


def test_every_process_is_in_the_architecture_diagram() -> None:
    assert PROCESS_MAINS  # the glob found the processes' mains
    assert [p for p in PROCESS_MAINS if p not in _diagrams()] == []
