"""``safemap year`` (cli/workflow.py) against its own fresh database."""

from __future__ import annotations

from openpyxl import load_workbook
from typer.testing import CliRunner

from cli.workflow import year_app
from tests.conftest import fresh_database

runner = CliRunner()


def test_open_status_remind_and_export(db_settings, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", fresh_database(db_settings, "cli_year"))
    opened = runner.invoke(year_app, ["open", "2027", "--quota", "30", "--opens", "2026-11-01"])
    assert opened.exit_code == 0, opened.output
    assert "民國 116 年度" in opened.output and "30 個" in opened.output
    again = runner.invoke(year_app, ["open", "2027"])
    assert again.exit_code == 1 and "已經開辦" in again.output
    status = runner.invoke(year_app, ["status", "2027"])
    assert status.exit_code == 0 and "草稿" in status.output
    remind = runner.invoke(year_app, ["remind", "2027", "--as-of", "2027-06-30"])
    assert remind.exit_code == 0 and "逾期月報 0 件" in remind.output
    out = tmp_path / "附件8.xlsx"
    exported = runner.invoke(year_app, ["export", "2027", "8", "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    ws = load_workbook(out).active
    assert "分工表" in ws["A1"].value and ws.max_row > 15
