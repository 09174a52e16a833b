"""The layout rules of STYLE.md, checked: import contracts, settings at roots, fresh diagram."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Composition roots: the CLI, the web app, the processes' mains (chatbot/runtime/), and
# the wiring of channels and background work they share.
SETTINGS_ROOTS = {
    "chatbot/cli.py",
    "chatbot/report_cli.py",
    "chatbot/db_cli.py",
    "chatbot/calendar_cli.py",
    "chatbot/campaign_cli.py",
    "chatbot/web/app.py",
    "chatbot/runtime/wiring.py",
    "chatbot/runtime/background.py",
    "chatbot/runtime/prepare.py",
    "chatbot/runtime/web_worker.py",
    "chatbot/runtime/worker.py",
}


def test_import_contracts_hold() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("lint-imports"))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_settings_are_read_only_at_composition_roots() -> None:
    offenders = []
    for path in [
        *ROOT.glob("chatbot/**/*.py"),
        *ROOT.glob("flows/**/*.py"),
        *ROOT.glob("db/**/*.py"),
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if "settings" in names and str(path.relative_to(ROOT)) not in SETTINGS_ROOTS:
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_every_module_opens_with_a_docstring() -> None:
    missing = [
        str(p.relative_to(ROOT))
        for p in [
            *ROOT.glob("chatbot/**/*.py"),
            *ROOT.glob("flows/**/*.py"),
            *ROOT.glob("db/*.py"),
        ]
        if ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) is None
    ]
    assert missing == []


def test_the_flow_diagram_in_docs_is_fresh() -> None:
    from flows.diagram import mermaid

    stored = (ROOT / "docs" / "flows" / "front_desk.mmd").read_text(encoding="utf-8")
    assert stored == mermaid(), "run `loket flow diagram` and commit docs/flows/front_desk.mmd"


# The web layer calls services; only the composition root opens the database.
WEB_FORBIDDEN = (
    "sqlalchemy",
    "db.queries",
    "db.agent_queries",
    "db.inbox_queries",
    "db.admin_queries",
    "db.engine",
)


def _imported(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        # `from db import queries` imports db.queries as surely as `import db.queries`
        return [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
    return []


def test_web_routes_hold_no_sql() -> None:
    offenders = []
    for path in sorted(ROOT.glob("chatbot/web/**/*.py")):
        name = str(path.relative_to(ROOT))
        if name == "chatbot/web/app.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for module in _imported(node):
                if any(module == f or module.startswith(f + ".") for f in WEB_FORBIDDEN):
                    offenders.append(f"{name}: {module}")
    assert offenders == []
