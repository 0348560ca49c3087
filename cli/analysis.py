"""`safemap analysis …`: hot spots, blind spots and coverage from the command line."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from .common import _cli_actor, _progress, _sessionmaker, console, handle_errors

analysis_app = typer.Typer(
    help="空間分析：熱點、治安死角、監視器涵蓋率（結果會儲存，可逐月比較）。", no_args_is_help=True
)


def _scope(session, actor, district, community):
    from workflow.analysis import resolve_scope

    return resolve_scope(session, actor, district=district, community_id=community)


@analysis_app.command("hotspots")
@handle_errors
def hotspots(
    district: Annotated[str | None, typer.Option(help="行政區名稱或代碼（省略為全市）")] = None,
    community: Annotated[int | None, typer.Option(help="社區編號")] = None,
    cell: Annotated[float, typer.Option(help="網格大小（公尺）")] = 100.0,
    types: Annotated[list[str] | None, typer.Option("--type", help="案件類別代碼，可重複")] = None,
    start: Annotated[str | None, typer.Option(help="起日 YYYY-MM-DD")] = None,
    end: Annotated[str | None, typer.Option(help="迄日 YYYY-MM-DD（不含）")] = None,
    user: Annotated[str | None, typer.Option(help="以此帳號的轄區與權限執行")] = None,
) -> None:
    """執行 Getis-Ord Gi* 熱點分析（FDR 控制）並儲存結果。"""
    from geo.db import transaction
    from workflow import analysis

    def day(value):
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC) if value else None

    with _progress() as progress, transaction(_sessionmaker()) as session:
        progress.add_task("熱點分析", total=None)
        actor = _cli_actor(session, user)
        run = analysis.run_hotspots(
            session,
            actor,
            _scope(session, actor, district, community),
            cell=cell,
            types=types,
            start=day(start),
            end=day(end),
        )
    s = run.summary
    console.print(
        f"熱點分析 #{run.id}：事件 {s.get('incidents', 0)} 件，熱點網格 {s.get('hot', 0)} 格（99% 信心 {s.get('hot99', 0)} 格），"
        f"耗時 {run.duration_ms} ms。"
    )


@analysis_app.command("blind-spots")
@handle_errors
def blind_spots(
    district: Annotated[str | None, typer.Option(help="行政區名稱或代碼（省略為全市）")] = None,
    community: Annotated[int | None, typer.Option(help="社區編號")] = None,
    hotspot_run: Annotated[int | None, typer.Option(help="使用既有熱點分析的編號")] = None,
    patrol_buffer: Annotated[float, typer.Option(help="巡守路線涵蓋距離（公尺）")] = 50.0,
    user: Annotated[str | None, typer.Option(help="以此帳號的轄區與權限執行")] = None,
    top: Annotated[int, typer.Option(help="列出前幾名")] = 10,
) -> None:
    """找出沒有監視器、認養區塊或巡守路線涵蓋的熱點與問題點，依風險排序並儲存。"""
    from sqlalchemy import select

    from geo.blindspots import REASONS
    from geo.db import transaction
    from geo.models import BlindSpot
    from workflow import analysis

    with _progress() as progress, transaction(_sessionmaker()) as session:
        progress.add_task("治安死角分析", total=None)
        actor = _cli_actor(session, user)
        run = analysis.run_blind_spots(
            session,
            actor,
            _scope(session, actor, district, community),
            hotspot_run_id=hotspot_run,
            patrol_buffer_m=patrol_buffer,
        )
        rows = session.scalars(
            select(BlindSpot).where(BlindSpot.run_id == run.id).order_by(BlindSpot.rank).limit(top)
        ).all()
        table = Table(
            title=f"治安死角分析 #{run.id}：共 {run.summary['blind_spots']} 處（三項皆缺 {run.summary['complete']} 處）"
        )
        for col in ("名次", "風險", "類型", "原因"):
            table.add_column(col)
        for r in rows:
            kind = "熱點網格" if r.source_kind == "hotspot_cell" else "問題點"
            table.add_row(
                str(r.rank), f"{r.risk:.1f}", kind, "、".join(REASONS[x] for x in r.reasons)
            )
    console.print(table)


@analysis_app.command("coverage")
@handle_errors
def coverage_cmd(
    area: Annotated[
        str, typer.Option(help="district、village、community 或 precinct")
    ] = "district",
    user: Annotated[str | None, typer.Option(help="以此帳號的轄區與權限執行")] = None,
) -> None:
    """各區監視器涵蓋率：街道長度、開放中的問題點、案件。"""
    from workflow import analysis

    with _sessionmaker()() as session:
        rows = analysis.coverage_by_area(session, _cli_actor(session, user), area)
    table = Table(title="監視器涵蓋率")
    for col in (
        "代碼",
        "名稱",
        "街道（公里）",
        "涵蓋率",
        "問題點（被拍到/開放）",
        "案件（被拍到/全部）",
    ):
        table.add_column(col)
    for r in rows:
        share = "未載入路網" if r["street_share"] is None else f"{r['street_share']:.1%}"
        table.add_row(
            r["code"], r["name"], f"{r['street_m'] / 1000:.1f}", share,
            f"{r['hazards_seen']}/{r['hazards_open']}", f"{r['incidents_seen']}/{r['incidents']}",
        )  # fmt: skip
    console.print(table)
