"""Offline assets and the basemap of the web maps.

Folium's defaults load Leaflet, jQuery, Bootstrap and awesome-markers from CDNs. The maps
here use none of jQuery, Bootstrap or awesome-markers (popups, legends and markers are built
by ``maps/static/safemap-maps.js``), and Leaflet and its plugins come from the npm packages
installed at setup (``node_modules/``), served by the app under ``/static/vendor/`` or
copied beside maps written to a folder. A map page therefore asks no host but the app's,
except the basemap tiles, which are configurable and may be switched off.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.embedded import REPO_ROOT

# Files of the npm packages a map page may load, by their path under node_modules/. Nothing
# else of node_modules is served.
VENDOR_FILES: tuple[str, ...] = (
    "leaflet/dist/leaflet.js",
    "leaflet/dist/leaflet.css",
    "leaflet/dist/images/layers.png",
    "leaflet/dist/images/layers-2x.png",
    "leaflet/dist/images/marker-icon.png",
    "leaflet/dist/images/marker-icon-2x.png",
    "leaflet/dist/images/marker-shadow.png",
    "leaflet.heat/dist/leaflet-heat.js",
    "leaflet.markercluster/dist/leaflet.markercluster.js",
    "leaflet.markercluster/dist/MarkerCluster.css",
    "leaflet.markercluster/dist/MarkerCluster.Default.css",
    # Drawing and editing shapes on the web application's map pages (api/static/web-*.js).
    "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.js",
    "@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
)
# The maps' own client side, in maps/static/.
APP_FILES: tuple[str, ...] = ("safemap-maps.js", "safemap-maps.css")
APP_DIR = Path(__file__).resolve().parent / "static"

MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}


def node_modules() -> Path:
    """Where the npm packages are: ``SAFEMAP_NODE_MODULES`` or the checkout's node_modules/."""
    env = os.environ.get("SAFEMAP_NODE_MODULES")
    return Path(env) if env else REPO_ROOT / "node_modules"


class MissingAsset(FileNotFoundError):
    """An npm file a map needs is not installed (run ``scripts/setup.sh``)."""


def vendor_path(name: str) -> Path | None:
    """The file behind ``/static/vendor/<name>``, or None when it is not one we serve."""
    if name not in VENDOR_FILES:
        return None
    return node_modules() / name


def app_path(name: str) -> Path | None:
    """The file behind ``/static/maps/<name>``, or None when it is not one we serve."""
    if name not in APP_FILES:
        return None
    return APP_DIR / name


@dataclass(frozen=True)
class AssetLinks:
    """Where a map page finds its scripts and styles: ``base`` + ``/vendor/…`` and
    ``base`` + ``/maps/…``. The app serves them at ``/static``; a map written to a folder
    uses ``static`` (relative) after :func:`copy_assets` put the files there."""

    base: str = "/static"

    def vendor(self, name: str) -> str:
        if name not in VENDOR_FILES:
            raise KeyError(name)
        return f"{self.base}/vendor/{name}"

    def app(self, name: str) -> str:
        if name not in APP_FILES:
            raise KeyError(name)
        return f"{self.base}/maps/{name}"


SERVED = AssetLinks("/static")
RELATIVE = AssetLinks("static")


def copy_assets(out_dir: Path, links: AssetLinks = RELATIVE) -> list[Path]:
    """Copy the files a map page loads under ``out_dir/<links.base>``; returns them."""
    root = out_dir / links.base
    copied = []
    for name in VENDOR_FILES:
        src = node_modules() / name
        if not src.exists():
            raise MissingAsset(f"{src} is missing: run scripts/setup.sh (npm ci)")
        dst = root / "vendor" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        copied.append(dst)
    for name in APP_FILES:
        dst = root / "maps" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(APP_DIR / name, dst)
        copied.append(dst)
    return copied


# --------------------------------------------------------------------------- basemap
NLSC_EMAP = "https://wmts.nlsc.gov.tw/wmts/EMAP/default/GoogleMapsCompatible/{z}/{y}/{x}"
NONE = "none"


class BasemapSettings(BaseSettings):
    """The basemap (``SAFEMAP_BASEMAP_URL`` etc.): the NLSC electronic map by default; any
    XYZ template, or ``none`` for a plain background with the boundary layers only."""

    model_config = SettingsConfigDict(env_prefix="SAFEMAP_BASEMAP_", extra="ignore")

    url: str = Field(default=NLSC_EMAP, description="XYZ/WMTS tile template, or 'none'")
    name: str = "國土測繪中心電子地圖"
    attribution: str = '&copy; <a href="https://maps.nlsc.gov.tw/">內政部國土測繪中心</a>'
    max_zoom: int = 19
    max_native_zoom: int = 19


@dataclass(frozen=True)
class Basemap:
    """A basemap a map is built with (``url`` None: no tiles at all)."""

    url: str | None
    name: str
    attribution: str
    max_zoom: int = 19
    max_native_zoom: int = 19

    @classmethod
    def from_settings(cls, settings: BasemapSettings | None = None) -> Basemap:
        s = settings or BasemapSettings()
        if s.url.strip().lower() == NONE:
            return cls.none()
        return cls(s.url, s.name, s.attribution, s.max_zoom, s.max_native_zoom)

    @classmethod
    def none(cls) -> Basemap:
        return cls(None, "無底圖", "", 19, 19)

    @classmethod
    def parse(cls, value: str | None) -> Basemap:
        """``None``/``nlsc``: the configured default; ``none``: no tiles; else a template."""
        if value is None or value.strip().lower() in ("", "nlsc", "default"):
            return cls.from_settings()
        if value.strip().lower() == NONE:
            return cls.none()
        return cls.from_settings(BasemapSettings(url=value, name="自訂底圖", attribution=""))

    @property
    def origin(self) -> str | None:
        """``scheme://host[:port]`` of the tiles, for the page's Content-Security-Policy."""
        if not self.url:
            return None
        parts = urlsplit(self.url.replace("{s}", "a"))
        return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def content_security_policy(basemap: Basemap) -> str:
    """The CSP a served map page carries: scripts, styles and data from the app only, images
    also from the basemap's host, so no stray CDN request can happen unnoticed."""
    img = "'self' data:"
    if basemap.origin:
        img += f" {basemap.origin}"
    return (
        "default-src 'self'; "
        "script-src 'self' 'unsafe-inline'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; "
        "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'self'"
    )
