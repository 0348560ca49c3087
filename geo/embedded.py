"""The private PostGIS cluster that `make run`, `make test` and every `safemap` command use
when ``DATABASE_URL`` is unset.

The cluster lives in a git-ignored folder of the checkout (``.safemap/`` by default,
``SAFEMAP_HOME`` overrides), listens on 127.0.0.1 only, on a free port chosen when it is
created, and is protected by a random password kept beside it. PostgreSQL refuses to run as
root, so when the caller is root the server runs as the ``postgres`` system user.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import DatabaseUnavailable

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DB_USER = "safemap"
DEFAULT_DB = "safemap"


def home() -> Path:
    """Folder holding the private cluster and its connection details."""
    return Path(os.environ.get("SAFEMAP_HOME") or REPO_ROOT / ".safemap").resolve()


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.name)) or (0,)


def find_bindir() -> Path:
    """Directory with initdb/pg_ctl of a PostgreSQL that has PostGIS installed.

    Debian and Ubuntu keep each major version under /usr/lib/postgresql/N/bin; the
    newest one with a PostGIS extension wins. ``PG_BINDIR`` overrides the search.
    """
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version_key(p.parent)
    )
    for bindir in reversed(candidates):
        version = bindir.parent.name
        if (bindir / "initdb").exists() and Path(
            f"/usr/share/postgresql/{version}/extension/postgis.control"
        ).exists():
            return bindir
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise DatabaseUnavailable(
        "找不到已安裝 PostGIS 的 PostgreSQL；請執行 `make run` 或 `make test` 自動安裝，"
        "或設定 DATABASE_URL 指向既有的 PostGIS 資料庫。",
        detail="no PostgreSQL with PostGIS found under /usr/lib/postgresql; set DATABASE_URL",
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@dataclass
class ClusterInfo:
    port: int
    password: str

    def url(self, database: str = DEFAULT_DB) -> str:
        return f"postgresql+psycopg2://{DB_USER}:{self.password}@127.0.0.1:{self.port}/{database}"


class EmbeddedCluster:
    """A PostgreSQL cluster owned by this checkout.

    Parameters
    ----------
    root : Path
        Folder for the data directory (``pg/``), the socket, the log and ``cluster.json``.
    """

    def __init__(self, root: Path | None = None):
        self.root = (root or home()).resolve()
        self.infofile = self.root / "cluster.json"
        self._as_postgres = os.geteuid() == 0
        pgroot = self.root
        if self.infofile.exists():
            pgroot = Path(json.loads(self.infofile.read_text()).get("pgroot") or self.root)
        self._set_pgroot(pgroot)

    def _set_pgroot(self, pgroot: Path) -> None:
        self.pgroot = pgroot
        self.datadir = pgroot / "pg"
        self.sockdir = pgroot / "run"
        self.logfile = pgroot / "postgres.log"

    def _postgres_can_write(self, path: Path) -> bool:
        if not self._as_postgres:
            return True
        probe = subprocess.run(
            ["runuser", "-u", "postgres", "--", "test", "-w", str(path)], check=False
        )
        return probe.returncode == 0

    # -- helpers ---------------------------------------------------------------
    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self._as_postgres:
            # PostgreSQL refuses to run as root; run it as the postgres system user.
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def _chown(self, *paths: Path) -> None:
        if not self._as_postgres:
            return
        pg = pwd.getpwnam("postgres")
        for path in paths:
            os.chown(path, pg.pw_uid, pg.pw_gid)

    @contextlib.contextmanager
    def _lock(self):
        # `make run` and `make test` may start at the same moment; one of them initialises.
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def info(self) -> ClusterInfo | None:
        if not self.infofile.exists():
            return None
        raw = json.loads(self.infofile.read_text())
        return ClusterInfo(port=int(raw["port"]), password=raw["password"])

    def _save(self, info: ClusterInfo) -> None:
        self.infofile.write_text(
            json.dumps({"port": info.port, "password": info.password, "pgroot": str(self.pgroot)})
        )
        self.infofile.chmod(0o600)

    # -- lifecycle -------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists() and self.infofile.exists()

    def init(self) -> ClusterInfo:
        bindir = find_bindir()
        self.root.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            self.root.chmod(0o755)
            self.datadir.mkdir(exist_ok=True)
            self._chown(self.datadir)
            if not self._postgres_can_write(self.datadir):
                # A checkout under a private home (e.g. /root) is out of the postgres user's
                # reach; the server's files then live in a folder of its own under /var/tmp,
                # recorded in cluster.json, while the checkout keeps the connection details.
                digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
                fallback = Path("/var/tmp") / f"safemap-{digest}"
                fallback.mkdir(mode=0o755, exist_ok=True)
                self.datadir.rmdir()
                self._set_pgroot(fallback)
        self.datadir.mkdir(exist_ok=True)
        self.sockdir.mkdir(exist_ok=True)
        self.logfile.touch()
        self._chown(self.datadir, self.sockdir, self.logfile)
        info = ClusterInfo(port=_free_port(), password=secrets.token_urlsafe(18))
        pwfile = self.pgroot / ".pw"
        pwfile.write_text(info.password + "\n")
        self._chown(pwfile)
        try:
            self._run(
                str(bindir / "initdb"),
                "-D", str(self.datadir),
                "-U", DB_USER,
                "--pwfile", str(pwfile),
                "-E", "UTF8",
                "--no-locale",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            raise DatabaseUnavailable(
                "無法建立內建資料庫叢集。", detail=f"initdb failed: {exc.stderr}"
            ) from exc
        finally:
            pwfile.unlink(missing_ok=True)
        with open(self.datadir / "postgresql.conf", "a") as conf:
            # A development cluster: losing the last few commits on a crash is acceptable,
            # waiting on every commit's fsync is not.
            conf.write("\nsynchronous_commit = off\nmax_connections = 200\n")
        self._save(info)
        return info

    def running(self) -> bool:
        if not self.initialised():
            return False
        res = self._run(
            str(find_bindir() / "pg_ctl"), "status", "-D", str(self.datadir), check=False
        )
        return res.returncode == 0

    def start(self) -> ClusterInfo:
        info = self.info()
        assert info is not None
        if not _port_free(info.port):
            info = ClusterInfo(port=_free_port(), password=info.password)
            self._save(info)
        opts = f"-p {info.port} -k {self.sockdir} -c listen_addresses=127.0.0.1"
        res = self._run(
            str(find_bindir() / "pg_ctl"),
            "start", "-w", "-t", "60",
            "-D", str(self.datadir),
            "-l", str(self.logfile),
            "-o", opts,
            check=False,
        )  # fmt: skip
        if res.returncode != 0:
            tail = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise DatabaseUnavailable(
                "內建資料庫無法啟動，請查看 .safemap/postgres.log。",
                detail=f"pg_ctl start failed: {res.stderr}\n{tail}",
            )
        return info

    def stop(self) -> None:
        if self.running():
            self._run(str(find_bindir() / "pg_ctl"), "stop", "-m", "fast", "-D", str(self.datadir))

    def ensure(self, database: str = DEFAULT_DB) -> str:
        """Initialise and start the cluster as needed; make sure ``database`` exists.

        Returns the SQLAlchemy URL of ``database``.
        """
        with self._lock():
            info = self.info() if self.initialised() else None
            if info is None:
                if (self.datadir / "PG_VERSION").exists():
                    raise DatabaseUnavailable(
                        f"內建資料庫的連線資料（{self.infofile}）遺失；請刪除 {self.root} 後重試。",
                        detail=f"{self.datadir} exists but {self.infofile} is missing",
                    )
                if self.datadir.exists() and any(self.datadir.iterdir()):
                    shutil.rmtree(self.datadir)  # a previous initdb died half-way
                info = self.init()
            if not self.running():
                info = self.start()
            ensure_database(info.url("postgres"), database)
            return info.url(database)


def ensure_database(admin_url: str, database: str) -> None:
    """Create ``database`` through ``admin_url`` when it does not exist yet."""
    import psycopg2
    from sqlalchemy.engine import make_url

    u = make_url(admin_url)
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = psycopg2.connect(
                host=u.host, port=u.port, user=u.username, password=u.password, dbname=u.database
            )
            break
        except psycopg2.OperationalError as exc:
            if time.monotonic() > deadline:
                raise DatabaseUnavailable("無法連線到資料庫。", detail=str(exc)) from exc
            time.sleep(0.3)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{database}"')
    finally:
        conn.close()
