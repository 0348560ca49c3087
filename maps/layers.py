"""The layers the district, community and CCTV maps share, each with its style, zh-TW popup
and legend. Every function takes a GeoDataFrame in EPSG:4326 as ``geo.mapdata`` returns it
and adds one layer (or two) to a :class:`maps.base.MapContext`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from geo.enums import CameraStatus, HazardStatus

from . import style
from .base import DataLayer, LabelLayer, MapContext, feature_collection, heat_layer, label_points
from .style import Legend, Swatch


@dataclass(frozen=True)
class Links:
    """Where popups link to: ``base`` + a path of the API (``""``: the serving app itself)."""

    base: str = ""
    public: bool = False

    def record(self, layer: str) -> str:
        return f"{self.base}/api/{layer}/{{id}}"

    def community_map(self) -> str:
        if self.public:
            return f"{self.base}/maps/public/community/{{id}}"
        return f"{self.base}/maps/community/{{id}}"


def _kind(series: pd.Series) -> pd.Series:
    """pt, ln or pg per geometry, so one layer can style points, lines and areas."""
    t = series.geom_type.fillna("")
    return t.map(lambda g: "pt" if "Point" in g else ("ln" if "LineString" in g else "pg")).astype(
        str
    )


def count_name(title: str, gdf: gpd.GeoDataFrame | None) -> str:
    return f"{title}（{len(gdf)}）" if gdf is not None else title


# --------------------------------------------------------------------------- boundaries
def add_district_outline(ctx: MapContext, gdf: gpd.GeoDataFrame, *, name="行政區界") -> None:
    layer = DataLayer(
        feature_collection(gdf, ["name", "code"]),
        name,
        {
            "style": {"base": style.BOUNDARY["district"]},
            "tooltip": "name",
            "interactive": True,
        },
    )
    ctx.add(layer, Legend(name, [Swatch("行政區界", style.BOUNDARY["district"]["color"], "line")]))


def add_villages(
    ctx: MapContext, gdf: gpd.GeoDataFrame, *, labels: bool = True, label_zoom: int = 15
) -> None:
    name = "村里界"
    layer = DataLayer(
        feature_collection(gdf, ["id", "name", "code", "district_name"]),
        name,
        {
            "style": {"base": {**style.BOUNDARY["village"], "fill": True, "fillOpacity": 0}},
            "tooltip": "name",
            "popup": {
                "title": "name",
                "fields": [["code", "村里代碼"], ["district_name", "行政區"]],
            },
        },
    )
    ctx.add(layer, Legend(name, [Swatch("村里界", style.BOUNDARY["village"]["color"], "dash")]))
    if labels and len(gdf):
        ctx.add(LabelLayer(label_points(gdf, "name"), "村里名稱", "village", min_zoom=label_zoom))


def add_communities(
    ctx: MapContext, gdf: gpd.GeoDataFrame, links: Links, *, name: str = "參與社區"
) -> None:
    gdf = gdf.copy()
    gdf["taking_part"] = gdf["participating"].map(lambda v: "yes" if v else "no")
    base = style.BOUNDARY["community"]
    layer = DataLayer(
        feature_collection(
            gdf,
            ["id", "name", "organisation", "precinct", "villages", "participating", "taking_part"],
        ),
        count_name(name, gdf),
        {
            "style": {
                "base": base,
                "by": "taking_part",
                "map": {"no": {"dashArray": "6 4", "fillOpacity": 0.03}},
            },
            "tooltip": "name",
            "popup": {
                "title": "name",
                "fields": [
                    ["organisation", "社區組織"],
                    ["precinct", "轄區分局"],
                    ["villages", "涵蓋村里"],
                    ["participating", "本年度受補助", "yesno"],
                ],
                "link": {"href": links.community_map(), "text": "開啟社區安全檢測地圖"},
            },
        },
    )
    ctx.add(
        layer,
        Legend(
            name,
            [
                Swatch("本年度受補助社區", base["fillColor"], "fill", base["color"]),
                Swatch("其他社區（未受補助）", "#ffffff", "fill", base["color"]),
            ],
        ),
    )


# --------------------------------------------------------------------------- hazards
HAZARD_FIELDS = [
    ["category", "類別", {c: v["label"] for c, v in style.hazard_categories().items()}],
    ["status", "處理狀態", HazardStatus.labels()],
    ["severity", "嚴重程度（1–5）", "int"],
    ["time_of_day", "發生時段", style.TIME_LABELS],
    ["description", "說明"],
    ["agency", "權責機關", None, "skip-empty"],
    ["reported_on", "提報日期"],
    ["fixed_on", "改善日期", None, "skip-empty"],
    ["community", "社區"],
]


def add_hazards(
    ctx: MapContext,
    gdf: gpd.GeoDataFrame,
    links: Links,
    *,
    numbered: bool = False,
) -> None:
    """Open and assigned hazards by category, and fixed ones as a layer of their own."""
    cats = style.hazard_categories()
    active = gdf[gdf["status"].isin([HazardStatus.open, HazardStatus.assigned])].copy()
    fixed = gdf[gdf["status"] == HazardStatus.fixed].copy()
    popup = {
        "title": "title",
        "heading": "安全檢測問題點",
        "fields": HAZARD_FIELDS,
        "link": {"href": links.record("hazards"), "text": "檢視紀錄"},
    }
    active["k"] = active["category"] + ":" + active["status"] + ":" + _kind(active.geometry)
    table = {}
    for key in active["k"].unique():
        cat, status, kind = key.split(":")
        colour = cats.get(cat, {"color": "#666666"})["color"]
        outline = "#ffffff" if status == HazardStatus.assigned else "#1f2933"
        if kind == "pt":
            table[key] = {
                "radius": 7,
                "color": outline,
                "weight": 1.5,
                "fillColor": colour,
                "fillOpacity": 0.95,
            }
        elif kind == "ln":
            table[key] = {"color": colour, "weight": 5, "opacity": 0.9, "lineCap": "round"}
        else:
            table[key] = {"color": colour, "weight": 2, "fillColor": colour, "fillOpacity": 0.35}
    props = ["id", "title", "category", "status", "severity", "time_of_day", "description"]
    props += ["agency", "reported_on", "fixed_on", "community", "k"]
    options = {"style": {"by": "k", "map": table}, "popup": popup, "tooltip": "title"}
    active_props = list(props)
    if numbered:
        active["no"] = range(1, len(active) + 1)
        active_props.append("no")
        options["label"] = "no"
    name = "安全檢測問題點（待處理／已分派）"
    ctx.add(
        DataLayer(feature_collection(active, active_props), count_name(name, active), options),
        style.hazard_legend(name, sorted(active["category"].unique(), key=list(cats).index)),
    )
    fixed["k"] = _kind(fixed.geometry)
    done = style.HAZARD_STATUS_COLOURS[HazardStatus.fixed]
    fixed_options = {
        "style": {
            "by": "k",
            "map": {
                "pt": {
                    "radius": 5,
                    "color": done,
                    "weight": 2,
                    "fillColor": "#ffffff",
                    "fillOpacity": 1,
                },
                "ln": {"color": done, "weight": 3, "dashArray": "2 4"},
                "pg": {"color": done, "weight": 1.5, "fillColor": done, "fillOpacity": 0.12},
            },
        },
        "popup": popup,
        "tooltip": "title",
    }
    name = "已改善問題點"
    ctx.add(
        DataLayer(feature_collection(fixed, props), count_name(name, fixed), fixed_options),
        style.hazard_legend(name, [], fixed=True),
    )


# --------------------------------------------------------------------------- cameras
CAMERA_FIELDS = [
    ["status", "狀態", CameraStatus.labels()],
    ["owner", "權屬", style.OWNER_LABELS],
    ["name", "名稱", None, "skip-empty"],
    ["bearing_deg", "方向角（北為 0°）", "deg"],
    ["fov_deg", "視角", "deg"],
    ["range_m", "有效距離", "m"],
    ["height_m", "架設高度（公尺）", "num1"],
    ["installed_on", "裝設日期", None, "skip-empty"],
    ["community", "社區", None, "skip-empty"],
]


def add_cameras(
    ctx: MapContext,
    gdf: gpd.GeoDataFrame,
    links: Links,
    *,
    show_planned: bool = True,
) -> None:
    """Cameras with their view sectors: operating ones solid, planned ones dashed, as two
    layers."""
    for planned, statuses, name in (
        (False, style.CAMERA_OPERATING, "監視器（既有／已裝設）"),
        (True, style.CAMERA_PLANNED, "監視器（建議設置／已核准）"),
    ):
        part = gdf[gdf["status"].isin(statuses)]
        ctx.add(
            camera_layer(part, links, name, planned=planned, show=show_planned or not planned),
            style.camera_legend(name, statuses, planned=planned),
        )


def camera_layer(gdf, links: Links, name: str, *, planned: bool, show: bool = True) -> DataLayer:
    props = ["id", "status", "owner", "name", "bearing_deg", "fov_deg", "range_m"]
    props += ["height_m", "installed_on", "community"]
    sectors = gdf.set_geometry("sector") if "sector" in gdf else gdf.iloc[0:0]
    sectors = gpd.GeoDataFrame(sectors[props].assign(k=sectors["status"] + ":pg"), geometry=sectors.geometry.values, crs=gdf.crs)  # fmt: skip
    points = gpd.GeoDataFrame(
        gdf[props].assign(k=gdf["status"] + ":pt"), geometry=gdf.geometry.values, crs=gdf.crs
    )
    both = pd.concat([sectors, points], ignore_index=True)
    both = gpd.GeoDataFrame(both, geometry="geometry", crs=gdf.crs)
    table = {}
    for status in gdf["status"].unique():
        colour = style.CAMERA_STATUS_COLOURS[CameraStatus(status)]
        dash = "5 4" if planned else None
        table[f"{status}:pg"] = {
            "color": colour,
            "weight": 1.2,
            "dashArray": dash,
            "fillColor": colour,
            "fillOpacity": 0.12 if planned else 0.22,
        }
        table[f"{status}:pt"] = {
            "radius": 4,
            "color": "#ffffff" if not planned else colour,
            "weight": 1.5,
            "fillColor": colour if not planned else "#ffffff",
            "fillOpacity": 1,
        }
    return DataLayer(
        feature_collection(both, [*props, "k"]),
        count_name(name, gdf),
        {
            "style": {"by": "k", "map": table},
            "popup": {
                "title": "name",
                "heading": "監視器",
                "fields": CAMERA_FIELDS,
                "link": {"href": links.record("cameras"), "text": "檢視紀錄"},
            },
            # Thousands of sectors in a busy district: one canvas, not an SVG node each.
            "canvas": True,
        },
        show=show,
    )


def add_street_coverage(ctx: MapContext, gdf: gpd.GeoDataFrame | None, loaded: bool) -> None:
    name = "監視器涵蓋街道"
    if not loaded:
        note = "尚未載入街道路網：無法計算涵蓋街道。"
        gdf = None
    else:
        note = "街道中心線落在既有／已裝設監視器可視範圍內的路段"
    layer = DataLayer(
        feature_collection(gdf, ["street_id", "name", "seen_m"])
        if gdf is not None
        else '{"type":"FeatureCollection","features":[]}',
        name if gdf is None else f"{name}（{gdf['seen_m'].sum() / 1000:.1f} 公里）",
        {
            "style": {"base": {"color": style.COVERED_STREET, "weight": 4, "opacity": 0.9}},
            "popup": {
                "heading": "監視器涵蓋街道",
                "title": "name",
                "fields": [["seen_m", "涵蓋長度", "m"]],
            },
            "canvas": True,
        },
    )
    ctx.add(layer, Legend(name, [Swatch("攝影機看得到的街道", style.COVERED_STREET, "line")], note))


def add_blind_spots(ctx: MapContext, gdf: gpd.GeoDataFrame, run_label: str | None) -> None:
    name = "治安死角"
    gdf = gdf.copy()
    gdf["why"] = gdf["reasons"].map(
        lambda rs: "、".join(style.REASON_LABELS.get(r, r) for r in (rs or []))
    )
    gdf["k"] = _kind(gdf.geometry)
    c = style.BLIND_SPOT_COLOUR
    layer = DataLayer(
        feature_collection(gdf, ["id", "rank", "risk", "why", "k"]),
        count_name(name, gdf),
        {
            "style": {
                "by": "k",
                "map": {
                    "pt": {
                        "radius": 8,
                        "color": "#ffffff",
                        "weight": 2,
                        "fillColor": c,
                        "fillOpacity": 0.9,
                    },
                    "pg": {"color": c, "weight": 2, "fillColor": c, "fillOpacity": 0.35},
                    "ln": {"color": c, "weight": 5},
                },
            },
            "popup": {
                "heading": "治安死角",
                "fields": [
                    ["rank", "風險排序", "int"],
                    ["risk", "風險分數", "num1"],
                    ["why", "原因"],
                ],
            },
        },
    )
    note = f"分析：{run_label}" if run_label else "尚無治安死角分析結果"
    ctx.add(layer, Legend(name, [Swatch("無監視器、認養或巡守涵蓋之熱點", c)], note))


def add_blocks(ctx: MapContext, gdf: gpd.GeoDataFrame, links: Links) -> None:
    popup = {
        "title": "name",
        "heading": "治安區塊",
        "fields": [
            ["risk", "風險分數（0–1）", "num1"],
            ["adopters", "認養單位", None, "skip-empty"],
            ["community", "社區"],
        ],
        "link": {"href": links.record("patrol_blocks"), "text": "檢視紀錄"},
    }
    props = ["id", "name", "risk", "adopters", "community"]
    for adopted, name, colour, dash in (
        (True, "已認養治安區塊", style.BLOCK_ADOPTED, None),
        (False, "未認養治安區塊", style.BLOCK_UNADOPTED, "4 3"),
    ):
        part = gdf[gdf["adopted"] == adopted]
        layer = DataLayer(
            feature_collection(part, props),
            count_name(name, part),
            {
                "style": {
                    "base": {
                        "color": colour,
                        "weight": 1.5,
                        "dashArray": dash,
                        "fillColor": colour,
                        "fillOpacity": 0.16,
                    }
                },
                "popup": popup,
                "tooltip": "name",
            },
        )
        ctx.add(layer, Legend(name, [Swatch(name, colour, "fill", colour)]))


def _schedule_text(s) -> str:
    if not isinstance(s, dict) or not s:
        return ""
    days = "、".join("一二三四五六日"[d - 1] for d in s.get("days", []) if 1 <= d <= 7)
    hours = f"{s.get('start', '')}–{s.get('end', '')}" if s.get("start") else ""
    return f"每週{days} {hours}".strip() if days else hours


def add_routes(ctx: MapContext, gdf: gpd.GeoDataFrame, links: Links) -> None:
    name = "巡守路線"
    gdf = gdf.copy()
    gdf["when"] = gdf["schedule"].map(_schedule_text)
    layer = DataLayer(
        feature_collection(gdf, ["id", "team_name", "name", "when", "community"]),
        count_name(name, gdf),
        {
            "style": {
                "base": {
                    "color": style.ROUTE_COLOUR,
                    "weight": 4,
                    "dashArray": "10 6",
                    "opacity": 0.95,
                }
            },
            "popup": {
                "title": "team_name",
                "heading": "守望相助隊巡守路線",
                "fields": [["name", "路線"], ["when", "巡守時間"], ["community", "社區"]],
                "link": {"href": links.record("patrol_routes"), "text": "檢視紀錄"},
            },
            "tooltip": "team_name",
        },
    )
    ctx.add(layer, Legend(name, [Swatch("守望相助隊巡守路線", style.ROUTE_COLOUR, "dash")]))


def add_audits(ctx: MapContext, gdf: gpd.GeoDataFrame, links: Links) -> None:
    name = "婦幼安全檢測（步行稽核）"
    gdf = gdf.copy()
    gdf["k"] = (
        gdf["score"]
        .map(lambda s: next(i for i, (hi, _, _) in enumerate(style.AUDIT_SCORE) if s < hi))
        .astype(str)
    )
    table = {
        str(i): {
            "color": colour,
            "weight": 6,
            "opacity": 0.85,
            "fillColor": colour,
            "fillOpacity": 0.3,
        }
        for i, (_, colour, _) in enumerate(style.AUDIT_SCORE)
    }
    layer = DataLayer(
        feature_collection(gdf, ["id", "place_name", "period", "audited_on", "score", "k"]),
        count_name(name, gdf),
        {
            "style": {"by": "k", "map": table},
            "popup": {
                "title": "place_name",
                "heading": "步行稽核",
                "fields": [
                    ["period", "時段", style.TIME_LABELS],
                    ["audited_on", "稽核日期"],
                    ["score", "分數（1–10）", "num1"],
                ],
                "link": {"href": links.record("safety_audits"), "text": "檢視紀錄"},
            },
        },
        show=False,
    )
    ctx.add(layer, Legend(name, [Swatch(lbl, c, "line") for _, c, lbl in style.AUDIT_SCORE]))


def add_meetings(ctx: MapContext, gdf: gpd.GeoDataFrame, links: Links) -> None:
    name = "社區治安會議地點"
    layer = DataLayer(
        feature_collection(gdf, ["id", "held_on", "place", "attendees"]),
        count_name(name, gdf),
        {
            "style": {
                "base": {
                    "radius": 6,
                    "color": "#102a43",
                    "weight": 2,
                    "fillColor": "#ffd43b",
                    "fillOpacity": 1,
                }
            },
            "popup": {
                "title": "place",
                "heading": "社區治安會議",
                "fields": [["held_on", "日期"], ["attendees", "出席人數", "int"]],
                "link": {"href": links.record("safety_meetings"), "text": "檢視紀錄"},
            },
        },
        show=False,
    )
    ctx.add(layer, Legend(name, [Swatch("會議地點", "#ffd43b", "point")]))


# --------------------------------------------------------------------------- incidents
def add_incident_heat(
    ctx: MapContext, grid: gpd.GeoDataFrame, *, cell_m: float, min_count: int, period: str
) -> None:
    """Incidents only as counts per grid cell: a heat layer of the cell centres and, off by
    default, the cells themselves with their counts."""
    name = "案件熱區（網格彙整）"
    top = float(grid["count"].max()) if len(grid) else 1.0
    points = [
        [lat, lon, round(c / top, 3)]
        for lat, lon, c in zip(grid["lat"], grid["lon"], grid["count"], strict=True)
    ]
    note = f"{period}案件以 {cell_m:.0f} 公尺網格彙整，少於 {min_count} 件之網格不顯示；不顯示個別案件位置。"
    layer = heat_layer(
        ctx,
        points,
        count_name(name, grid),
        radius=22,
        blur=18,
        min_opacity=0.3,
        max_zoom=14,
        gradient=style.HEAT_GRADIENT,
    )
    ctx.add(layer, Legend(name, [Swatch("少 → 多", "#fd8d3c", "heat")], note))
    cells = grid.copy()
    if len(cells):
        cls = style.classify(cells["count"], palette="reds", kind="int")
        cells["c"] = cls.yb.astype(str)
        table = {
            str(i): {"color": col, "weight": 0.5, "fillColor": col, "fillOpacity": 0.55}
            for i, col in enumerate(cls.colours)
        }
        legend = style.choropleth_legend("案件網格（件數）", cls, note=note)
    else:
        cells["c"] = []
        table = {}
        legend = Legend("案件網格（件數）", [], note)
    cells["label"] = cells["count"].map(lambda n: f"{n} 件")
    layer = DataLayer(
        feature_collection(cells, ["count", "c", "label"]),
        f"案件網格（{cell_m:.0f} 公尺）",
        {"style": {"by": "c", "map": table}, "tooltip": "label", "canvas": True},
        show=False,
    )
    ctx.add(layer, legend)
