"""The `safemap` command as a user runs it: --help everywhere, imports, demo data, errors."""

from __future__ import annotations

import geopandas as gpd
import pytest
import typer
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cli.main import app
from geo.models import District, Village
from tests.conftest import fresh_database
from tests.factories import square

runner = CliRunner()


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        yield path
        # Typer may bring its own copy of click: a group is what has sub-commands.
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, path)


ALL_COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path", [(), *ALL_COMMANDS], ids=lambda p: " ".join(p) or "safemap")
def test_every_command_has_help(path):
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    # `plan cameras` is an argparse parser (cli/plan.py), with its usage line in zh-TW
    assert "Usage" in result.output or "用法" in result.output


@pytest.fixture
def cli_db(db_settings, monkeypatch):
    url = fresh_database(db_settings, "cli")
    monkeypatch.setenv("DATABASE_URL", url)
    engine = create_engine(url)
    yield engine
    engine.dispose()


def _villages_file(tmp_path, county="新北市"):
    rows = []
    for i in range(6):
        town = i // 3
        rows.append(
            {
                "VILLCODE": f"6500{town}0100{i:02d}",
                "VILLNAME": f"第{i}里",
                "TOWNCODE": f"6500{town}010",
                "TOWNNAME": ["甲區", "乙區"][town],
                "COUNTYNAME": county,
                "COUNTYCODE": "65000",
                "geometry": square(i, 400),
            }
        )
    path = tmp_path / "villages.geojson"
    gpd.GeoDataFrame(rows, crs=3826).to_crs(4326).to_file(path, driver="GeoJSON")
    return path


def _snapshot(engine):
    with engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT (SELECT count(*) FROM villages), (SELECT count(*) FROM districts), "
                "(SELECT md5(string_agg(code || name || ST_AsEWKB(geom)::text, ',' ORDER BY code)) FROM villages), "
                "(SELECT count(*) FROM audit_log)"
            )
        ).one()


def test_import_boundaries_then_again_changes_nothing(cli_db, tmp_path):
    path = _villages_file(tmp_path)
    first = runner.invoke(app, ["import", "boundaries", str(path)])
    assert first.exit_code == 0, first.output
    assert "村里" in first.output
    with Session(cli_db) as s:
        assert s.scalar(select(func.count()).select_from(District)) == 2
        assert s.scalar(select(func.count()).select_from(Village)) == 6
    before = _snapshot(cli_db)
    second = runner.invoke(app, ["import", "boundaries", str(path)])
    assert second.exit_code == 0, second.output
    assert "未做任何變更" in second.output
    assert _snapshot(cli_db) == before


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"", "空"),
        (b'{"type": "FeatureCollection", "features": [{"type": "Feat', "無法讀取"),
        (b"hello, this is not geodata\n", "無法讀取"),
        (b'{"type": "FeatureCollection", "features": []}', "沒有"),
    ],
    ids=["empty", "truncated", "not-geodata", "no-features"],
)
def test_bad_files_exit_non_zero_and_change_nothing(cli_db, tmp_path, content, needle):
    runner.invoke(app, ["import", "boundaries", str(_villages_file(tmp_path))])
    before = _snapshot(cli_db)
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(content)
    result = runner.invoke(app, ["import", "boundaries", str(bad)])
    assert result.exit_code != 0
    assert "錯誤" in result.output and needle in result.output, result.output
    assert "Traceback" not in result.output
    assert _snapshot(cli_db) == before


def test_wrong_county_exits_non_zero(cli_db, tmp_path):
    result = runner.invoke(
        app, ["import", "boundaries", str(_villages_file(tmp_path)), "--county", "高雄市"]
    )
    assert result.exit_code != 0
    assert "高雄市" in result.output


def test_missing_file_exits_non_zero(cli_db, tmp_path):
    result = runner.invoke(app, ["import", "boundaries", str(tmp_path / "nope.shp")])
    assert result.exit_code != 0 and "找不到檔案" in result.output


def test_db_migrate_and_status(cli_db):
    assert runner.invoke(app, ["db", "migrate"]).exit_code == 0
    status = runner.invoke(app, ["db", "status"])
    assert status.exit_code == 0 and "PostGIS" in status.output


def test_users_create_validates(cli_db):
    bad_role = runner.invoke(
        app, ["users", "create", "x", "--role", "wizard", "--password", "long-enough"]
    )
    assert bad_role.exit_code != 0 and "未知的角色" in bad_role.output
    ok = runner.invoke(
        app, ["users", "create", "boss", "--role", "leader", "--password", "long-enough"]
    )
    assert ok.exit_code == 0, ok.output
    again = runner.invoke(
        app, ["users", "create", "boss", "--role", "leader", "--password", "long-enough"]
    )
    assert again.exit_code != 0 and "已存在" in again.output
    with Session(cli_db) as s:
        boss = s.scalar(text("SELECT role::text FROM users WHERE username = 'boss'"))
    assert boss == "leader"


def test_import_precincts_csv(cli_db, tmp_path):
    runner.invoke(app, ["import", "boundaries", str(_villages_file(tmp_path))])
    csv_path = tmp_path / "precincts.csv"
    csv_path.write_text("precinct,TOWNCODE\n甲分局,65000010\n乙分局,65001010\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "precincts", str(csv_path)])
    assert result.exit_code == 0, result.output
    assert "6 個村里" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("precinct,VILLCODE\n甲分局,99999999999\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "precincts", str(bad)])
    assert result.exit_code != 0 and "99999999999" in result.output


def test_db_status_does_not_print_the_password(cli_db):
    password = cli_db.url.password
    result = runner.invoke(app, ["db", "status"])
    assert result.exit_code == 0
    assert password not in result.output


def test_import_layer_and_export_community(cli_db, tmp_path):
    from geo.enums import Role
    from tests.factories import make_community, make_precinct, make_user
    from tests.geo import layer_inputs as li

    with Session(cli_db) as s, s.begin():
        community = make_community(s, precinct=make_precinct(s))
        make_user(
            s, role=Role.community, username="cli-org", organisation_id=community.organisation_id
        )
        cid = community.id
    kml = tmp_path / "我的地圖.kml"
    kml.write_text(li.my_maps_kml(), encoding="utf-8")
    dry = runner.invoke(
        app,
        [
            "import",
            "layer",
            str(kml),
            "--community",
            str(cid),
            "--default-category",
            "other",
            "--dry-run",
        ],
    )
    assert dry.exit_code == 0, dry.output
    assert "可匯入" in dry.output
    ok = runner.invoke(
        app,
        [
            "import",
            "layer",
            str(kml),
            "--community",
            str(cid),
            "--default-category",
            "other",
            "--user",
            "cli-org",
        ],
    )
    assert ok.exit_code == 0, ok.output
    with Session(cli_db) as s:
        n = s.scalar(text("SELECT count(*) FROM hazards WHERE community_id = :c"), {"c": cid})
    assert n >= 5
    bad = tmp_path / "bad.csv"
    bad.write_bytes(li.swapped_csv())
    rejected = runner.invoke(app, ["import", "layer", str(bad), "--community", str(cid)])
    assert rejected.exit_code == 1
    assert "整批" in rejected.output
    with Session(cli_db) as s:
        assert (
            s.scalar(text("SELECT count(*) FROM hazards WHERE community_id = :c"), {"c": cid}) == n
        )
    out = tmp_path / "map.gpkg"
    exported = runner.invoke(app, ["export", "community", str(cid), "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert gpd.read_file(out, layer="hazards").shape[0] == n
    assert (
        runner.invoke(
            app, ["import", "layer", str(kml), "--community", str(cid), "--map", "broken"]
        ).exit_code
        == 1
    )


def test_streets_and_analysis_commands(cli_db, tmp_path):
    from shapely.geometry import LineString

    lines = gpd.GeoDataFrame(
        {"NAME": ["甲路", "乙路"]},
        geometry=[
            LineString([(295000, 2766200), (296000, 2766200)]),
            LineString([(295500, 2765800), (295500, 2766600)]),
        ],
        crs=3826,
    )
    path = tmp_path / "roads.gpkg"
    lines.to_file(path, driver="GPKG")
    r = runner.invoke(app, ["import", "streets", str(path)])
    assert r.exit_code == 0, r.output
    assert "4 段" in r.output
    hot = runner.invoke(app, ["analysis", "hotspots"])
    assert hot.exit_code == 0, hot.output
    assert "熱點分析" in hot.output
    blind = runner.invoke(app, ["analysis", "blind-spots"])
    assert blind.exit_code == 0, blind.output
    cov = runner.invoke(app, ["analysis", "coverage", "--area", "district"])
    assert cov.exit_code == 0, cov.output
    bad = runner.invoke(app, ["analysis", "hotspots", "--cell", "1"])
    assert bad.exit_code == 1 and "網格" in bad.output
