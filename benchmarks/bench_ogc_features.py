"""Throughput of the OGC API Features items endpoint against tipg, side by side.

A 1,000-feature bbox page of 200,000 cameras, served by

- **tipg** (FastAPI + asyncpg OGC Features server), in its own virtualenv
  ``benchmarks/.venv-tipg/`` (``pip install tipg uvicorn[standard]``, the same uvicorn extras
  as the project) so its pinned FastAPI/pydantic never touch the project's venv; it serves
  ``public.cameras`` with the same 15 attribute columns as safemap's camera layer;
- **safemap** (``safemap serve``: ``/ogc/collections/cameras/items``), signed in as a precinct
  account, since cameras are never public;
- **PostGIS alone**: the same page's SQL (the statements the application's own
  ``workflow.catalogue.items`` sends, captured and rendered by psycopg2) run by ``pgbench``,
  as the ceiling.

Each server runs as one uvicorn process on its own port, alone: it is started, warmed up,
measured with ``wrk`` (a separate process) and stopped before the next one starts. Both get the
same connections, threads and duration; with ``--rounds N`` the servers are measured in
alternation N times and the median round is reported. During each measured run the CPU time
of the server process, of the database's backends and of the load generator is read from
/proc, and reported per request: where the time goes, even on a machine shared with other
work.

The data: a fresh database ``safemap_bench_ogc`` (dropped and re-created; ``--reuse-data``
keeps it), migrated, one precinct and its police account, 200,000 cameras generated in SQL
(seeded) around New Taipei's town centres in EPSG:3826, then ``safemap db optimise`` (the
table rewritten in the order of its GiST index, as after any bulk import) and VACUUM ANALYZE;
both servers read that same table. The bbox is
grown around central Banqiao until it holds ``--bbox-target`` cameras (5,000 by default), so
both servers return exactly 1,000 features; the answers are compared (see ``compare``).

Usage (from the checkout; without DATABASE_URL the private cluster is used)::

    .venv/bin/python benchmarks/bench_ogc_features.py
    .venv/bin/python benchmarks/bench_ogc_features.py --rounds 3 --duration 20 --connections 8

Needs ``wrk`` (installed with ``apt-get install -y wrk`` when missing and run as root) and
``pgbench`` (from the PostgreSQL client packages).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402
from sqlalchemy.engine import URL, Engine  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

DB_NAME = "safemap_bench_ogc"
TIPG_VENV = ROOT / "benchmarks" / ".venv-tipg"
SAFEMAP_BIN = ROOT / ".venv" / "bin" / "safemap"
USERNAME = "bench-precinct"
PASSWORD = "pw-測試-123"
LIMIT = 1000
LOCK_KEY = 0x0BE7C0F5  # advisory lock held by a run, on the server's "postgres" database
# The same attribute columns as safemap's camera layer (geo.layers.CAMERAS), so both servers
# return the same properties; tipg cannot serve the second geometry (the view sector).
CAMERA_PROPERTIES = [
    "id", "version", "community_id", "precinct_id", "name", "status", "owner", "bearing_deg",
    "fov_deg", "range_m", "height_m", "application_id", "note", "installed_at", "updated_at",
]  # fmt: skip

# Town centres of New Taipei in EPSG:3826 (TWD97 / TM2 121) with a spread in metres and a
# weight roughly following population; 10 % of the cameras are spread over the whole extent.
CENTRES = [
    ("板橋", 296_800, 2_767_300, 1_400, 14),
    ("三重", 299_200, 2_772_600, 1_200, 10),
    ("中和", 300_300, 2_765_600, 1_300, 10),
    ("新莊", 295_400, 2_769_700, 1_500, 10),
    ("新店", 304_600, 2_762_200, 1_800, 8),
    ("土城", 294_700, 2_762_600, 1_300, 6),
    ("永和", 302_000, 2_766_600, 800, 6),
    ("蘆洲", 297_700, 2_775_200, 900, 5),
    ("樹林", 292_400, 2_764_600, 1_400, 5),
    ("汐止", 316_400, 2_773_100, 1_500, 5),
    ("淡水", 294_900, 2_784_600, 1_700, 5),
    ("三峽", 287_300, 2_758_400, 1_600, 3),
    ("林口", 289_300, 2_774_700, 1_500, 3),
    ("五股", 294_400, 2_775_700, 1_200, 2),
]
EXTENT = (280_000, 2_750_000, 320_000, 2_790_000)  # x min, y min, x max, y max (EPSG:3826)
BACKGROUND = 0.10

CAMERAS_SQL = """
INSERT INTO cameras (precinct_id, status, owner, geom, bearing_deg, fov_deg, range_m, height_m,
                     name, installed_at, is_demo, updated_at, version)
SELECT
    :precinct_id,
    (CASE WHEN r.s < 0.50 THEN 'existing' WHEN r.s < 0.75 THEN 'installed'
          WHEN r.s < 0.85 THEN 'approved' WHEN r.s < 0.95 THEN 'proposed'
          ELSE 'rejected' END)::camera_status,
    (CASE WHEN r.o < 0.60 THEN 'police' WHEN r.o < 0.85 THEN 'community'
          ELSE 'private' END)::camera_owner,
    ST_SetSRID(ST_MakePoint(
        round(least(greatest(
            CASE WHEN r.pick >= :clustered THEN :xmin + r.u1 * (:xmax - :xmin)
                 ELSE c.cx + c.sigma * sqrt(-2 * ln(1 - r.u1)) * cos(2 * pi() * r.u2) END,
            :xmin), :xmax)::numeric, 2)::float8,
        round(least(greatest(
            CASE WHEN r.pick >= :clustered THEN :ymin + r.u2 * (:ymax - :ymin)
                 ELSE c.cy + c.sigma * sqrt(-2 * ln(1 - r.u1)) * sin(2 * pi() * r.u2) END,
            :ymin), :ymax)::numeric, 2)::float8),
        3826),
    floor(r.b * 3600) / 10,
    CASE WHEN r.f < 0.30 THEN 60 WHEN r.f < 0.70 THEN 90 WHEN r.f < 0.97 THEN 120 ELSE 360 END,
    20 + floor(r.rg * 61),
    round((3 + r.h * 5)::numeric, 1)::float8,
    format('NTPC-CAM-%s', lpad(r.g::text, 6, '0')),
    date '2012-01-01' + floor(r.d * 5000)::int,
    false,
    timestamptz '2026-06-01 00:00+08' - r.d * interval '1000 days',
    1
FROM (
    SELECT g, random() AS pick, random() AS u1, random() AS u2, random() AS s, random() AS o,
           random() AS b, random() AS f, random() AS rg, random() AS h, random() AS d
    FROM generate_series(1, :n) AS g
) r
LEFT JOIN LATERAL (
    SELECT cx, cy, sigma FROM bench_centres WHERE r.pick < cum ORDER BY cum LIMIT 1
) c ON true
ORDER BY r.g
"""


# --------------------------------------------------------------------------- helpers
def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def libpq_url(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kb = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --------------------------------------------------------------------------- data
def database_url() -> URL:
    """URL of a fresh ``safemap_bench_ogc`` (the private cluster unless DATABASE_URL is set)."""
    from geo.settings import DatabaseSettings

    url = make_url(DatabaseSettings().resolved_url(DB_NAME))  # creates it on the cluster
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    return url


def build_data(engine: Engine, n: int, seed: float) -> dict:
    from sqlalchemy.orm import Session

    from geo import migrate
    from geo.enums import Role
    from geo.models import Precinct, User
    from workflow.auth import hash_password

    log("migrating")
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        precinct = Precinct(name="效能測試分局")
        session.add(precinct)
        session.flush()
        session.add(
            User(
                username=USERNAME,
                display_name="效能測試員警",
                password_hash=hash_password(PASSWORD),
                role=Role.precinct,
                precinct_id=precinct.id,
            )
        )
        precinct_id = precinct.id

    log(f"inserting {n:,} cameras (setseed {seed})")
    t0 = time.perf_counter()
    total_w = sum(c[4] for c in CENTRES)
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))  # one random() stream
        conn.execute(
            text(
                "CREATE TEMP TABLE bench_centres (cx float8, cy float8, sigma float8, cum float8)"
                " ON COMMIT DROP"
            )
        )
        cum = 0.0
        for _, cx, cy, sigma, w in CENTRES:
            cum += w / total_w * (1 - BACKGROUND)
            conn.execute(
                text("INSERT INTO bench_centres VALUES (:cx, :cy, :s, :cum)"),
                {"cx": cx, "cy": cy, "s": sigma, "cum": cum},
            )
        conn.execute(text("ALTER TABLE cameras DISABLE TRIGGER cameras_history"))
        conn.execute(text("SELECT setseed(:seed)"), {"seed": seed})
        xmin, ymin, xmax, ymax = EXTENT
        conn.execute(
            text(CAMERAS_SQL),
            {
                "precinct_id": precinct_id,
                "n": n,
                "clustered": 1 - BACKGROUND,
                "xmin": xmin,
                "ymin": ymin,
                "xmax": xmax,
                "ymax": ymax,
            },
        )
        conn.execute(text("ALTER TABLE cameras ENABLE TRIGGER cameras_history"))
    log(f"inserted in {time.perf_counter() - t0:.1f} s; safemap db optimise; VACUUM ANALYZE")
    # What a DBA runs after a bulk import (`safemap db optimise`): the table in the order of
    # its GiST index. Both servers then read the same, spatially ordered table.
    from geo.maintenance import cluster_layers

    with engine.begin() as conn:
        cluster_layers(conn, ("cameras",))
    # VACUUM ANALYZE rather than ANALYZE alone, so autovacuum does not start mid-benchmark.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) cameras"))
        conn.execute(text("ANALYZE"))
    return {"precinct_id": precinct_id}


def pick_bbox(engine: Engine, target: int) -> tuple[tuple[float, float, float, float], int]:
    """A lon/lat box around central Banqiao holding at least ``target`` cameras."""
    count_sql = text(
        "SELECT count(*) FROM cameras WHERE geom && ST_Transform("
        "ST_MakeEnvelope(:a, :b, :c, :d, 4326), 3826) AND ST_Intersects(geom, "
        "ST_Transform(ST_MakeEnvelope(:a, :b, :c, :d, 4326), 3826))"
    )
    with engine.connect() as conn:
        lon, lat = conn.execute(
            text(
                "SELECT ST_X(p), ST_Y(p) FROM ST_Transform("
                "ST_SetSRID(ST_MakePoint(:x, :y), 3826), 4326) p"
            ),
            {"x": CENTRES[0][1], "y": CENTRES[0][2]},
        ).one()
        half = 0.002
        while True:
            box = tuple(round(v, 4) for v in (lon - half, lat - half, lon + half, lat + half))
            n = conn.execute(count_sql, dict(zip("abcd", box, strict=True))).scalar_one()
            if n >= target:
                return box, n  # type: ignore[return-value]
            half *= 1.15


def page_sql(engine: Engine, bbox: tuple[float, float, float, float]) -> list[str]:
    """The SQL safemap runs for this page (after the user lookup), as literal statements.

    The application's own ``workflow.catalogue.items`` is called and every statement it sends
    is captured and rendered by psycopg2 itself, so "PostGIS alone" runs exactly what the
    server runs, whatever the code currently does (a count or not, the sector or not).
    """
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from geo.layers import ListQuery
    from geo.models import User
    from workflow import catalogue
    from workflow.access import Actor

    captured: list[str] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:
        captured.append(cursor.mogrify(statement, parameters).decode())

    with Session(engine) as session, session.begin():
        user = session.query(User).filter_by(username=USERNAME).one()
        actor = Actor.from_user(user)
        event.listen(engine, "before_cursor_execute", grab)
        try:
            catalogue.items(session, actor, "cameras", ListQuery(bbox=bbox, limit=LIMIT))
        finally:
            event.remove(engine, "before_cursor_execute", grab)
    return captured


# --------------------------------------------------------------------------- servers
@dataclass
class Server:
    name: str
    proc: subprocess.Popen
    port: int
    logfile: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start(name: str, cmd: list[str], env: dict, port: int, probe: str, workdir: Path) -> Server:
    logfile = workdir / f"{name}.log"
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **env},
        cwd=workdir,
        stdout=open(logfile, "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Server(name, proc, port, logfile)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{logfile.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=5) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{name} did not answer on {probe}:\n{logfile.read_text()[-3000:]}")


def ensure_tipg_venv() -> tuple[Path, str]:
    """tipg in a virtualenv of its own, with the same uvicorn extras as the project
    (``uvicorn[standard]``: uvloop and httptools), so both servers run on the same stack."""
    python = TIPG_VENV / "bin" / "python"
    probe = [str(python), "-c", "import tipg, uvloop, httptools"]
    if (
        not (TIPG_VENV / "bin" / "uvicorn").exists()
        or subprocess.run(probe, capture_output=True).returncode
    ):
        log(f"installing tipg and uvicorn into {TIPG_VENV}")
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn[standard]"], check=True
        )
    version = subprocess.run(
        [str(python), "-c", "import importlib.metadata as m; print(m.version('tipg'))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return TIPG_VENV / "bin" / "uvicorn", version


def start_tipg(url: URL, workdir: Path, uvicorn: Path) -> Server:
    port = free_port()
    env = {
        "DATABASE_URL": libpq_url(url),
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": '["public.cameras"]',
        "TIPG_TABLE_CONFIG__public_cameras__geomcol": "geom",
        "TIPG_TABLE_CONFIG__public_cameras__datetimecol": "updated_at",
        "TIPG_TABLE_CONFIG__public_cameras__pk": "id",
        "TIPG_TABLE_CONFIG__public_cameras__properties": json.dumps(CAMERA_PROPERTIES),
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        # No catalogue refresh in the middle of a run (it would only slow tipg down).
        "TIPG_CATALOG_TTL": "0",
    }
    cmd = [str(uvicorn), "tipg.main:app", "--host", "127.0.0.1", "--port", str(port)]
    return start("tipg", cmd, env, port, "/healthz", workdir)


def start_safemap(url: URL, workdir: Path, secret: str) -> Server:
    port = free_port()
    env = {"DATABASE_URL": libpq_url(url), "SAFEMAP_SECRET_KEY": secret}
    cmd = [str(SAFEMAP_BIN), "serve", "--port", str(port)]
    return start("safemap", cmd, env, port, "/health", workdir)


def token(port: int) -> str:
    body = urllib.parse.urlencode({"username": USERNAME, "password": PASSWORD}).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/auth/token", data=body)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)["access_token"]


def get(url: str, headers: dict[str, str]) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
        assert r.status == 200, r.status
        return r.read()


# --------------------------------------------------------------------------- answers
def compare(safemap_body: bytes, tipg_body: bytes, bbox: tuple[float, float, float, float]) -> dict:
    """Check that both pages answer the same question.

    Both must hold exactly ``LIMIT`` features in id order. safemap filters on the lon/lat box
    itself (its four corners transformed to EPSG:3826); tipg filters on the *bounding box* of
    those corners in EPSG:3826 (``transform_bounds``), a slightly larger box, so its page may
    hold a few cameras lying just outside the requested lon/lat box (centimetres to metres,
    near its edges) and, in exchange, stops at a smaller last id. So:

    - every camera only tipg returned must lie outside the lon/lat box (by its coordinates);
    - every camera only safemap returned must come after tipg's last id (pushed off tipg's
      page by those extras), and there must be as many of them;
    - every camera in both must have the same point within 1e-6 degrees (safemap rounds to 6
      decimals, tipg to 9) and the same attributes.
    """
    ours, theirs = json.loads(safemap_body), json.loads(tipg_body)
    a, b = ours["features"], theirs["features"]
    if len(a) != LIMIT or len(b) != LIMIT:
        raise AssertionError(f"feature counts: safemap {len(a)}, tipg {len(b)}")
    west, south, east, north = bbox

    def strictly_inside(f: dict) -> bool:
        x, y = f["geometry"]["coordinates"]
        return west < x < east and south < y < north

    ia, ib = {f["id"]: f for f in a}, {f["id"]: f for f in b}
    only_tipg = [i for i in ib if i not in ia]
    only_safemap = [i for i in ia if i not in ib]
    if any(strictly_inside(ib[i]) for i in only_tipg):
        raise AssertionError("tipg returned cameras inside the bbox that safemap did not")
    if len(only_safemap) != len(only_tipg) or any(i < max(ib) for i in only_safemap):
        raise AssertionError(f"safemap returned cameras tipg skipped: {only_safemap}")
    worst = 0.0
    attrs = ("status", "owner", "bearing_deg", "fov_deg", "range_m", "name", "version")
    common = [i for i in ia if i in ib]
    for i in common:
        fa, fb = ia[i], ib[i]
        (xa, ya), (xb, yb) = fa["geometry"]["coordinates"], fb["geometry"]["coordinates"]
        worst = max(worst, abs(xa - xb), abs(ya - yb))
        for k in attrs:
            if fa["properties"][k] != fb["properties"][k]:
                raise AssertionError(f"camera {i}: {k} differs")
    if worst > 1e-6:
        raise AssertionError(f"coordinates differ by up to {worst} degrees")
    return {
        "features": (len(a), len(b)),
        "same_camera_same_place": len(common),
        "tipg_only_outside_bbox": len(only_tipg),
        "max_coord_diff_deg": worst,
        "matched": (ours.get("numberMatched"), theirs.get("numberMatched")),
    }


# --------------------------------------------------------------------------- CPU accounting
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 when it is gone)."""
    f = _stat(pid)
    return (int(f[11]) + int(f[12])) / TICK if f else 0.0


def _reaped(pid: int) -> float:
    """CPU seconds of the children ``pid`` has reaped (cutime + cstime)."""
    f = _stat(pid)
    return (int(f[13]) + int(f[14])) / TICK if f else 0.0


def postmaster_of(backend_pid: int) -> int | None:
    """The postmaster, parent of a backend (None when the server is not on this machine)."""
    try:
        title = Path(f"/proc/{backend_pid}/cmdline").read_bytes()
    except OSError:
        return None
    f = _stat(backend_pid)
    return int(f[1]) if f and title.startswith(b"postgres: ") else None


def backends(database: str) -> list[int]:
    """PostgreSQL backends connected to ``database`` (their process title names it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                pids.append(int(entry.name))
    return pids


def other_backends(database: str) -> set[int]:
    """Client backends of the same server connected to other databases (other people's work
    on a shared cluster; when one ends during a run, its CPU lands in the postmaster's
    reaped-children time and cannot be told apart from ours)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            parts = title.split()
            if (
                title.startswith("postgres: ")
                and len(parts) >= 4
                and "(" in parts[3]
                and parts[2] != database
            ):
                pids.add(int(entry.name))
    return pids


def machine_busy() -> float:
    """CPU seconds the whole machine has spent busy (all CPUs, from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICK


class CpuMeter:
    """CPU seconds between ``start()`` and ``stop()`` of: the server process; PostgreSQL (the
    database's backends, read in /proc, plus every PostgreSQL process that ended meanwhile,
    read from the postmaster's reaped-children time: parallel query workers, which tipg's
    plans use, and pgbench's backends); our children (the load generator); and the rest of the
    machine (other work, not ours)."""

    def __init__(self, server_pid: int | None, database: str, postmaster: int | None):
        self.server_pid, self.database, self.postmaster = server_pid, database, postmaster

    def _children(self) -> float:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ru.ru_utime + ru.ru_stime

    def start(self) -> None:
        self.pids = set(backends(self.database))
        self.pg0 = {p: _cpu(p) for p in self.pids}
        self.pm0 = _reaped(self.postmaster) if self.postmaster else 0.0
        self.others0 = other_backends(self.database)
        self.srv0 = _cpu(self.server_pid) if self.server_pid else 0.0
        self.kids0 = self._children()
        self.busy0, self.t0 = machine_busy(), time.monotonic()

    def stop(self, requests: int) -> dict:
        busy, wall = machine_busy() - self.busy0, time.monotonic() - self.t0
        kids = self._children() - self.kids0
        srv = (_cpu(self.server_pid) - self.srv0) if self.server_pid else 0.0
        alive = self.pids | set(backends(self.database))
        pg = sum(_cpu(p) - self.pg0.get(p, 0.0) for p in alive)
        pg += (_reaped(self.postmaster) - self.pm0) if self.postmaster else 0.0
        others_ended = bool(self.others0 - other_backends(self.database))
        n = max(requests, 1)
        return {
            "cpu_server_ms": 1000 * srv / n,
            "cpu_postgres_ms": 1000 * pg / n if self.postmaster else float("nan"),
            "cpu_loadgen_ms": 1000 * kids / n,
            # CPUs' worth of other work on the machine meanwhile (not ours): a shared machine
            # makes every figure lower, so it is reported with them.
            "other_cpus": max(0.0, (busy - srv - pg - kids) / wall),
            # Other clients of the cluster disconnected during the run: the PostgreSQL figure
            # may include their CPU (and "other" then leaves it out).
            "pg_shared": others_ended,
        }


# --------------------------------------------------------------------------- load
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("installing wrk (apt-get install -y wrk)")
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def wrk(
    exe: str,
    url: str,
    headers: dict[str, str],
    threads: int,
    conns: int,
    seconds: int,
    meter: CpuMeter | None = None,
) -> dict:
    if meter:
        meter.start()
    cmd = [exe, f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s", "--latency"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p50 = float(m.group(1)) * UNITS[m.group(2)]
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    p99 = float(m.group(1)) * UNITS[m.group(2)]
    total = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    if bad or errors:
        raise RuntimeError(f"wrk saw failures:\n{out}")
    cpu = meter.stop(total) if meter else {}
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "requests": total, "load": loadavg(), **cpu}


def pgbench(
    url: URL,
    sqls: list[str],
    clients: int,
    threads: int,
    seconds: int,
    postmaster: int | None = None,
) -> dict:
    """The page's SQL in a loop: ``pgbench`` with a custom script, per-transaction log."""
    database = url.database or DB_NAME
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "page.sql"
        script.write_text("".join(" ".join(s.split()) + ";\n" for s in sqls))
        env = {**os.environ, "PGPASSWORD": url.password or ""}
        cmd = [
            "pgbench", "-n", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres", "-c", str(clients), "-j", str(threads),
            "-T", str(seconds), "-r", "-l", "--log-prefix", f"{tmp}/tx", "-f", str(script),
            url.database or DB_NAME,
        ]  # fmt: skip
        # Its backends end with it: their CPU is the postmaster's reaped-children time.
        meter = CpuMeter(None, database, postmaster)
        meter.start()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        time.sleep(1)  # let the postmaster reap the backends
        out = proc.stdout
        if proc.returncode:
            raise RuntimeError(f"pgbench failed:\n{out}{proc.stderr}")
        tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
        lat = []
        for f in Path(tmp).glob("tx*"):
            for line in f.read_text().splitlines():
                lat.append(int(line.split()[2]) / 1000)  # µs → ms
        stmt_ms = [float(x) for x in re.findall(r"^\s+([\d.]+)\s+\d+\s+", out, re.M)]
    return {
        "rps": tps,
        "p50_ms": statistics.median(lat),
        "requests": len(lat),
        "statement_ms": stmt_ms,
        "load": loadavg(),
        **meter.stop(len(lat)),
    }


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cameras", type=int, default=200_000)
    ap.add_argument("--seed", type=float, default=0.42)
    ap.add_argument("--bbox-target", type=int, default=5_000, help="cameras in the bbox (≥)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads / pgbench jobs")
    ap.add_argument("--connections", type=int, default=8, help="wrk connections / pgbench clients")
    ap.add_argument("--duration", type=int, default=20, help="seconds per measurement")
    ap.add_argument("--warmup", type=int, default=5, help="seconds of warm-up per server")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds; median reported")
    ap.add_argument("--reuse-data", action="store_true", help="keep an existing bench database")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()

    info = machine()
    log(f"machine: {info}")
    wrk_exe = ensure_wrk()
    tipg_uvicorn, tipg_version = ensure_tipg_venv()

    from geo.settings import DatabaseSettings

    # One run at a time: a second run would drop the database under the first one, and two
    # runs measure each other. The lock lives on the maintenance database until we exit.
    admin = create_engine(
        make_url(DatabaseSettings().resolved_url(DB_NAME)).set(database="postgres"),
        poolclass=NullPool,
    )
    lock_conn = admin.connect()
    if not lock_conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY}).scalar():
        log("another run of this benchmark is going on; waiting for it to finish")
        lock_conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})

    url = make_url(DatabaseSettings().resolved_url(DB_NAME)) if args.reuse_data else database_url()
    engine = create_engine(url)
    with engine.connect() as conn:
        exists = conn.execute(text("SELECT to_regclass('cameras') IS NOT NULL")).scalar()
        have = conn.execute(text("SELECT count(*) FROM cameras")).scalar() if exists else 0
    if have != args.cameras:
        if args.reuse_data:
            log(f"{have} cameras in {DB_NAME}, rebuilding")
            url = database_url()
            engine = create_engine(url)
        build_data(engine, args.cameras, args.seed)
    with engine.connect() as conn:
        pg, postgis = conn.execute(
            text("SELECT current_setting('server_version'), postgis_lib_version()")
        ).one()
        n_cams = conn.execute(text("SELECT count(*) FROM cameras")).scalar_one()
        postmaster = postmaster_of(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
    info.update(postgresql=pg, postgis=postgis, tipg=tipg_version, cameras=n_cams)

    bbox, in_bbox = pick_bbox(engine, args.bbox_target)
    bbox_s = ",".join(f"{v:.4f}" for v in bbox)
    log(f"bbox {bbox_s}: {in_bbox:,} cameras")
    sqls = page_sql(engine, bbox)
    log(f"the page's SQL: {len(sqls)} statement(s)")
    engine.dispose()

    secret = os.environ.get("SAFEMAP_SECRET_KEY") or os.urandom(24).hex()
    query = f"bbox={bbox_s}&limit={LIMIT}"
    results: dict[str, list[dict]] = {"tipg": [], "safemap": [], "postgis": []}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bench-ogc-") as tmp:
        workdir = Path(tmp)
        for rnd in range(1, args.rounds + 1):
            # tipg
            srv = start_tipg(url, workdir, tipg_uvicorn)
            try:
                t_url = f"http://127.0.0.1:{srv.port}/collections/public.cameras/items?{query}"
                tipg_body = get(t_url, {})
                sizes["tipg"] = len(tipg_body)
                wrk(wrk_exe, t_url, {}, args.threads, args.connections, args.warmup)
                meter = CpuMeter(srv.proc.pid, DB_NAME, postmaster)
                r = wrk(wrk_exe, t_url, {}, args.threads, args.connections, args.duration, meter)
                results["tipg"].append(r)
                log(f"round {rnd} tipg: {r}")
            finally:
                srv.stop()
            # safemap
            srv = start_safemap(url, workdir, secret)
            try:
                auth = {"Authorization": f"Bearer {token(srv.port)}"}
                s_url = f"http://127.0.0.1:{srv.port}/ogc/collections/cameras/items?{query}"
                safemap_body = get(s_url, auth)
                sizes["safemap"] = len(safemap_body)
                if rnd == 1:
                    same = compare(safemap_body, tipg_body, bbox)
                    log(f"answers agree: {same}")
                wrk(wrk_exe, s_url, auth, args.threads, args.connections, args.warmup)
                meter = CpuMeter(srv.proc.pid, DB_NAME, postmaster)
                r = wrk(wrk_exe, s_url, auth, args.threads, args.connections, args.duration, meter)
                results["safemap"].append(r)
                log(f"round {rnd} safemap: {r}")
            finally:
                srv.stop()
            # PostGIS alone: the page's statements, no HTTP, no Python.
            pgbench(url, sqls, args.connections, args.threads, args.warmup)
            r = pgbench(url, sqls, args.connections, args.threads, args.duration, postmaster)
            results["postgis"].append(r)
            log(f"round {rnd} PostGIS alone: {r}")

    def median_round(rows: list[dict]) -> dict:
        return sorted(rows, key=lambda r: r["rps"])[len(rows) // 2]

    best = {k: median_round(v) for k, v in results.items()}
    ratio = best["safemap"]["rps"] / best["tipg"]["rps"]
    ceiling = best["postgis"]["rps"] / best["tipg"]["rps"]
    round_ratios = [
        s["rps"] / t["rps"] for s, t in zip(results["safemap"], results["tipg"], strict=True)
    ]

    print()
    print(
        f"OGC API Features, {LIMIT:,}-feature bbox page of {n_cams:,} cameras "
        f"(bbox {bbox_s}, {in_bbox:,} cameras in it)"
    )
    print(
        f"machine: {info['nproc']} CPUs ({info['cpu']}), {info['ram_gib']} GiB RAM; "
        f"PostgreSQL {pg}, PostGIS {postgis}; tipg {tipg_version}"
    )
    print(
        f"load: wrk -t{args.threads} -c{args.connections} -d{args.duration}s after "
        f"{args.warmup}s warm-up; pgbench -c{args.connections} -j{args.threads} "
        f"-T{args.duration}; {args.rounds} alternating round(s), median round shown"
    )
    print()
    print(
        "| server        | requests/s | median ms | p99 ms | response bytes "
        "| CPU ms/req: server | PostgreSQL | load generator | other work (CPUs) |"
    )
    print(
        "| ------------- | ---------: | --------: | -----: | -------------: "
        "| ---: | ---: | ---: | ---: |"
    )
    labels = {"tipg": "tipg", "safemap": "safemap", "postgis": "PostGIS alone"}
    for key in ("tipg", "safemap", "postgis"):
        r = best[key]
        size = f"{sizes[key]:,}" if key in sizes else "(same SQL)"
        p99 = f"{r['p99_ms']:.0f}" if "p99_ms" in r else "-"
        srv = f"{r['cpu_server_ms']:.1f}" if key != "postgis" else "-"
        print(
            f"| {labels[key]:<13} | {r['rps']:>10.1f} | {r['p50_ms']:>9.1f} | {p99:>6} "
            f"| {size:>14} | {srv:>4} | {r['cpu_postgres_ms']:.1f}{'*' if r.get('pg_shared') else ''} "
            f"| {r['cpu_loadgen_ms']:.2f} "
            f"| {r['other_cpus']:.2f} |"
        )
    print()
    print(
        f"safemap / tipg = {ratio:.1f}× (median rps); per round: "
        f"{', '.join(f'{x:.1f}' for x in round_ratios)} "
        f"(median {statistics.median(round_ratios):.1f}×)"
    )
    print(f"PostGIS alone / tipg = {ceiling:.1f}×   (target: safemap ≥ 10× tipg)")
    print(
        "other work on the machine during the runs (CPUs busy, not ours): "
        + "; ".join(
            f"{k} " + ", ".join(f"{r['other_cpus']:.2f}" for r in v) for k, v in results.items()
        )
    )
    print(
        "all rounds (rps): "
        + "; ".join(f"{k} " + ", ".join(f"{r['rps']:.1f}" for r in v) for k, v in results.items())
    )
    if any(r.get("pg_shared") for v in results.values() for r in v):
        print(
            "* other clients of the PostgreSQL cluster disconnected during a run: its PostgreSQL "
            "CPU may include theirs. Rounds: "
            + "; ".join(
                f"{k} " + ", ".join("shared" if r.get("pg_shared") else "clean" for r in v)
                for k, v in results.items()
            )
        )
    if best["postgis"].get("statement_ms"):
        print(
            "PostGIS per statement (pgbench -r, under load): "
            + ", ".join(f"{ms:.2f} ms" for ms in best["postgis"]["statement_ms"])
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "bbox": bbox,
                    "in_bbox": in_bbox,
                    "sizes": sizes,
                    "results": results,
                    "ratio": ratio,
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    lock_conn.close()
    admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
