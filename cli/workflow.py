"""``safemap year``: the program year from the command line (open a year, its status, monthly
reminders for cron, the 附件 as spreadsheets). Acts as a system administrator unless
``--user`` names an account."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import _cli_actor, _sessionmaker, console, handle_errors

year_app = typer.Typer(help="計畫年度：開辦、狀態、逾期月報通知、匯出附件。", no_args_is_help=True)

UserOpt = Annotated[str | None, typer.Option("--user", help="以此帳號執行（預設：系統管理者）")]


@year_app.command("open")
@handle_errors
def open_year(
    year: Annotated[int, typer.Argument(help="西元年，例如 2027")],
    quota: Annotated[int | None, typer.Option(help="補助名額（預設 33）")] = None,
    opens: Annotated[str | None, typer.Option(help="受理申請起日 YYYY-MM-DD")] = None,
    closes: Annotated[str | None, typer.Option(help="受理申請迄日 YYYY-MM-DD")] = None,
    user: UserOpt = None,
) -> None:
    """開辦計畫年度（設定以計畫預設值複製，並建立分工表）。"""
    from workflow import applications

    factory = _sessionmaker()
    with factory() as session, session.begin():
        out = applications.open_year(
            session,
            _cli_actor(session, user),
            applications.YearCreate(
                year=year,
                quota=quota,
                application_opens=dt.date.fromisoformat(opens) if opens else None,
                application_closes=dt.date.fromisoformat(closes) if closes else None,
            ),
        )
    console.print(f"已開辦民國 {out['roc_year']} 年度，補助名額 {out['quota']} 個。")


@year_app.command("status")
@handle_errors
def status(year: int, user: UserOpt = None) -> None:
    """年度名額與各狀態申請案數。"""
    from geo.enums import ApplicationStatus
    from workflow import applications

    factory = _sessionmaker()
    with factory() as session:
        out = applications.read_year(session, _cli_actor(session, user), year)
    table = Table(
        title=f"民國 {out['roc_year']} 年度：名額 {out['quota']}，已核定 {out['subsidised']}"
    )
    table.add_column("狀態")
    table.add_column("件數", justify="right")
    for value, n in out["applications"].items():
        table.add_row(ApplicationStatus(value).label, str(n))
    console.print(table)


@year_app.command("remind")
@handle_errors
def remind(
    year: int,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="以此日期判斷逾期（預設今天）")
    ] = None,
    user: UserOpt = None,
) -> None:
    """通知分局與社區逾期未填報的月報（每月每案只通知一次，可每日排程執行）。"""
    from workflow import monitoring

    factory = _sessionmaker()
    with factory() as session, session.begin():
        out = monitoring.remind_overdue(
            session,
            _cli_actor(session, user),
            year,
            as_of=dt.date.fromisoformat(as_of) if as_of else None,
        )
    console.print(f"逾期月報 {out['overdue']} 件，發出通知 {out['notifications']} 則。")


@year_app.command("export")
@handle_errors
def export(
    year: int,
    code: Annotated[str, typer.Argument(help="附件編號 2–9")],
    out: Annotated[Path, typer.Option("--out", "-o", help="XLSX 檔案路徑")],
    user: UserOpt = None,
) -> None:
    """把附件2–9 匯出為 XLSX。"""
    from workflow import forms

    factory = _sessionmaker()
    with factory() as session:
        doc = forms.year_form(session, _cli_actor(session, user), year, code)
        out.write_bytes(forms.xlsx(doc))
    console.print(f"已匯出 {doc.code} {doc.title}：{out}")


@year_app.command("purge-keys")
@handle_errors
def purge_keys(
    days: Annotated[int, typer.Option("--days", min=0, help="保留天數（預設 7 天）")] = 7,
) -> None:
    """刪除超過保留天數的 Idempotency-Key 紀錄（可每日排程執行）。"""
    from workflow import idempotency

    factory = _sessionmaker()
    with factory() as session, session.begin():
        n = idempotency.purge(session, older_than=dt.timedelta(days=days))
    console.print(f"已刪除 {n} 筆超過 {days} 天的 Idempotency-Key 紀錄。")
