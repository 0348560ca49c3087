"""``safemap plan``: planning commands (CCTV placement as a maximal covering problem)."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from geo.errors import InvalidParameter, SafemapError

plan_app = typer.Typer(help="規劃：監視器設置地點（最大涵蓋選址）。", no_args_is_help=True)

console = Console()
err = Console(stderr=True)


def _handle_errors(fn):
    """zh-TW message and exit code 1 for domain errors.

    The same behaviour as ``cli.main.handle_errors``, kept here because ``cli.main``
    imports this module (importing it back would be circular).
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SafemapError as exc:
            err.print(f"[bold red]錯誤[/]：{escape(exc.message)}")
            if exc.detail:
                err.print(f"[dim]{exc.code}: {escape(str(exc.detail)[:2000])}[/]")
            raise typer.Exit(code=1) from None

    return wrapper


def _read_points(path: Path, label: str, *, optional: bool = False):
    """Read a point layer (GeoJSON, GeoPackage, Shapefile…) into EPSG:3826 metres."""
    from geo.errors import ImportEmpty
    from geo.point_io import read_points

    try:
        return read_points(path, label)
    except ImportEmpty:
        if optional:  # no cameras installed yet is a legitimate existing-camera layer
            return None
        raise


def _parse_bearings(text: str | None) -> list[float] | None:
    if text is None or not text.strip():
        return None
    try:
        values = [float(part) for part in text.replace("，", ",").split(",") if part.strip()]
    except ValueError:
        raise InvalidParameter(
            f"方位角格式不正確：「{text}」，請以逗號分隔度數，例如 0,90,180,270。",
            detail=text,
        ) from None
    if not values:
        raise InvalidParameter("請至少提供一個方位角。", detail=text)
    return values


@plan_app.command("cameras")
@_handle_errors
def plan_cameras(
    demand: Annotated[
        Path, typer.Option("--demand", help="需求點圖層（點，需有 weight 權重欄位）")
    ],
    candidates: Annotated[
        Path, typer.Option("--candidates", help="候選設置點圖層（點，可有 id、cost 欄位）")
    ],
    out: Annotated[Path, typer.Option("--out", help="輸出的規劃 GeoJSON 檔（EPSG:4326）")],
    existing: Annotated[
        Path | None, typer.Option("--existing", help="既有攝影機圖層（點），其涵蓋不重複計算")
    ] = None,
    k: Annotated[
        int | None, typer.Option("--k", help="新設攝影機數量上限（未指定預算時必填）")
    ] = None,
    radius: Annotated[float, typer.Option("--radius", help="攝影機涵蓋半徑（公尺）")] = 100.0,
    time_limit: Annotated[
        float,
        typer.Option(
            "--time-limit",
            help="整個指令（讀檔、建立涵蓋關係、求解、寫檔）的時間上限（秒）；逾時回報目前最佳解與差距",
        ),
    ] = 60.0,
    method: Annotated[
        str, typer.Option("--method", help="milp（精確解）或 greedy（快速預覽）")
    ] = "milp",
    bearings: Annotated[
        str | None,
        typer.Option(
            "--bearings", help="扇形模型的候選方位角（度，北為 0、順時針），如 0,90,180,270"
        ),
    ] = None,
    fov: Annotated[float, typer.Option("--fov", help="扇形模型的視角（度）")] = 90.0,
    budget: Annotated[
        float | None, typer.Option("--budget", help="新台幣預算（候選點需有 cost 欄位）")
    ] = None,
) -> None:
    """選出涵蓋最多需求權重的監視器設置點，輸出建議點位供分局審查。"""
    # the limit is the user's wait, not the solver's share of it: reading and building the
    # coverage of a city-sized instance take seconds that come out of the same minute
    started = time.perf_counter()
    from geo.analysis.placement import CoveragePlanner

    if k is not None and k < 1:
        raise InvalidParameter("攝影機數量 --k 必須至少為 1。", detail=f"k={k}")
    if k is None and budget is None:
        raise InvalidParameter("請以 --k 指定攝影機數量，或以 --budget 指定預算。")
    if time_limit <= 0:
        raise InvalidParameter("--time-limit 必須大於 0 秒。", detail=f"time_limit={time_limit}")
    if method not in ("milp", "greedy"):
        raise InvalidParameter(f"未知的求解方法：{method}（可用 milp 或 greedy）。", detail=method)
    bearing_list = _parse_bearings(bearings)
    if not out.parent.exists():
        raise InvalidParameter(f"輸出資料夾不存在：{out.parent}", detail=str(out.parent))

    with err.status("讀取圖層…"):
        demand_layer = _read_points(demand, "需求點")
        cand_layer = _read_points(candidates, "候選點")
        existing_layer = _read_points(existing, "既有攝影機", optional=True) if existing else None
    with err.status("建立涵蓋關係…"):
        planner = CoveragePlanner.from_layers(
            demand_layer,
            cand_layer,
            radius=radius,
            k=k,
            existing=existing_layer,
            bearings=bearing_list,
            fov=fov,
            budget=budget,
        )
    label = "精確求解（HiGHS）" if method == "milp" else "貪婪演算法預覽"
    left = time_limit - (time.perf_counter() - started) - _WRITE_RESERVE_S
    with err.status(f"{label}中…（最多 {max(left, 0):.0f} 秒）"):
        planner.solve(method=method, time_limit=max(left, _MIN_SOLVE_S))

    plan = planner.to_geojson()
    out.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")

    s = plan["summary"]
    table = Table(title=f"監視器設置規劃（{len(plan['features'])} 處）")
    table.add_column("項目")
    table.add_column("數值", justify="right")
    table.add_row("涵蓋權重", f"{s['covered_weight']:,.2f} / {s['total_weight']:,.2f}")
    table.add_row("涵蓋比例", f"{s['coverage_ratio']:.1%}")
    table.add_row("既有攝影機涵蓋", f"{s['existing_weight']:,.2f}")
    table.add_row("最佳性差距", "—" if s["gap"] is None else f"{s['gap']:.3%}")
    table.add_row("狀態", _STATUS_LABELS.get(s["status"], s["status"]))
    if s["cost"] is not None:
        table.add_row("總成本（新台幣）", f"{s['cost']:,.0f} / {s['budget']:,.0f}")
    table.add_row("求解時間", f"{s['runtime_s']:.2f} 秒")
    console.print(table)
    console.print(f"已寫出 {escape(str(out))}")


# Seconds kept for writing the plan and the table after the solve, and the least a solve is
# given when reading took (nearly) all of the limit: a greedy plan and a gap still come back.
_WRITE_RESERVE_S = 0.5
_MIN_SOLVE_S = 0.5

_STATUS_LABELS = {
    "optimal": "已證明最佳",
    "time_limit": "達時間上限（回報目前最佳解與差距）",
    "greedy": "貪婪解（未證明最佳）",
}
