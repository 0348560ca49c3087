"""What every map page shares: the folium Map with local assets and the basemap, the page
header and side panel, data layers styled from a table, the legend and the layer control.

The data layers are folium ``Layer`` elements (so ``folium.LayerControl`` lists them) whose
script hands compact GeoJSON to ``SafeMap.geojson`` in ``maps/static/safemap-maps.js``:
styles come from a small table keyed on one property instead of one style per feature, and
popups are built in the browser from escaped text, so a page stays small and no value from
the database can inject markup.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.template import Template

from .assets import SERVED, AssetLinks, Basemap
from .style import Legend

Bounds = tuple[float, float, float, float]  # lon/lat: west, south, east, north


# --------------------------------------------------------------------------- encoding
def js_json(value) -> str:
    """JSON that is safe inside a ``<script>`` element (no ``</script>``, no U+2028)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_default)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    raise TypeError(f"cannot encode {type(value).__name__}")


def _clean(v):
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if v is pd.NA or v is pd.NaT:
        return None
    return v


def feature_collection(gdf: gpd.GeoDataFrame, properties: Sequence[str] = ()) -> str:
    """A compact GeoJSON FeatureCollection (JS source text) of ``gdf`` in EPSG:4326 with
    only ``properties``; geometries keep the rounding they were read with; empty or missing
    geometries are left out of the drawing."""
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        raise ValueError(f"map layers are EPSG:4326, got {gdf.crs}")
    if len(gdf) == 0:
        return '{"type":"FeatureCollection","features":[]}'
    geoms = gdf.geometry.to_numpy()
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    texts = shapely.to_geojson(geoms[keep])
    props = gdf.loc[keep, list(properties)] if properties else None
    parts = []
    for i, g in enumerate(texts):
        p = {} if props is None else {k: _clean(v) for k, v in props.iloc[i].items()}
        parts.append('{"type":"Feature","geometry":' + g + ',"properties":' + js_json(p) + "}")
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


def bounds_of(gdf: gpd.GeoDataFrame) -> Bounds | None:
    if len(gdf) == 0:
        return None
    b = gdf.total_bounds
    if not np.isfinite(b).all():
        return None
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def label_points(gdf: gpd.GeoDataFrame, column: str) -> list[list]:
    """[lat, lon, text] at a point inside each polygon, for name labels."""
    geoms = gdf.geometry.to_numpy()
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    pts = shapely.point_on_surface(geoms[keep])
    xy = shapely.get_coordinates(pts)
    names = gdf.loc[keep, column].astype(str).tolist()
    return [[round(y, 5), round(x, 5), n] for (x, y), n in zip(xy, names, strict=True)]


# --------------------------------------------------------------------------- elements
class DataLayer(Layer):
    """A GeoJSON layer drawn by ``SafeMap.geojson`` (styles from a table, escaped popups).

    ``data`` is GeoJSON source text (see :func:`feature_collection`) or a :class:`SharedData`
    several layers draw from; ``options`` go to the JS side as they are.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = SafeMap.geojson({{ this.data_js }}, {{ this.options_js }});
        {% endmacro %}
        """
    )

    def __init__(self, data, name: str, options: dict, *, show: bool = True, control=True):
        super().__init__(name=name, overlay=True, control=control, show=show)
        self._name = "DataLayer"
        self.data_js = data.get_name() if isinstance(data, SharedData) else data
        self.options_js = js_json(options)


class PointsLayer(Layer):
    """Tens of thousands of points as circles on one canvas (``SafeMap.points``): rows of
    ``[lat, lon, class, id]`` instead of GeoJSON features."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = SafeMap.points({{ this.data_js }}, {{ this.options_js }});
        {% endmacro %}
        """
    )

    def __init__(self, rows: list[list], name: str, options: dict, *, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PointsLayer"
        self.data_js = js_json({"rows": rows})
        self.options_js = js_json(options)


class LabelLayer(Layer):
    """Names drawn as text (``SafeMap.labels``), hidden below ``min_zoom``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = SafeMap.labels({{ this.rows_js }}, {{ this.options_js }});
        {% endmacro %}
        """
    )

    def __init__(self, rows, name: str, cls: str, *, min_zoom: int | None = None, show=True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "LabelLayer"
        self.rows_js = js_json(rows)
        self.options_js = js_json({"cls": cls, "minZoom": min_zoom})


class SharedData(MacroElement):
    """GeoJSON declared once as a JS variable, for several layers drawing the same shapes
    (one choropleth per figure over the same villages)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.data_js }};
        {% endmacro %}
        """
    )

    def __init__(self, data_js: str):
        super().__init__()
        self._name = "SharedData"
        self.data_js = data_js


class Script(MacroElement):
    """A piece of page script that runs after the layers it names exist."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.code }}
        {% endmacro %}
        """
    )

    def __init__(self, code: str):
        super().__init__()
        self._name = "Script"
        self.code = code


# --------------------------------------------------------------------------- the page
@dataclass
class Page:
    """What a reader sees above and beside the map."""

    title: str
    subtitle: str = ""
    audience: str = "公開版"
    internal: bool = False
    panel_html: str | None = None
    footer: str | None = None
    printable: bool = False
    generated_at: dt.datetime = field(
        default_factory=lambda: dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    )


@dataclass
class MapContext:
    """A map under construction and its legend, in the order the layers were added."""

    map: folium.Map
    page: Page
    legends: list[tuple[Layer, Legend]] = field(default_factory=list)
    exclusive: list[Layer] = field(default_factory=list)
    tile_layer: folium.TileLayer | None = None
    basemap: Basemap | None = None
    assets: AssetLinks = SERVED

    def add(self, layer: Layer, legend: Legend | None = None) -> Layer:
        layer.add_to(self.map)
        if legend is not None:
            self.legends.append((layer, legend))
        return layer

    def layer_names(self) -> list[str]:
        return [
            c.layer_name
            for c in self.map._children.values()
            if isinstance(c, Layer) and c.control and c.overlay
        ]


def new_map(
    page: Page,
    bounds: Bounds | None,
    *,
    basemap: Basemap,
    assets: AssetLinks = SERVED,
) -> MapContext:
    """A folium Map whose page loads only local assets, with the basemap (if any), a plain
    background for when tiles fail, and the page header (and side panel)."""
    m = folium.Map(
        location=_centre(bounds),
        zoom_start=12,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,
        zoom_snap=0.25,
    )
    # Instance lists: folium's class-level defaults (CDN URLs) must not be mutated.
    m.default_js = [
        ("leaflet", assets.vendor("leaflet/dist/leaflet.js")),
        ("safemap_maps", assets.app("safemap-maps.js")),
    ]
    m.default_css = [
        ("leaflet_css", assets.vendor("leaflet/dist/leaflet.css")),
        ("safemap_maps_css", assets.app("safemap-maps.css")),
    ]
    ctx = MapContext(m, page, basemap=basemap, assets=assets)
    if basemap.url:
        tiles = folium.TileLayer(
            tiles=basemap.url,
            attr=basemap.attribution or basemap.name,
            name=basemap.name,
            max_zoom=basemap.max_zoom,
            max_native_zoom=basemap.max_native_zoom,
            overlay=False,
            control=True,
        )
        tiles.add_to(m)
        ctx.tile_layer = tiles
        blank = folium.FeatureGroup(name="純色底圖（不載入圖磚）", overlay=False, show=False)
        blank.add_to(m)
    figure = m.get_root()
    figure.header.add_child(
        Element(f"<title>{html.escape(page.title)}</title>"), name="sm_title", index=0
    )
    figure.html.add_child(Element(_header_html(page)), name="sm_header", index=0)
    if page.panel_html:
        figure.html.add_child(
            Element(f'<aside class="sm-panel" id="sm-panel">{page.panel_html}</aside>'),
            name="sm_panel",
        )
        figure.html.add_child(
            Element("<script>document.body.classList.add('sm-with-panel');</script>"),
            name="sm_panel_flag",
        )
    if bounds is not None:
        w, s, e, n = bounds
        m.fit_bounds([[s, w], [n, e]], padding=(12, 12))
    return ctx


def _centre(bounds: Bounds | None) -> list[float]:
    if bounds is None:
        return [25.01, 121.47]  # Banqiao: New Taipei's city hall
    w, s, e, n = bounds
    return [(s + n) / 2, (w + e) / 2]


def _header_html(page: Page) -> str:
    e = html.escape
    badge_cls = "sm-badge sm-internal" if page.internal else "sm-badge"
    stamp = page.generated_at.strftime("%Y-%m-%d %H:%M")
    sub = e(page.subtitle) + ("　" if page.subtitle else "") + f"資料時間：{stamp}"
    return (
        '<header class="sm-header"><div class="sm-seal">新北</div>'
        f'<div><h1>{e(page.title)}</h1><div class="sm-sub">{sub}</div></div>'
        f'<div class="{badge_cls}">{e(page.audience)}</div></header>'
    )


def finish(ctx: MapContext) -> folium.Map:
    """Add the layer control, the legend, the basemap fallback and (for printable maps)
    the print button; returns the map."""
    m = ctx.map
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    name = m.get_name()
    items = ",".join(
        f"{{layer:{layer.get_name()},html:{js_json(legend.html())}}}"
        for layer, legend in ctx.legends
    )
    code = [f"SafeMap.legend({name}, [{items}]);"]
    if ctx.exclusive:
        code.append(
            f"SafeMap.exclusive({name}, [{','.join(x.get_name() for x in ctx.exclusive)}]);"
        )
    if ctx.tile_layer is not None and ctx.basemap is not None:
        code.append(
            f"SafeMap.basemap({name}, {ctx.tile_layer.get_name()}, "
            f"{js_json({'name': ctx.basemap.name, 'threshold': 3})});"
        )
    if ctx.page.printable:
        code.append(f"SafeMap.printButton({name});")
    if ctx.page.panel_html:
        code.append(f"SafeMap.panel({name}, 'sm-panel');")
    Script("\n".join(code)).add_to(m)
    return m


def render(m: folium.Map) -> str:
    """The map page as HTML text."""
    return m.get_root().render()


def heat_layer(ctx: MapContext, points: list[list[float]], name: str, **options) -> Layer:
    """A leaflet.heat layer (folium's HeatMap with the plugin served locally)."""
    from folium.plugins import HeatMap

    layer = HeatMap(points, name=name, **options)
    # An instance list: HeatMap's class default is a CDN URL.
    layer.default_js = [("leaflet-heat.js", ctx.assets.vendor("leaflet.heat/dist/leaflet-heat.js"))]
    return layer
