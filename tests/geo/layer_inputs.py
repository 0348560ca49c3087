"""Builders of spatial-layer import inputs, good and bad, for the layer_io/validation tests.

Everything is built in code (no data file is kept in the repository). Places are real spots
of 板橋區 around 板橋車站; the Google My Maps KML follows what My Maps' "Export to KML/KMZ"
writes: a Document with shared Style/StyleMap pairs (``icon-1899-…``, ``line-…``,
``poly-…``), one Folder per map layer, placemarks with CDATA HTML descriptions and
``<ExtendedData><Data name=…>`` fields for the layer's table columns, coordinates with an
altitude of 0. KMZ exports add the icons under ``images/``.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon

from tests.geo.boundary_inputs import write_shapefile, zip_folder

TO_3826 = Transformer.from_crs(4326, 3826, always_xy=True)
# TWD97 → TWD67 by the inverse of EPSG's TWD67→TWD97 transformation (the one the importer
# uses); 4326 → 3828 directly would be PROJ's "ballpark" offset, hundreds of metres off.
TO_3828_FROM_3826 = Transformer.from_crs(3826, 3828, always_xy=True)

# lon/lat of real places in 板橋區
LANE_CORNER = (121.4622, 25.0131)  # 文化路一段巷口
PARK_PATH = (121.4655, 25.0160)  # 公園旁步道
UNDERPASS = (121.4645, 25.0105)  # 地下道出口
DARK_ALLEY = [(121.4600, 25.0120), (121.4606, 25.0127), (121.4611, 25.0133)]
# drawn clockwise, as a mouse often draws it
ABANDONED_LOT = [
    (121.4670, 25.0150),
    (121.4670, 25.0158),
    (121.4680, 25.0158),
    (121.4680, 25.0150),
    (121.4670, 25.0150),
]
PATROL_ROUTE = [(121.4590, 25.0100), (121.4620, 25.0100), (121.4620, 25.0140), (121.4650, 25.0140)]

KAOHSIUNG = (120.3014, 22.6273)  # 高雄車站: in Taiwan, not in New Taipei


def _coords(points, indent: str = "            ") -> str:
    return "\n".join(f"{indent}{x},{y},0" for x, y in points)


def _style(style_id: str, body: str) -> str:
    return f"""    <Style id="{style_id}-normal">
{body}
    </Style>
    <Style id="{style_id}-highlight">
{body}
    </Style>
    <StyleMap id="{style_id}">
      <Pair>
        <key>normal</key>
        <styleUrl>#{style_id}-normal</styleUrl>
      </Pair>
      <Pair>
        <key>highlight</key>
        <styleUrl>#{style_id}-highlight</styleUrl>
      </Pair>
    </StyleMap>"""


def my_maps_kml() -> str:
    """A community safety map as Google My Maps exports it: folders 照明不足 (two points with
    HTML descriptions and a dark-alley line), 治安死角 (a point and an abandoned-lot polygon
    whose 類別 column says 廢棄空地) and 巡守路線 (a watch team's route)."""
    icon = """      <IconStyle>
        <color>ff3644db</color>
        <scale>1</scale>
        <Icon>
          <href>https://www.gstatic.com/mapspro/images/stock/503-wht-blank_maps.png</href>
        </Icon>
        <hotSpot x="32" xunits="pixels" y="64" yunits="insetPixels"/>
      </IconStyle>
      <LabelStyle>
        <scale>0</scale>
      </LabelStyle>"""
    line = """      <LineStyle>
        <color>ff000000</color>
        <width>5</width>
      </LineStyle>"""
    poly = """      <LineStyle>
        <color>ff000000</color>
        <width>1.2</width>
      </LineStyle>
      <PolyStyle>
        <color>4d000000</color>
        <fill>1</fill>
        <outline>1</outline>
      </PolyStyle>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>板橋區留侯里社區安全地圖</name>
    <description><![CDATA[113 年社區治安會議後繪製]]></description>
{_style("icon-1899-DB4436", icon)}
{_style("line-000000-5000", line)}
{_style("poly-000000-1200-77", poly)}
    <Folder>
      <name>照明不足</name>
      <Placemark>
        <name>文化路一段巷口</name>
        <description><![CDATA[路燈故障<br>晚上<b>很暗</b>，已通報 1999 &amp; 里長]]></description>
        <styleUrl>#icon-1899-DB4436</styleUrl>
        <ExtendedData>
          <Data name="嚴重程度">
            <value>4</value>
          </Data>
          <Data name="時段">
            <value>夜間</value>
          </Data>
        </ExtendedData>
        <Point>
          <coordinates>
{_coords([LANE_CORNER])}
          </coordinates>
        </Point>
      </Placemark>
      <Placemark>
        <name>公園旁步道</name>
        <description><![CDATA[<img src="https://mymaps.usercontent.google.com/hostedimage/m/*/abc" height="200" width="auto" /><br><br>步道燈光昏暗]]></description>
        <styleUrl>#icon-1899-DB4436</styleUrl>
        <ExtendedData>
          <Data name="gx_media_links">
            <value><![CDATA[https://mymaps.usercontent.google.com/hostedimage/m/*/abc]]></value>
          </Data>
        </ExtendedData>
        <Point>
          <coordinates>
{_coords([PARK_PATH])}
          </coordinates>
        </Point>
      </Placemark>
      <Placemark>
        <name>民族路 50 巷暗巷</name>
        <description><![CDATA[整條巷子沒有路燈]]></description>
        <styleUrl>#line-000000-5000</styleUrl>
        <LineString>
          <tessellate>1</tessellate>
          <coordinates>
{_coords(DARK_ALLEY)}
          </coordinates>
        </LineString>
      </Placemark>
    </Folder>
    <Folder>
      <name>治安死角</name>
      <Placemark>
        <name>地下道出口</name>
        <description><![CDATA[出口轉角看不到人]]></description>
        <styleUrl>#icon-1899-DB4436</styleUrl>
        <Point>
          <coordinates>
{_coords([UNDERPASS])}
          </coordinates>
        </Point>
      </Placemark>
      <Placemark>
        <name>廢棄空地</name>
        <description><![CDATA[雜草叢生，常有人聚集]]></description>
        <styleUrl>#poly-000000-1200-77</styleUrl>
        <ExtendedData>
          <Data name="類別">
            <value>廢棄空地</value>
          </Data>
          <Data name="嚴重程度">
            <value>5</value>
          </Data>
        </ExtendedData>
        <Polygon>
          <outerBoundaryIs>
            <LinearRing>
              <tessellate>1</tessellate>
              <coordinates>
{_coords(ABANDONED_LOT, "                ")}
              </coordinates>
            </LinearRing>
          </outerBoundaryIs>
        </Polygon>
      </Placemark>
    </Folder>
    <Folder>
      <name>巡守路線</name>
      <Placemark>
        <name>夜間巡守路線</name>
        <styleUrl>#line-000000-5000</styleUrl>
        <ExtendedData>
          <Data name="巡守隊">
            <value>留侯里守望相助隊</value>
          </Data>
        </ExtendedData>
        <LineString>
          <tessellate>1</tessellate>
          <coordinates>
{_coords(PATROL_ROUTE)}
          </coordinates>
        </LineString>
      </Placemark>
    </Folder>
  </Document>
</kml>
"""


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


def kmz(kml: str, *, icons: bool = True) -> bytes:
    """A KMZ as My Maps writes it: doc.kml and the icons it uses."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml.encode("utf-8"))
        if icons:
            zf.writestr("images/icon-1.png", PNG_1PX)
    return buffer.getvalue()


def multigeometry_kml() -> str:
    """Two placemarks with a MultiGeometry: two lines (one street drawn in two strokes), and a
    point with a line (which no layer takes as one feature)."""
    lines = "".join(
        f"<LineString><coordinates>{_coords(part, '')}</coordinates></LineString>"
        for part in (DARK_ALLEY[:2], DARK_ALLEY[1:])
    )
    mixed = (
        f"<Point><coordinates>{_coords([UNDERPASS], '')}</coordinates></Point>"
        f"<LineString><coordinates>{_coords(DARK_ALLEY, '')}</coordinates></LineString>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>MultiGeometry</name>
    <Folder>
      <name>照明不足</name>
      <Placemark><name>兩段暗巷</name><MultiGeometry>{lines}</MultiGeometry></Placemark>
      <Placemark><name>點和線</name><MultiGeometry>{mixed}</MultiGeometry></Placemark>
    </Folder>
  </Document>
</kml>
"""


def network_link_kml() -> str:
    """What My Maps exports with "keep data up to date": a link, no placemarks."""
    return """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
  <Document>
    <name>板橋區留侯里社區安全地圖</name>
    <NetworkLink>
      <name>板橋區留侯里社區安全地圖</name>
      <Link>
        <href>https://www.google.com/maps/d/kml?mid=1AbCdEfGh&amp;forcekml=1</href>
      </Link>
    </NetworkLink>
  </Document>
</kml>
"""


def entity_kml() -> str:
    """A KML with an internal DTD that expands entities (a billion-laughs seed)."""
    return """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE kml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&b;</name>
<Point><coordinates>121.4622,25.0131,0</coordinates></Point></Placemark></Document></kml>
"""


# --------------------------------------------------------------------------- CSV
def lonlat_csv() -> bytes:
    """UTF-8 (with the BOM Excel writes) with 經度/緯度 columns."""
    text = (
        "名稱,類別,經度,緯度,嚴重程度,時段,說明\n"
        f"文化路一段巷口,路燈不亮,{LANE_CORNER[0]},{LANE_CORNER[1]},4,夜間,路燈故障\n"
        f"公園旁步道,照明不足,{PARK_PATH[0]},{PARK_PATH[1]},,,\n"
        f'地下道出口,死角,{UNDERPASS[0]},{UNDERPASS[1]},2,白天,"出口轉角,看不到人"\n'
    )
    return text.encode("utf-8-sig")


def twd97(lonlat: tuple[float, float]) -> tuple[float, float]:
    x, y = TO_3826.transform(*lonlat)
    return round(x, 3), round(y, 3)


def twd97_csv() -> bytes:
    """TWD97 X/Y columns (as police and city offices keep them), UTF-8 without BOM."""
    rows = [("巷口", "車禍", LANE_CORNER), ("步道", "空屋", PARK_PATH)]
    lines = ["編號,問題類型,TWD97X,TWD97Y"]
    lines += [f"{n},{c},{twd97(p)[0]},{twd97(p)[1]}" for n, c, p in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def big5_csv() -> bytes:
    """What Excel on a zh-TW Windows saves: Big5 (cp950), CRLF line ends."""
    text = (
        "名稱,類別,經度,緯度\r\n"
        f"文化路一段巷口,照明不足,{LANE_CORNER[0]},{LANE_CORNER[1]}\r\n"
        f"地下道出口,治安死角,{UNDERPASS[0]},{UNDERPASS[1]}\r\n"
    )
    return text.encode("cp950")


def cameras_csv() -> bytes:
    text = (
        "監視器編號,經度,緯度,方向角,視角,拍攝距離,架設高度,狀態,權屬\n"
        f"BQ-001,{LANE_CORNER[0]},{LANE_CORNER[1]},90,60,30,3.5,既有,警察機關\n"
        f"BQ-002,{UNDERPASS[0]},{UNDERPASS[1]},-90,90,25,,建議設置,社區\n"
    )
    return text.encode("utf-8")


def csv_without_coordinates() -> bytes:
    return "名稱,類別,地址\n文化路一段巷口,照明不足,新北市板橋區文化路一段\n".encode()


def csv_with_text_in_numbers() -> bytes:
    """Row 2 has text for a longitude, row 3 a word for a severity, row 4 no latitude."""
    text = (
        "名稱,類別,經度,緯度,嚴重程度\n"
        f"巷口,照明不足,一二一點四,{LANE_CORNER[1]},3\n"
        f"步道,照明不足,{PARK_PATH[0]},{PARK_PATH[1]},很高\n"
        f"地下道,死角,{UNDERPASS[0]},,2\n"
        f"路口,死角,{UNDERPASS[0]},{UNDERPASS[1]},9\n"
    )
    return text.encode("utf-8")


def swapped_csv() -> bytes:
    """緯度 and 經度 values typed into each other's columns."""
    return f"名稱,類別,經度,緯度\n巷口,照明不足,{LANE_CORNER[1]},{LANE_CORNER[0]}\n".encode()


def many_rows_csv(n: int) -> bytes:
    lines = ["名稱,類別,經度,緯度"]
    lines += [f"點{i},照明不足,{121.46 + i * 1e-6:.6f},25.0131" for i in range(n)]
    return ("\n".join(lines) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- shapefiles
def hazard_points(crs: int) -> gpd.GeoDataFrame:
    """Three hazard points with ASCII field names (DBF names are 10 bytes) and Chinese
    values, in EPSG:4326, 3826 or 3828 (the last reached through TWD97, see
    TO_3828_FROM_3826)."""
    points = [Point(LANE_CORNER), Point(PARK_PATH), Point(UNDERPASS)]
    gdf = gpd.GeoDataFrame(
        {
            "NAME": ["文化路一段巷口", "公園旁步道", "地下道出口"],
            "CATEGORY": ["照明不足", "路燈故障", "治安死角"],
            "SEVERITY": [4, 3, 2],
        },
        geometry=points,
        crs=4326,
    )
    if crs == 4326:
        return gdf
    projected = gdf.to_crs(3826)
    if crs == 3826:
        return projected
    if crs == 3828:
        moved = shapely.transform(
            projected.geometry.values,
            lambda xy: np.column_stack(TO_3828_FROM_3826.transform(xy[:, 0], xy[:, 1])),
        )
        return gpd.GeoDataFrame(projected.drop(columns="geometry"), geometry=moved, crs=3828)
    raise ValueError(crs)


def shapefile_zip(
    tmp: Path, crs: int, *, encoding: str = "cp950", cpg: bool = False, prj: bool = True
) -> Path:
    """A zipped shapefile as a government download: Big5 without .cpg by default."""
    folder = write_shapefile(
        hazard_points(crs), tmp / f"shp{crs}", encoding=encoding, cpg=cpg, prj=prj
    )
    return zip_folder(folder, tmp / f"hazards_{crs}.zip", inner="HAZARDS")


# --------------------------------------------------------------------------- GeoPackage
def hazards_frame() -> gpd.GeoDataFrame:
    """Hazards of every geometry type, lon/lat, with our own column names."""
    return gpd.GeoDataFrame(
        {
            "category": ["poor_lighting", "poor_lighting", "abandoned_building"],
            "severity": [4, 3, 5],
            "time_of_day": ["night", "night", "both"],
            "description": ["路燈故障", "整條巷子沒有路燈", "雜草叢生"],
            "name": ["文化路一段巷口", "民族路 50 巷暗巷", "廢棄空地"],
        },
        geometry=[Point(LANE_CORNER), LineString(DARK_ALLEY), Polygon(ABANDONED_LOT[::-1])],
        crs=4326,
    )


def cameras_frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "name": ["BQ-001", "BQ-002"],
            "bearing_deg": [90.0, 270.0],
            "fov_deg": [60.0, 90.0],
            "range_m": [30.0, 25.0],
            "status": ["existing", "proposed"],
            "owner": ["police", "community"],
        },
        geometry=[Point(LANE_CORNER), Point(UNDERPASS)],
        crs=4326,
    )


def geopackage(path: Path) -> Path:
    """Two tables, hazards (mixed geometry types, TWD97) and cameras (lon/lat)."""
    hazards_frame().to_crs(3826).to_file(path, layer="hazards", driver="GPKG")
    cameras_frame().to_file(path, layer="cameras", driver="GPKG")
    return path


# --------------------------------------------------------------------------- GeoJSON
def geojson(*features: tuple[dict | None, dict]) -> bytes:
    """A FeatureCollection of (geometry, properties); NaN is written as JSON's NaN token,
    which Python's json and GDAL both accept."""
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "properties": props, "geometry": geom}
                for geom, props in features
            ],
        },
        ensure_ascii=False,
    ).encode("utf-8")


def point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def ring_polygon(ring: list[tuple[float, float]]) -> dict:
    return {"type": "Polygon", "coordinates": [[list(p) for p in ring]]}


# A bow-tie: the ring crosses itself; make_valid would split it into two triangles.
BOWTIE = ring_polygon(
    [
        (121.4600, 25.0100),
        (121.4610, 25.0110),
        (121.4610, 25.0100),
        (121.4600, 25.0110),
        (121.4600, 25.0100),
    ]
)
UNCLOSED = ring_polygon(ABANDONED_LOT[:-1])
# A zero-width spike sticking out of a square: make_valid drops it, same area, one polygon.
SPIKE = ring_polygon(
    [
        (121.4600, 25.0100),
        (121.4610, 25.0100),
        (121.4610, 25.0110),
        (121.4605, 25.0110),
        (121.4605, 25.0120),
        (121.4605, 25.0110),
        (121.4600, 25.0110),
        (121.4600, 25.0100),
    ]
)

#: (label, geometry, the code the hazards import reports for it)
BAD_GEOMETRIES: list[tuple[str, dict | None, str]] = [
    ("bow-tie", BOWTIE, "geometry_invalid"),
    ("Kaohsiung", point(*KAOHSIUNG), "geometry_out_of_bounds"),
    ("null island", point(0.0, 0.0), "geometry_out_of_bounds"),
    ("swapped lat/lon", point(LANE_CORNER[1], LANE_CORNER[0]), "geometry_swapped_coordinates"),
    ("NaN", point(float("nan"), LANE_CORNER[1]), "geometry_not_finite"),
    ("no geometry", None, "geometry_empty"),
    ("empty polygon", {"type": "Polygon", "coordinates": []}, "geometry_empty"),
    (
        "two points in one",
        {"type": "MultiPoint", "coordinates": [LANE_CORNER, UNDERPASS]},
        "geometry_wrong_type",
    ),
]


def long_line(n_vertices: int) -> dict:
    step = 0.005 / n_vertices
    return {
        "type": "LineString",
        "coordinates": [[121.46 + i * step, 25.01 + (i % 2) * 1e-5] for i in range(n_vertices)],
    }


def many_points_geojson(n: int) -> bytes:
    return geojson(
        *((point(121.46 + i * 1e-6, 25.0131), {"category": "poor_lighting"}) for i in range(n))
    )


# --------------------------------------------------------------------------- broken files
def truncated(data: bytes, fraction: float = 0.6) -> bytes:
    return data[: int(len(data) * fraction)]


def html_page() -> bytes:
    return "<!DOCTYPE html><html><body><h1>社區安全地圖</h1></body></html>".encode()


def office_zip() -> bytes:
    """A .docx-like archive: a zip with no geodata in it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def zip_bomb(unpacked_bytes: int) -> bytes:
    """A small zip that expands to ``unpacked_bytes`` of zeros (next to a real shapefile name
    so only the size check can refuse it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("HAZARDS/VILLAGE.shp", b"\x00" * unpacked_bytes)
    return buffer.getvalue()
