"""``safemap maps``: write the web maps to a folder, and the monthly briefing pack."""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from geo.errors import InvalidInput, NotFound, SafemapError

maps_app = typer.Typer(
    help="網頁地圖：各行政區、全市與社區地圖，及每月簡報資料包。", no_args_is_help=True
)

console = Console()
err = Console(stderr=True)
log = logging.getLogger(__name__)


def _handle_errors(fn):
    """zh-TW message and exit code 1 for domain errors (as ``cli.main.handle_errors``, which
    this module cannot import: ``cli.main`` imports it)."""

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


def _sessionmaker():
    from geo.db import make_engine, make_sessionmaker
    from geo.settings import DatabaseSettings

    return make_sessionmaker(make_engine(DatabaseSettings(), pool_size=2))


def _actor(session, username: str | None):
    """The account the maps are built for; without one, the city police bureau (which sees
    every layer of every district, as the maps' operator does)."""
    from sqlalchemy import select

    from geo.enums import Role
    from geo.models import User
    from workflow.access import Actor

    if username is None:
        return Actor(user_id=None, role=Role.city_police)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active:
        raise NotFound(f"找不到帳號「{username}」。", detail=f"user {username}")
    return Actor.from_user(user)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    )


def _slug(code: str, name: str) -> str:
    return f"district-{code}-{name}"


def _index_html(entries: list[tuple[str, str]], title: str) -> str:
    import html

    items = "".join(
        f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>'
        for href, label in entries
    )
    return (
        '<!DOCTYPE html><html lang="zh-Hant-TW"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<link rel="stylesheet" href="static/maps/safemap-maps.css"></head>'
        f'<body style="padding:24px"><h1>{html.escape(title)}</h1><ul>{items}</ul></body></html>'
    )


@maps_app.command("build")
@_handle_errors
def build(
    out: Annotated[Path, typer.Option("--out", help="輸出資料夾（會建立）")],
    district: Annotated[
        str | None, typer.Option("--district", help="只產製此行政區（名稱或代碼），另附全市地圖")
    ] = None,
    all_districts: Annotated[bool, typer.Option("--all", help="全部行政區（預設）")] = False,
    public: Annotated[
        bool, typer.Option("--public", help="產製公開版（不含監視器、案件、死角）")
    ] = False,
    user: Annotated[
        str | None, typer.Option("--user", help="以此帳號的權限產製（預設：警察局）")
    ] = None,
    basemap: Annotated[
        str | None, typer.Option("--basemap", help="底圖：nlsc（預設）、none 或 XYZ 圖磚網址")
    ] = None,
    link_base: Annotated[
        str,
        typer.Option(
            "--link-base", help="彈出視窗中紀錄連結的網站位址，如 https://safemap.example"
        ),
    ] = "",
) -> None:
    """產製各行政區地圖與全市概況地圖（HTML，可離線開啟）。"""
    from maps import assets
    from workflow import maps as service
    from workflow.access import ANONYMOUS

    if district and all_districts:
        raise InvalidInput("--district 與 --all 只能擇一。")
    out.mkdir(parents=True, exist_ok=True)
    assets.copy_assets(out)
    options = service.MapOptions(
        basemap=assets.Basemap.parse(basemap), assets=assets.RELATIVE, link_base=link_base
    )
    factory = _sessionmaker()
    started = time.monotonic()
    written: list[tuple[str, str]] = []
    with factory() as session:
        actor = ANONYMOUS if public else _actor(session, user)
        if district:
            targets = [service.find_district(session, actor, district)]
        else:
            targets = service.visible_districts(session, actor)
        with_city = not public and actor.city_wide
        with _progress() as progress:
            task = progress.add_task("產製地圖", total=len(targets) + int(with_city))
            if with_city:
                progress.update(task, description="全市概況")
                page = service.html(service.city_map_for(session, actor, options))
                (out / "city.html").write_text(page, encoding="utf-8")
                written.append(("city.html", "全市社區治安涵蓋概況"))
                progress.advance(task)
            for ref in targets:
                progress.update(task, description=ref.name)
                m = service.district_map_for(session, actor, ref.code, options, public=public)
                name = f"{_slug(ref.code, ref.name)}{'-public' if public else ''}.html"
                (out / name).write_text(service.html(m), encoding="utf-8")
                written.append((name, f"{ref.name}{'（公開版）' if public else ''}"))
                progress.advance(task)
    (out / "index.html").write_text(_index_html(written, "safemap 網頁地圖"), encoding="utf-8")
    console.print(
        f"已寫出 {len(written)} 張地圖至 {escape(str(out))}（{time.monotonic() - started:.1f} 秒）；"
        "開啟 index.html 瀏覽。"
    )


@maps_app.command("briefing")
@_handle_errors
def briefing(
    district: Annotated[str, typer.Option("--district", help="行政區名稱或代碼，如 板橋區")],
    month: Annotated[str, typer.Option("--month", help="月份，如 2026-10")],
    out: Annotated[Path, typer.Option("--out", help="輸出資料夾")],
    user: Annotated[
        str | None, typer.Option("--user", help="以此帳號的權限產製（預設：警察局）")
    ] = None,
    basemap: Annotated[str | None, typer.Option("--basemap", help="nlsc、none 或圖磚網址")] = None,
) -> None:
    """每月簡報資料包：地圖（HTML）、圖層（GeoPackage）與重點數據（CSV／XLSX／HTML）。"""
    from maps import assets
    from workflow import maps as service

    options = service.MapOptions(basemap=assets.Basemap.parse(basemap), assets=assets.RELATIVE)
    factory = _sessionmaker()
    with factory() as session, _progress() as progress:
        task = progress.add_task("簡報資料包", total=4)
        actor = _actor(session, user)
        pack = service.monthly(session, actor, district, month, options)
        progress.advance(task)
        folder = out / f"{pack.code}-{pack.name}-{month}"
        folder.mkdir(parents=True, exist_ok=True)
        assets.copy_assets(folder)
        (folder / "map.html").write_text(pack.html, encoding="utf-8")
        progress.advance(task)
        written = service.write_layers(pack, folder / "layers.gpkg")
        progress.advance(task)
        tables = service.write_figures(pack, folder)
        progress.advance(task)
    console.print(f"已寫出簡報資料包：{escape(str(folder))}")
    console.print(
        f"  map.html、layers.gpkg（{len(written)} 個圖層）、{'、'.join(p.name for p in tables)}"
    )
