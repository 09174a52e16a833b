"""What an installed Loket needs: files found through the package, one version."""

from __future__ import annotations

import ast
from importlib import metadata, resources
from pathlib import Path

from settings import Settings
from tests.loket_cli import loket_process

ROOT = Path(__file__).resolve().parent.parent


def test_no_shipped_module_looks_for_files_beside_its_source() -> None:
    # scripts/check_package.sh proves an installed wheel works; this names the culprit
    # early: files are found through importlib.resources (chatbot/resource.py, settings.py).
    offenders = []
    for path in [
        ROOT / "settings.py",
        *ROOT.glob("chatbot/**/*.py"),
        *ROOT.glob("flows/**/*.py"),
        *ROOT.glob("db/**/*.py"),
    ]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.Name) and n.id == "__file__" for n in ast.walk(tree)):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_default_phrases_and_profiles_are_the_packages_own() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.scripts_dir == resources.files("scripts_text")
    assert settings.profiles_dir == resources.files("flows.profiles")
    assert (settings.scripts_dir / "id" / "greeting").is_dir()
    assert (settings.profiles_dir / "erzap.yaml").is_file()


def test_version_is_the_installed_distributions(tmp_path: Path) -> None:
    shown = loket_process(tmp_path, "--version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.strip() == f"loket {metadata.version('loket')}"
