"""The ``safemap`` command line.

Every command honours ``DATABASE_URL``; without it, the private cluster of the checkout is
used (and started when needed), exactly as ``make run`` does.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli import plan
from cli.maps import maps_app
from cli.workflow import year_app

from .analysis import analysis_app
from .common import _cli_actor, _progress, _sessionmaker, console, err, handle_errors

app = typer.Typer(
    help="safemap：新北市社區治安營造 GIS 平台的命令列工具。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
db_app = typer.Typer(help="資料庫：遷移結構、查看狀態、管理內建資料庫。", no_args_is_help=True)
import_app = typer.Typer(help="匯入官方資料（村里界、分局轄區、派出所）。", no_args_is_help=True)
demo_app = typer.Typer(help="示範資料：載入與列出示範帳號。", no_args_is_help=True)
users_app = typer.Typer(help="使用者帳號管理。", no_args_is_help=True)
export_app = typer.Typer(help="匯出圖資（GeoPackage、KML、KMZ）。", no_args_is_help=True)
plan_app = typer.Typer(help="規劃：監視器設置地點（最大涵蓋選址）。", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(import_app, name="import")
app.add_typer(demo_app, name="demo")
app.add_typer(users_app, name="users")
app.add_typer(export_app, name="export")
app.add_typer(plan_app, name="plan")
app.add_typer(maps_app, name="maps")
app.add_typer(analysis_app, name="analysis")
app.add_typer(year_app, name="year")


# --------------------------------------------------------------------------- plan
@plan_app.command(
    "cameras",
    help=plan.DESCRIPTION,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def plan_cameras(ctx: typer.Context) -> None:
    # one definition of the options, in cli/plan.py (argparse, see there why)
    code = plan.main(list(ctx.args))
    if code:
        raise typer.Exit(code=code)


# --------------------------------------------------------------------------- db
@db_app.command("migrate")
@handle_errors
def db_migrate() -> None:
    """將資料庫結構更新到最新版本（可對任何 PostGIS 資料庫執行）。"""
    from geo import migrate
    from geo.db import make_engine
    from geo.settings import DatabaseSettings

    engine = make_engine(DatabaseSettings(), pool_size=1)
    before = migrate.current(engine)
    migrate.upgrade(engine)
    after = migrate.current(engine)
    if before == after:
        console.print(f"資料庫結構已是最新版本（{after}）。")
    else:
        console.print(f"資料庫結構已更新：{before or '（空）'} → {after}")


@db_app.command("status")
@handle_errors
def db_status() -> None:
    """顯示資料庫連線、版本與結構版本。"""
    from geo import migrate
    from geo.db import server_versions

    factory = _sessionmaker()
    with factory() as session:
        versions = server_versions(session)
        current = migrate.current_in(session)
    console.print(f"PostgreSQL {versions['postgresql']}，PostGIS {versions['postgis']}")
    console.print(f"結構版本：{current or '（尚未建立）'}；最新版本：{migrate.head()}")


@db_app.command("optimise")
@handle_errors
def db_optimise(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="只整理這些圖層（可重複）；預設為所有大型圖層"),
    ] = None,
) -> None:
    """依空間索引重排大型圖層（監視器、問題點、案件），大量匯入後執行可加快地圖與 OGC 分頁。"""
    from rich.progress import Progress

    from geo.db import make_engine
    from geo.maintenance import LARGE_LAYERS, cluster_layers
    from geo.settings import DatabaseSettings

    tables = tuple(table or LARGE_LAYERS)
    unknown = sorted(set(tables) - set(LARGE_LAYERS))
    if unknown:
        raise typer.BadParameter(
            f"不是大型圖層：{'、'.join(unknown)}（可用：{'、'.join(LARGE_LAYERS)}）",
            param_hint="--table",
        )
    engine = make_engine(DatabaseSettings(), pool_size=1)
    with Progress(console=console) as bar, engine.begin() as conn:
        task = bar.add_task("整理圖層", total=len(tables))
        rows = cluster_layers(conn, tables, progress=lambda _t: bar.advance(task))
    for name, n in rows.items():
        console.print(f"{name}：{n:,} 筆已依空間順序重排並更新統計。")


@db_app.command("start")
@handle_errors
def db_start() -> None:
    """啟動內建資料庫（未設定 DATABASE_URL 時使用），並印出連線字串。"""
    from geo.embedded import EmbeddedCluster

    if os.environ.get("DATABASE_URL"):
        console.print("已設定 DATABASE_URL，不使用內建資料庫。")
        return
    url = EmbeddedCluster().ensure()
    console.print(url)


@db_app.command("stop")
@handle_errors
def db_stop() -> None:
    """停止內建資料庫。"""
    from geo.embedded import EmbeddedCluster

    EmbeddedCluster().stop()
    console.print("內建資料庫已停止。")


# --------------------------------------------------------------------------- import
@import_app.command("boundaries")
@handle_errors
def import_boundaries(
    path: Annotated[
        Path,
        typer.Argument(help="村里界檔案：Shapefile 資料夾或 .zip、GeoPackage、GeoJSON、TopoJSON"),
    ],
    county: Annotated[str, typer.Option(help="保留的縣市名稱或代碼")] = "新北市",
    crs: Annotated[
        str | None, typer.Option(help="檔案未宣告座標系統時指定，例如 EPSG:3826、EPSG:3828")
    ] = None,
    layer: Annotated[str | None, typer.Option(help="多圖層檔案中要讀的圖層")] = None,
) -> None:
    """匯入官方村里界，並由村里合併出鄉鎮市區界（同一檔案重複匯入不會改變任何資料）。"""
    from geo.boundaries import import_boundaries as run
    from geo.db import transaction

    factory = _sessionmaker()
    with _progress() as progress:
        task = progress.add_task("匯入村里界", total=1.0)

        def report(step: str, fraction: float) -> None:
            progress.update(task, completed=fraction, description=f"匯入村里界：{step}")

        with transaction(factory) as session:
            result = run(session, path, county=county, crs=crs, layer=layer, progress=report)
    table = Table(title=f"{result.county} 村里界匯入結果（{result.source}，{result.crs}）")
    for col in ("", "新增", "更新", "未變更", "停用"):
        table.add_column(col)
    table.add_row(
        "鄉鎮市區",
        str(result.districts_inserted),
        str(result.districts_updated),
        str(result.districts_unchanged),
        str(result.districts_retired),
    )
    table.add_row(
        "村里",
        str(result.villages_inserted),
        str(result.villages_updated),
        str(result.villages_unchanged),
        str(result.villages_retired),
    )
    console.print(table)
    if result.unnamed_skipped:
        console.print(
            f"未命名區域（河川、島嶼）{result.unnamed_skipped} 筆：併入鄉鎮市區界，不列為村里。"
        )
    if result.repaired:
        console.print(
            f"已修復自相交等無效圖形 {len(result.repaired)} 筆：{'、'.join(result.repaired[:20])}"
        )
    if not result.changed:
        console.print("資料與資料庫完全相同，未做任何變更。")


@import_app.command("precincts")
@handle_errors
def import_precincts(
    path: Annotated[
        Path,
        typer.Argument(help="CSV：precinct 欄，加上 VILLCODE（逐里）或 TOWNCODE／district（整區）"),
    ],
) -> None:
    """匯入分局轄區（每個村里屬於一個分局）。"""
    from geo.db import transaction
    from geo.jurisdictions import import_jurisdictions, read_csv

    rows = read_csv(path)
    with transaction(_sessionmaker()) as session:
        report = import_jurisdictions(session, rows)
    console.print(
        f"分局轄區已匯入：{report.villages_assigned} 個村里（變更 {report.villages_changed}），"
        f"新增分局 {report.precincts_created} 個。"
    )
    if report.unassigned_villages:
        console.print(f"[yellow]尚未指定分局的村里 {len(report.unassigned_villages)} 個[/]")


@import_app.command("stations")
@handle_errors
def import_stations(
    path: Annotated[
        Path, typer.Argument(help="CSV：precinct、station，可選 station_type、address、lon、lat")
    ],
) -> None:
    """匯入派出所（分駐所）名單。"""
    from geo.db import transaction
    from geo.jurisdictions import import_stations as run
    from geo.jurisdictions import read_csv

    rows = read_csv(path)
    with transaction(_sessionmaker()) as session:
        created, updated = run(session, rows)
    console.print(f"派出所已匯入：新增 {created}，更新 {updated}。")


@import_app.command("layer")
@handle_errors
def import_layer(
    path: Annotated[
        Path,
        typer.Argument(
            help="圖層檔案：GeoJSON、KML/KMZ（Google 我的地圖）、Shapefile .zip、GeoPackage、CSV"
        ),
    ],
    kind: Annotated[
        str,
        typer.Option(
            help="圖層：hazards、cameras、incidents、patrol_blocks、patrol_routes、safety_meetings、safety_audits"
        ),
    ] = "hazards",
    community: Annotated[int | None, typer.Option(help="匯入到哪個社區（社區編號）")] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help="類別對照「來源=代碼」，可重複，例如 --map 路燈壞了=poor_lighting"
        ),
    ] = None,
    default_category: Annotated[
        str | None, typer.Option(help="無法對照時的類別，例如 other")
    ] = None,
    layer: Annotated[
        str | None, typer.Option(help="只讀這個圖層（KML 資料夾、GeoPackage 表格）")
    ] = None,
    crs: Annotated[
        str | None, typer.Option(help="檔案未宣告座標系統時指定，例如 EPSG:3828")
    ] = None,
    user: Annotated[str | None, typer.Option(help="以此帳號的身分匯入（預設為系統管理者）")] = None,
    dry_run: Annotated[bool, typer.Option(help="只檢查不儲存")] = False,
) -> None:
    """匯入圖層檔案到社區（全部成功才儲存；列出無法匯入的資料列與原因）。"""
    from geo.db import transaction
    from geo.errors import ImportRowsRejected, InvalidInput
    from workflow.transfer import import_layer as run

    mapping = {}
    for item in map_ or []:
        source, sep, target = item.partition("=")
        if not sep or not source or not target:
            raise InvalidInput(f"類別對照格式應為「來源=代碼」：{item}", detail=item)
        mapping[source] = target
    try:
        with _progress() as progress:
            progress.add_task(f"匯入 {path.name}", total=None)
            with transaction(_sessionmaker()) as session:
                result = run(
                    session,
                    _cli_actor(session, user),
                    kind,
                    path,
                    community_id=community,
                    category_mapping=mapping or None,
                    default_category=default_category,
                    layer=layer,
                    crs=crs,
                    dry_run=dry_run,
                )
    except ImportRowsRejected as exc:
        table = Table(title="無法匯入的資料列（整批未儲存）")
        table.add_column("位置")
        table.add_column("原因")
        for p in exc.context.get("problems", [])[:200]:
            table.add_row(p.where_zh, p.reason_zh)
        err.print(table)
        raise
    verb = "可匯入" if dry_run else "已匯入"
    console.print(f"{verb} {result['would_import']} 筆（{result['source']}）。")
    for r in result["repairs"][:50]:
        console.print(f"[yellow]已修正[/]：{r['layer'] or ''} 第 {r['row']} 筆：{r['note_zh']}")


@export_app.command("community")
@handle_errors
def export_community(
    community_id: Annotated[int, typer.Argument(help="社區編號")],
    out: Annotated[Path, typer.Option(help="輸出檔案")],
    format: Annotated[str, typer.Option(help="gpkg、kml 或 kmz（預設依副檔名）")] = "",
    user: Annotated[str | None, typer.Option(help="以此帳號的權限匯出（預設為系統管理者）")] = None,
) -> None:
    """匯出社區的整份安全檢測地圖（問題點、會議、稽核、區塊、巡守路線、監視器）。"""
    from workflow.transfer import export_community as run

    fmt = format or out.suffix.lstrip(".").lower() or "gpkg"
    with _sessionmaker()() as session:
        data, _, _ = run(session, _cli_actor(session, user), community_id, fmt)
    out.write_bytes(data)
    console.print(f"已匯出 {out}（{len(data):,} bytes）。")


@import_app.command("streets")
@handle_errors
def import_streets(
    path: Annotated[
        Path,
        typer.Argument(
            help="道路中心線：GeoJSON、Shapefile、GeoPackage，或 OpenStreetMap .osm.pbf"
        ),
    ],
    replace: Annotated[bool, typer.Option(help="先刪除既有路網")] = False,
    crs: Annotated[str | None, typer.Option(help="檔案未宣告座標系統時指定")] = None,
    layer: Annotated[str | None, typer.Option(help="多圖層檔案中要讀的圖層")] = None,
) -> None:
    """匯入道路中心線，於交叉點切分為路段（長度以公尺計）。"""
    from geo.db import transaction
    from geo.streets import import_streets as run

    with _progress() as progress:
        task = progress.add_task("匯入路網", total=1.0)

        def report(step: str, fraction: float) -> None:
            progress.update(task, completed=fraction, description=f"匯入路網：{step}")

        with transaction(_sessionmaker()) as session:
            result = run(session, path, replace=replace, crs=crs, layer=layer, progress=report)
    console.print(
        f"路網已匯入：{result.lines_read} 條線，切分為 {result.segments} 段，共 {result.total_km:,.1f} 公里。"
    )


@import_app.command("buildings")
@handle_errors
def import_buildings(
    path: Annotated[Path, typer.Argument(help="建物輪廓（面）：GeoJSON、Shapefile 或 GeoPackage")],
    replace: Annotated[bool, typer.Option(help="先刪除既有建物")] = False,
    crs: Annotated[str | None, typer.Option(help="檔案未宣告座標系統時指定")] = None,
    layer: Annotated[str | None, typer.Option(help="多圖層檔案中要讀的圖層")] = None,
) -> None:
    """匯入建物輪廓；之後監視器的視野扣除建物及其遮蔽的範圍。"""
    from geo.buildings import import_buildings as run
    from geo.db import transaction

    with _progress() as progress:
        task = progress.add_task("匯入建物", total=1.0)

        def report(step: str, fraction: float) -> None:
            progress.update(task, completed=fraction, description=f"匯入建物：{step}")

        with transaction(_sessionmaker()) as session:
            result = run(session, path, replace=replace, crs=crs, layer=layer, progress=report)
    console.print(
        f"建物已匯入：讀取 {result.features_read} 筆，匯入 {result.buildings} 棟，"
        f"總面積 {result.area_m2:,.0f} 平方公尺。"
    )


# --------------------------------------------------------------------------- demo
@demo_app.command("load")
@handle_errors
def demo_load(
    force: Annotated[bool, typer.Option(help="即使已載入也再載入一次（不建議）")] = False,
) -> None:
    """載入示範資料（新北市真實村里界＋標示「示範」的作業資料）；已載入時略過。"""
    from data import demo
    from geo.db import transaction

    factory = _sessionmaker()
    with factory() as session:
        loaded = demo.is_loaded(session)
    if loaded and not force:
        console.print("示範資料已載入，略過。")
        return
    with _progress() as progress:
        task = progress.add_task("載入示範資料", total=1.0)

        def report(step: str, fraction: float) -> None:
            progress.update(task, completed=fraction, description=f"載入示範資料：{step}")

        with transaction(factory) as session:
            counts = demo.load(session, progress=report)
    console.print("示範資料已載入：" + "、".join(f"{k} {v}" for k, v in counts.items()))


@demo_app.command("accounts")
@handle_errors
def demo_accounts() -> None:
    """列出示範帳號（每個角色一個）。"""
    from sqlalchemy import select

    from data import demo
    from geo.models import User

    factory = _sessionmaker()
    with factory() as session:
        existing = set(session.scalars(select(User.username).where(User.username.like("demo-%"))))
    table = Table(title="示範帳號（密碼皆為 " + demo.demo_password() + "）")
    table.add_column("帳號")
    table.add_column("角色")
    table.add_column("說明")
    for account in demo.DEMO_ACCOUNTS:
        if account.username in existing:
            table.add_row(account.username, account.role.label, account.display_name)
    console.print(table)


# --------------------------------------------------------------------------- users
@users_app.command("create")
@handle_errors
def users_create(
    username: Annotated[str, typer.Argument(help="登入帳號")],
    role: Annotated[
        str,
        typer.Option(
            help="角色代碼：community, station, precinct, district_office, city_police, fire_bureau, social_affairs, counselling, leader, admin"
        ),
    ],
    display_name: Annotated[str, typer.Option(help="顯示名稱")] = "",
    precinct: Annotated[str | None, typer.Option(help="分局名稱（precinct 角色）")] = None,
    district: Annotated[
        str | None, typer.Option(help="鄉鎮市區名稱或代碼（district_office 角色）")
    ] = None,
    password: Annotated[str | None, typer.Option(help="密碼；未提供時互動輸入")] = None,
) -> None:
    """建立使用者帳號。"""
    from sqlalchemy import or_, select

    from geo.db import transaction
    from geo.enums import Role
    from geo.errors import InvalidInput
    from geo.models import District, Precinct, User
    from workflow.auth import hash_password

    try:
        role_enum = Role(role)
    except ValueError:
        raise InvalidInput(f"未知的角色：{role}", detail=role) from None
    if password is None:
        password = typer.prompt("密碼", hide_input=True, confirmation_prompt=True)
    if len(password) < 8:
        raise InvalidInput("密碼至少需要 8 個字元。")
    with transaction(_sessionmaker()) as session:
        if session.scalar(select(User).where(User.username == username)):
            raise InvalidInput(f"帳號 {username} 已存在。")
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=hash_password(password),
            role=role_enum,
        )
        if precinct:
            p = session.scalar(select(Precinct).where(Precinct.name == precinct))
            if p is None:
                raise InvalidInput(f"找不到分局：{precinct}")
            user.precinct_id = p.id
        if district:
            d = session.scalar(
                select(District).where(or_(District.name == district, District.code == district))
            )
            if d is None:
                raise InvalidInput(f"找不到鄉鎮市區：{district}")
            user.district_id = d.id
        if role_enum is Role.precinct and user.precinct_id is None:
            raise InvalidInput("分局帳號必須以 --precinct 指定分局。")
        if role_enum is Role.district_office and user.district_id is None:
            raise InvalidInput("區公所帳號必須以 --district 指定鄉鎮市區。")
        if role_enum in (Role.station, Role.community):
            raise InvalidInput("派出所與社區帳號請由系統管理頁面建立（需指定派出所或組織）。")
        session.add(user)
    console.print(f"已建立帳號 {username}（{role_enum.label}）。")


# --------------------------------------------------------------------------- serve
@app.command("serve")
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="監聽位址")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="連接埠（預設 PORT 環境變數或 8000）")] = None,
) -> None:
    """啟動網站與 API 服務。"""
    import uvicorn

    from api.app import create_app
    from api.settings import AppSettings

    port = port or int(os.environ.get("PORT", "8000"))
    settings = AppSettings()
    # Resolve the database before the server starts so a bad URL fails here, clearly.
    settings.database.database_url = settings.database.resolved_url()
    console.print(f"safemap 服務於 http://{host}:{port}（API 文件：/docs）")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def main() -> None:  # pragma: no cover - console script shim
    logging.basicConfig(level=logging.WARNING)
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
