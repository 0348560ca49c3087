"""`safemap plan cameras` end to end: files in, a plan file out, zh-TW errors for bad input."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString
from typer.testing import CliRunner

from cli.main import app
from geo.analysis.placement import evaluate

runner = CliRunner()
X0, Y0 = 296_000.0, 2_770_000.0
SUMMARY_FIELDS = {
    "covered_weight",
    "total_weight",
    "coverage_ratio",
    "gap",
    "status",
    "k",
    "radius",
    "runtime_s",
    "method",
}


@pytest.fixture
def layers(tmp_path):
    rng = np.random.default_rng(42)
    demand = rng.normal(0, 400, (300, 2)) + np.array([X0, Y0])
    weight = rng.integers(1, 5, 300).astype(float)
    cand = rng.uniform(-800, 800, (40, 2)) + np.array([X0, Y0])
    existing = np.array([[X0 + 10.0, Y0 - 20.0]])
    d = gpd.GeoDataFrame(
        {"weight": weight}, geometry=gpd.points_from_xy(*demand.T), crs=3826
    ).to_crs(4326)
    c = gpd.GeoDataFrame(
        {"id": [f"S{i:03d}" for i in range(40)], "cost": rng.integers(2, 6, 40) * 10_000},
        geometry=gpd.points_from_xy(*cand.T),
        crs=3826,
    )
    e = gpd.GeoDataFrame(geometry=gpd.points_from_xy(*existing.T), crs=3826).to_crs(4326)
    paths = {"demand": tmp_path / "D.geojson", "cand": tmp_path / "C.gpkg"}
    d.to_file(paths["demand"], driver="GeoJSON")
    c.to_file(paths["cand"], driver="GPKG")  # another format and CRS on purpose
    paths["existing"] = tmp_path / "E.geojson"
    e.to_file(paths["existing"], driver="GeoJSON")
    paths["out"] = tmp_path / "plan.geojson"
    return paths, demand, weight, cand, existing, c["cost"].to_numpy()


def _run(*args):
    return runner.invoke(app, ["plan", "cameras", *map(str, args)])


def test_plan_cameras_writes_the_plan_and_summary(layers):
    paths, demand, weight, cand, existing, _ = layers
    result = _run(
        "--demand", paths["demand"], "--candidates", paths["cand"],
        "--existing", paths["existing"], "--k", 5, "--radius", 100,
        "--time-limit", 20, "--out", paths["out"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(paths["out"].read_text(encoding="utf-8"))
    assert plan["type"] == "FeatureCollection"
    summary = plan["summary"]
    assert set(summary) >= SUMMARY_FIELDS
    assert summary["k"] == 5 and summary["radius"] == 100 and summary["method"] == "milp"
    assert summary["status"] == "optimal" and summary["gap"] == pytest.approx(0.0)
    features = plan["features"]
    assert 1 <= len(features) <= 5
    ids = [f["properties"]["id"] for f in features]
    assert [f["properties"]["rank"] for f in features] == list(range(1, len(features) + 1))
    gains = [f["properties"]["marginal_gain"] for f in features]
    assert gains == sorted(gains, reverse=True)
    # the covered weight, recomputed independently from the chosen ids
    chosen = [int(i[1:]) for i in ids]
    covered = evaluate(demand, weight, cand[chosen], 100, existing_xy=existing)
    assert summary["covered_weight"] == pytest.approx(covered, abs=1e-6)
    assert summary["total_weight"] == pytest.approx(weight.sum())
    assert summary["coverage_ratio"] == pytest.approx(covered / weight.sum())
    lon, lat = features[0]["geometry"]["coordinates"]
    assert 121 < lon < 122.1 and 24.6 < lat < 25.4  # written in EPSG:4326
    assert "涵蓋權重" in result.output


def test_plan_cameras_greedy_sectors(layers):
    paths, *_ = layers
    result = _run(
        "--demand", paths["demand"], "--candidates", paths["cand"], "--k", 4,
        "--radius", 120, "--bearings", "0,90,180,270", "--fov", 90,
        "--method", "greedy", "--out", paths["out"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(paths["out"].read_text(encoding="utf-8"))
    assert plan["summary"]["method"] == "greedy"
    assert plan["summary"]["gap"] is None
    bearings = [f["properties"]["bearing"] for f in plan["features"]]
    assert set(bearings) <= {0.0, 90.0, 180.0, 270.0}
    ids = [f["properties"]["id"] for f in plan["features"]]
    assert len(set(ids)) == len(ids)


def test_plan_cameras_budget(layers):
    paths, *_, costs = layers
    result = _run(
        "--demand", paths["demand"], "--candidates", paths["cand"],
        "--budget", 100_000, "--radius", 100, "--out", paths["out"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = json.loads(paths["out"].read_text(encoding="utf-8"))
    chosen = [int(f["properties"]["id"][1:]) for f in plan["features"]]
    assert costs[chosen].sum() <= 100_000
    assert plan["summary"]["cost"] == pytest.approx(costs[chosen].sum())


def _write(gdf, path):
    gdf.to_file(path, driver="GeoJSON")
    return path


def test_bad_inputs_fail_with_zh_tw_messages(layers, tmp_path):
    paths, *_ = layers
    no_weight = _write(
        gpd.GeoDataFrame({"w": [1.0]}, geometry=gpd.points_from_xy([X0], [Y0]), crs=3826),
        tmp_path / "noweight.geojson",
    )
    lines = _write(
        gpd.GeoDataFrame(
            {"weight": [1.0]},
            geometry=[LineString([(X0, Y0), (X0 + 10, Y0)])],
            crs=3826,
        ),
        tmp_path / "lines.geojson",
    )
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}', encoding="utf-8")
    zero = tmp_path / "zero.geojson"
    zero.write_bytes(b"")
    cases = [
        (no_weight, paths["cand"], ["--k", "3"], "weight"),
        (lines, paths["cand"], ["--k", "3"], "點"),
        (empty, paths["cand"], ["--k", "3"], "沒有"),
        (zero, paths["cand"], ["--k", "3"], "空"),
        (paths["demand"], empty, ["--k", "3"], "沒有"),
        (paths["demand"], paths["cand"], ["--k", "0"], "至少為 1"),
        (paths["demand"], paths["cand"], [], "--k"),
        (paths["demand"], paths["cand"], ["--k", "3", "--bearings", "北,東"], "方位角"),
        (paths["demand"], paths["cand"], ["--k", "3", "--method", "magic"], "求解方法"),
        (tmp_path / "missing.geojson", paths["cand"], ["--k", "3"], "找不到"),
    ]
    for demand_path, cand_path, extra, needle in cases:
        result = _run(
            "--demand", demand_path, "--candidates", cand_path, *extra,
            "--out", tmp_path / "never.geojson",
        )  # fmt: skip
        assert result.exit_code == 1, (needle, result.output)
        assert "錯誤" in result.output and needle in result.output, (needle, result.output)
        assert "Traceback" not in result.output
    assert not (tmp_path / "never.geojson").exists()


def test_console_script_runs_the_plan_without_typer(layers, tmp_path):
    """`safemap plan cameras` as a user runs it, a process of its own: the plan goes straight
    to the argparse command (no typer, rich or pydantic imported), with the same results and
    the same zh-TW errors as through the typer group."""
    import subprocess
    import sys

    paths, demand, weight, _, existing, _ = layers
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['safemap', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('cli.entry', run_name='__main__')\n"
        "finally:\n"
        "    heavy = sorted(m for m in ('typer', 'rich', 'pydantic', 'geopandas') if m in sys.modules)\n"
        "    print('IMPORTED', heavy, file=sys.stderr)\n"
    )
    out = tmp_path / "console.geojson"
    done = subprocess.run(
        [sys.executable, "-c", probe, "plan", "cameras", "--demand", str(paths["demand"]),
         "--candidates", str(paths["existing"]), "--k", "1", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "IMPORTED []" in done.stderr
    assert "涵蓋權重" in done.stdout
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["summary"]["status"] == "optimal"
    covered = evaluate(demand, weight, existing, 100)
    assert plan["summary"]["covered_weight"] == pytest.approx(covered, abs=1e-6)

    for extra, needle in [
        (["--k", "abc"], "不是整數"),
        (["--k", "2", "--bogus", "1"], "無法辨識的參數"),
        (["--k", "0"], "至少為 1"),
    ]:
        bad = subprocess.run(
            [sys.executable, "-m", "cli.entry", "plan", "cameras", "--demand",
             str(paths["demand"]), "--candidates", str(paths["cand"]), *extra,
             "--out", str(tmp_path / "never.geojson")],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert bad.returncode == 1, (extra, bad.stderr)
        assert bad.stderr.startswith("錯誤：") and needle in bad.stderr, (extra, bad.stderr)
        assert "Traceback" not in bad.stderr
    missing = subprocess.run(
        [sys.executable, "-m", "cli.entry", "plan", "cameras", "--k", "2"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 1 and "缺少必要參數" in missing.stderr
    helped = subprocess.run(
        [sys.executable, "-m", "cli.entry", "plan", "cameras", "--help"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert helped.returncode == 0 and "用法" in helped.stdout and "--demand" in helped.stdout
    assert not (tmp_path / "never.geojson").exists()
