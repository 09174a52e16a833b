"""Bad input to `loket`: one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatbot import cli

DAY = "2026-11-23"


@pytest.fixture
def database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> str:
    monkeypatch.setenv("LOKET_DATABASE_URL", database_url)
    return database_url


def refusal(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run `loket ARGV`, which must fail with exactly one line on stderr; returns both."""
    code = cli.main(list(argv))
    lines = capsys.readouterr().err.splitlines()
    assert code != 0
    assert len(lines) == 1, lines
    assert lines[0].startswith("loket: ")
    return code, lines[0]


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run `loket ARGV`, which argparse must refuse (exit 2, usage and one error line)."""
    with pytest.raises(SystemExit) as caught:
        cli.main(list(argv))
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.splitlines()[-1]


def test_report_daily_refuses_a_folder_for_out_in_one_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, line = refusal(capsys, "report", "daily", "--date", DAY, "--out", str(tmp_path))
    assert code == 1
    assert line == f"loket: {tmp_path}: Is a directory"


def test_report_daily_refuses_an_unwritable_out_in_one_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no-such-folder" / "daily.xlsx"
    _, line = refusal(capsys, "report", "daily", "--date", DAY, "--out", str(out))
    assert line == f"loket: {out}: No such file or directory"
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    _, line = refusal(capsys, "report", "daily", "--date", DAY, "--out", f"{blocker}/d.xlsx")
    assert line == f"loket: {blocker}/d.xlsx: Not a directory"


@pytest.mark.parametrize(
    "argv",
    [
        ("report", "monthly", "--month", "2026-11", "--out", "{dir}/m.html/"),
        ("report", "monthly", "--month", "2026-11", "--out", "{dir}/missing/m.xlsx"),
        ("cases", "export", "--from", DAY, "--to", DAY, "--format", "csv", "--out", "{dir}"),
        ("phrases", "export", "{dir}/missing/phrases.yaml"),
        ("flow", "diagram", "--out", "{dir}/file/diagram.mmd"),
    ],
)
def test_other_files_that_cannot_be_written_are_refused_in_one_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    (tmp_path / "file").write_text("x")
    (tmp_path / "m.html").mkdir()
    refusal(capsys, *(a.format(dir=tmp_path) for a in argv))


@pytest.mark.parametrize(
    ("name", "text", "reason"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000, "not valid JSON: nested too deeply"),
        ("deep.yaml", "[" * 5_000 + "]" * 5_000, "not valid YAML: nested too deeply"),
        ("deep.yml", "- " * 5_000 + "x", "not valid YAML: nested too deeply"),
        ("bomb.yaml", "a: &a [x, x]\nb: &b [*a, *a]\n", "not valid YAML: aliases (*name)"),
        ("broken.json", '{"id": ', "not valid JSON: Expecting value"),
        ("latin1.json", "", "not UTF-8 text"),
    ],
)
def test_phrase_import_of_unusable_files_is_one_line_and_changes_nothing(
    database: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    reason: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(b'{"id": "caf\xe9"}' if name == "latin1.json" else text.encode())
    code, line = refusal(capsys, "phrases", "import", str(path))
    assert code == 1
    assert line.startswith(f"loket: {path}: {reason}")
    assert cli.main(["phrases", "export", str(tmp_path / "after.json")]) == 0
    after = json.loads((tmp_path / "after.json").read_text(encoding="utf-8"))
    assert cli.main(["phrases", "export", str(tmp_path / "before.json")]) == 0
    assert after == json.loads((tmp_path / "before.json").read_text(encoding="utf-8"))


def test_an_unreachable_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"postgresql+psycopg://loket@/loket?host={tmp_path}/no-server&port=5432"
    monkeypatch.setenv("LOKET_DATABASE_URL", url)
    _, line = refusal(capsys, "cases")
    assert line.startswith("loket: database error: connection")
    assert "Is the server running" in line
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("LOKET_DATABASE_URL", f"sqlite:///{blocker}/loket.db")
    _, line = refusal(capsys, "cases")
    assert line == f"loket: {blocker}: File exists"


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (("report", "daily", "--date", "9999-12-31", "--out", "d.xlsx"), "outside the years"),
        (("report", "daily", "--date", "0001-01-01", "--out", "d.xlsx"), "outside the years"),
        (("report", "daily", "--date", "23-11-2026", "--out", "d.xlsx"), "is not a date"),
        (("cases", "export", "--from", "0001-01-01", "--to", DAY, "--format", "csv"), "years"),
        (("cases", "--id", "99999999999999999999"), "is not an id"),
        (("cases", "--id", "0"), "is not an id"),
        (("serve", "--port", "99999"), "is not a port number"),
        (("serve", "--port", "http"), "is not a port number"),
    ],
)
def test_out_of_range_arguments_are_usage_errors(
    database: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], reason: str
) -> None:
    assert reason in usage_error(capsys, *argv)


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "2026-13"])
def test_report_monthly_refuses_a_month_out_of_range_in_one_line(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], month: str
) -> None:
    code, _ = refusal(capsys, "report", "monthly", "--month", month, "--out", f"{tmp_path}/m.html")
    assert code == 2


def test_traceback_flag_lets_the_error_through(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(IsADirectoryError):
        cli.main(["--traceback", "report", "daily", "--date", DAY, "--out", str(tmp_path)])


def test_a_postgresql_url_without_its_driver_says_what_to_install() -> None:
    missing = ModuleNotFoundError("No module named 'psycopg'", name="psycopg")
    assert "pip install 'loket[postgres]'" in cli._failure(missing)
