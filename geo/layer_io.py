"""Import and export of the spatial layers' files (issue "spatial layers", item 3).

Reading: GeoJSON/TopoJSON, KML and KMZ as Google My Maps writes them (one Folder per map
layer, placemark name, HTML description, ``<ExtendedData><Data name=…>`` fields), Shapefile
(.zip or folder; EPSG:3826/3828/4326; Big5 or UTF-8, via ``geo.vector_io``), GeoPackage (all
layers or a named one) and CSV with lon/lat or TWD97 X/Y columns (UTF-8 or Big5). Every row
is normalised to the columns of one layer kind (:data:`KINDS`) and its geometry checked by
``geo.validation`` into EPSG:3826.

**All or nothing.** :func:`read_layer_file` never raises for a bad *row*: it returns an
:class:`ImportPlan` whose ``problems`` name each row that cannot be placed and why, and whose
``rows`` hold the rows that passed. The caller stores nothing at all when ``problems`` is not
empty (:meth:`ImportPlan.raise_if_problems` raises :class:`~geo.errors.ImportRowsRejected`
for that); whole-file failures (unreadable, too large, no coordinate columns) raise at once.

Writing: :func:`write_geopackage` (EPSG:3826, so a re-import gives identical geometries),
:func:`write_kml` and :func:`write_kmz` (EPSG:4326, one Folder per layer, zh-TW names,
ExtendedData with our fields, so Google My Maps and Google Earth open them and
:func:`read_layer_file` reads them back).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import functools
import io
import json
import logging
import math
import re
import tempfile
import unicodedata
import warnings
import xml.etree.ElementTree as ET
import zipfile
import zlib
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.parsers import expat

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.errors
import pyogrio.raw
import shapely
from pyproj import CRS

from data import reference_text

from . import vector_io
from .enums import CameraOwner, CameraStatus, TimeOfDay
from .errors import (
    ImportEmpty,
    ImportFileError,
    ImportMissingColumns,
    ImportRowsRejected,
    InputTooLarge,
    InvalidGeometry,
    InvalidInput,
    InvalidValue,
    MissingValue,
    NotNumeric,
    TooManyFeatures,
    UnknownCRS,
    UnmappedCategory,
    UnsupportedFormat,
    ValueOutOfRange,
)
from .models import STORAGE_SRID, WEB_SRID
from .validation import (
    DEFAULT_LIMITS,
    REPAIR_UNCLOSED_RING,
    Limits,
    check_counts,
    check_frame,
    check_payload_size,
    check_unpacked_size,
    count_vertices,
)

log = logging.getLogger(__name__)

TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")
STORAGE_CRS = CRS.from_epsg(STORAGE_SRID)
WEB_CRS = CRS.from_epsg(WEB_SRID)

# Columns GDAL's LIBKML driver adds to every KML layer; none of them is user data.
_KML_DRIVER_COLUMNS = frozenset(
    {"id", "timestamp", "begin", "end", "altitudemode", "tessellate", "extrude", "visibility"}
    | {"draworder", "icon", "snippet", "styleurl"}
)
_TAG_RE = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]*>")
_NORM_DROP = re.compile(r"[\s_\-‐–—/／\\、，,.。:：;；()（）\[\]【】「」『』'\"`]+")


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class RowProblem:
    """Why one row cannot be imported.

    ``row`` is the row's number in its source as the user sees it: the line number in a
    spreadsheet for CSV (the header is line 1; ``row_unit`` 列), else the feature's position
    (1-based) in its layer or KML folder (``row_unit`` 筆). ``code`` is the stable code of the
    matching ``geo.errors`` class; ``field`` our column (or the CSV's coordinate column, or
    ``geometry``) the problem is in.
    """

    row: int | None
    layer: str | None
    reason_zh: str
    code: str
    field: str | None = None
    row_unit: str = "筆"

    @property
    def where_zh(self) -> str:
        """Where the row is, in words: 「圖層「照明不足」第 2 筆」, 「第 5 列」."""
        parts = []
        if self.layer:
            parts.append(f"圖層「{self.layer}」")
        if self.row is not None:
            parts.append(f"第 {self.row} {self.row_unit}")
        return "".join(parts) or "檔案"


@dataclass(frozen=True)
class Repair:
    """A repair made to one row's geometry (zh-TW), to show the user with the result."""

    row: int | None
    layer: str | None
    note_zh: str


@dataclass
class ImportPlan:
    """What an import would store.

    Attributes
    ----------
    kind : the layer kind (a key of :data:`KINDS`).
    rows : the rows that passed, EPSG:3826, with the kind's normalised columns plus
        ``source_row`` and ``source_layer``, in source order.
    problems : one entry per problem of a row that did not pass. **When it is not empty the
        caller must store nothing** (imports are all or nothing).
    repairs : geometry repairs made to rows that passed.
    source : what was read (file and layer), for logs and messages.
    layers : the layers (KML folders, GeoPackage tables) that were read.
    """

    kind: str
    rows: gpd.GeoDataFrame
    problems: list[RowProblem]
    repairs: list[Repair]
    source: str
    layers: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_if_problems(self) -> None:
        """Raise :class:`ImportRowsRejected` (with every problem) unless the plan is clean."""
        if not self.problems:
            return
        rows = {(p.layer, p.row) for p in self.problems}
        first = self.problems[0]
        raise ImportRowsRejected(
            f"有 {len(rows)} 筆資料無法匯入（例如{first.where_zh}：{first.reason_zh}），"
            "整批資料都沒有儲存。"
            "請修正後重新匯入。",
            detail=f"{len(self.problems)} problems in {len(rows)} rows of {self.source}",
            problems=list(self.problems),
        )


# --------------------------------------------------------------------------- vocabularies
def _norm(value: Any) -> str:
    """A term as compared: NFKC (full-width → half-width), case-folded, without spaces and
    punctuation, so 「照明 不足」, 「照明不足」 and 「照明_不足」 are the same term."""
    return _NORM_DROP.sub("", unicodedata.normalize("NFKC", str(value)).casefold())


def _has_cjk(term: str) -> bool:
    return any(ord(ch) >= 0x2E80 for ch in term)


@dataclass(frozen=True)
class Vocabulary:
    """Codes with zh-TW labels and synonyms, matched by normalised term."""

    noun: str
    labels: Mapping[str, str]
    terms: Mapping[str, str]

    @classmethod
    def build(cls, noun: str, entries: Iterable[tuple[str, str, Iterable[str]]]) -> Vocabulary:
        labels: dict[str, str] = {}
        terms: dict[str, str] = {}
        for code, label, synonyms in entries:
            labels[code] = label
            for term in (code, label, *synonyms):
                terms.setdefault(_norm(term), code)
        return cls(noun, labels, terms)

    def exact(self, value: Any) -> str | None:
        """The code whose code, label or synonym is ``value`` (normalised)."""
        return self.terms.get(_norm(value))

    def contained(self, value: Any) -> str | None:
        """The one code with a (Chinese) term inside ``value``, e.g. 「照明不足處」; None when
        no code's terms or several codes' terms occur, since guessing there would be wrong."""
        v = _norm(value)
        found = {
            code
            for term, code in self.terms.items()
            if len(term) >= 2 and _has_cjk(term) and term in v
        }
        return found.pop() if len(found) == 1 else None

    def code(self, value: Any) -> str | None:
        """A code from its code or zh-TW label only (for mappings and defaults)."""
        v = _norm(value)
        for code, label in self.labels.items():
            if v in (_norm(code), _norm(label)):
                return code
        return None

    def listing(self) -> str:
        return "、".join(self.labels.values())


@functools.cache
def hazard_vocabulary() -> Vocabulary:
    """The hazard categories of ``data/reference/hazard_categories.json`` with synonyms."""
    raw = json.loads(reference_text("hazard_categories.json"))["categories"]
    return Vocabulary.build("類別", ((c["code"], c["label"], c.get("synonyms", ())) for c in raw))


@functools.cache
def incident_vocabulary() -> Vocabulary:
    """The incident types of ``data/reference/incident_types.json``."""
    raw = json.loads(reference_text("incident_types.json"))["types"]
    return Vocabulary.build(
        "案件類別", ((c["code"], c["label"], c.get("synonyms", ())) for c in raw)
    )


def _checked_mapping(mapping: Mapping[str, str] | None, vocabulary: Vocabulary) -> dict[str, str]:
    """A caller's category mapping with normalised keys and values turned into our codes."""
    out: dict[str, str] = {}
    for source, target in (mapping or {}).items():
        code = vocabulary.code(target)
        if code is None:
            raise UnmappedCategory(
                f"類別對應表中的「{target}」不是系統的{vocabulary.noun}（可用：{vocabulary.listing()}）。",
                detail=f"mapping target {target!r} is not a code",
            )
        out[_norm(source)] = code
    return out


def map_categories(
    values: Iterable[Any],
    mapping: Mapping[str, str] | None = None,
    *,
    folders: Iterable[Any] | None = None,
    default: str | None = None,
    vocabulary: Vocabulary | None = None,
) -> list[str | None]:
    """Our category codes for source category values.

    Each value is looked up in order: the explicit ``mapping`` (source value → our code or
    label), our exact codes and labels, their synonyms, and a unique synonym inside the value;
    when that gives nothing, the same for the row's Google My Maps folder (``folders``, aligned
    with ``values``). Comparison ignores case, full/half width, spaces and punctuation.

    Parameters
    ----------
    values : the source's category values (None or blank when absent).
    mapping : source value → our code (or label); checked, keys compared normalised.
    folders : the KML folder / layer name of each row.
    default : code for rows that map to nothing (e.g. ``"other"``); None leaves them None,
        which an import reports as a problem.
    vocabulary : hazard categories unless given.

    Raises
    ------
    UnmappedCategory
        when ``mapping`` or ``default`` names something that is not one of our categories.
    """
    vocab = vocabulary or hazard_vocabulary()
    explicit = _checked_mapping(mapping, vocab)
    fallback = None
    if default is not None:
        fallback = vocab.code(default)
        if fallback is None:
            raise UnmappedCategory(
                f"預設類別「{default}」不是系統的{vocab.noun}（可用：{vocab.listing()}）。",
                detail=f"default {default!r} is not a code",
            )
    values = list(values)
    folder_list = list(folders) if folders is not None else [None] * len(values)
    if len(folder_list) != len(values):
        raise ValueError("folders must align with values")
    out: list[str | None] = []
    for value, folder in zip(values, folder_list, strict=True):
        code = None
        for candidate in (value, folder):
            if _blank(candidate):
                continue
            code = (
                explicit.get(_norm(candidate))
                or vocab.exact(candidate)
                or vocab.contained(candidate)
            )
            if code:
                break
        out.append(code or fallback)
    return out


# --------------------------------------------------------------------------- value parsing
def _blank(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


class _HTMLText(HTMLParser):
    _BLOCK = frozenset({"br", "p", "div", "li", "tr", "table", "ul", "ol", "h1", "h2", "h3"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(value: str) -> str:
    """Plain text of an HTML fragment (KML descriptions are HTML, often in CDATA): tags
    dropped, line breaks kept, entities decoded, blank lines and runs of spaces collapsed."""
    if not _TAG_RE.search(value) and "&" not in value:
        return value.strip()
    parser = _HTMLText()
    parser.feed(value)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _text(max_len: int | None = None) -> Callable[[Any, str], str]:
    def parse(value: Any, label: str) -> str:
        text = html_to_text(str(value))
        if max_len is not None and len(text) > max_len:
            raise ValueOutOfRange(
                f"「{label}」太長（{len(text)} 字，上限 {max_len} 字）。",
                detail=f"{label}: {len(text)} > {max_len} chars",
            )
        return text

    return parse


def _as_number(value: Any, label: str) -> float:
    if isinstance(value, bool):
        raise NotNumeric(f"「{label}」必須是數字（目前是「{value}」）。", detail=f"{label}: bool")
    if isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        try:
            number = float(text)
        except ValueError:
            raise NotNumeric(
                f"「{label}」必須是數字（目前是「{value}」）。",
                detail=f"{label}: not a number: {value!r}",
            ) from None
    if not math.isfinite(number):
        raise NotNumeric(
            f"「{label}」必須是有限的數字（目前是「{value}」）。", detail=f"{label}: {value!r}"
        )
    return number


def _range_error(label: str, value: Any, low: float, high: float) -> ValueOutOfRange:
    return ValueOutOfRange(
        f"「{label}」的值 {value} 超出範圍（須在 {_fmt(low)} 到 {_fmt(high)} 之間）。",
        detail=f"{label}: {value} not in [{low}, {high}]",
    )


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _integer(low: int, high: int) -> Callable[[Any, str], int]:
    def parse(value: Any, label: str) -> int:
        number = _as_number(value, label)
        if not number.is_integer():
            raise InvalidValue(
                f"「{label}」必須是整數（目前是「{value}」）。", detail=f"{label}: {value!r}"
            )
        if not low <= number <= high:
            raise _range_error(label, _fmt(number), low, high)
        return int(number)

    return parse


def _number(low: float, high: float, *, low_open: bool = False) -> Callable[[Any, str], float]:
    def parse(value: Any, label: str) -> float:
        number = _as_number(value, label)
        if number < low or number > high or (low_open and number == low):
            raise _range_error(label, _fmt(number), low, high)
        return number

    return parse


def _bearing(value: Any, label: str) -> float:
    # A direction: 360 and -90 name the same bearings as 0 and 270 (as workflow.layers does).
    return _as_number(value, label) % 360.0


def _choice(vocabulary: Vocabulary) -> Callable[[Any, str], str]:
    def parse(value: Any, label: str) -> str:
        code = vocabulary.exact(value)
        if code is None:
            raise InvalidValue(
                f"「{label}」的值「{value}」不是可用的選項（可用：{vocabulary.listing()}）。",
                detail=f"{label}: {value!r} not in {list(vocabulary.labels)}",
            )
        return code

    return parse


_DATE_RE = re.compile(r"^\s*(\d{2,4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_TIME_RE = re.compile(r"(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?")


def _parse_date(value: Any, label: str) -> dt.date:
    if isinstance(value, dt.datetime | pd.Timestamp):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    text = unicodedata.normalize("NFKC", str(value))
    m = _DATE_RE.match(text)
    if m:
        year, month, day = (int(g) for g in m.groups())
        if year < 1000:  # 民國 (ROC) years, as Taiwanese forms write them: 113 → 2024
            year += 1911
        with contextlib.suppress(ValueError):
            return dt.date(year, month, day)
    raise InvalidValue(
        f"「{label}」不是可辨識的日期（目前是「{value}」；例如 2024-05-01 或 113/05/01）。",
        detail=f"{label}: bad date {value!r}",
    )


def _parse_datetime(value: Any, label: str) -> dt.datetime:
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value).to_pydatetime()
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=TAIPEI)
    day = _parse_date(value, label)
    text = unicodedata.normalize("NFKC", str(value))
    date_part = _DATE_RE.match(text)
    m = _TIME_RE.search(text, date_part.end() if date_part else 0)
    hour = minute = second = 0
    if m:
        hour, minute, second = int(m[1]), int(m[2]), int(m[3] or 0)
    try:
        return dt.datetime.combine(day, dt.time(hour, minute, second), tzinfo=TAIPEI)
    except ValueError:
        raise InvalidValue(
            f"「{label}」的時間不正確（目前是「{value}」）。", detail=f"{label}: {value!r}"
        ) from None


# --------------------------------------------------------------------------- layer kinds
@dataclass(frozen=True)
class FieldSpec:
    """One normalised column of a layer kind and the source columns that fill it."""

    name: str
    label: str
    aliases: tuple[str, ...]
    parse: Callable[[Any, str], Any]
    default: Any = None
    required: bool = False


@dataclass(frozen=True)
class KindSpec:
    """A layer kind as imports see it: geometry types (as the tables' constraints allow),
    columns, and the column that takes a category from a vocabulary (or from the folder)."""

    name: str
    title: str
    geometry_types: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    category: FieldSpec | None = None
    vocabulary: Callable[[], Vocabulary] | None = None

    @property
    def columns(self) -> list[str]:
        names = [f.name for f in self.fields]
        return ([self.category.name] if self.category else []) + names


def _time_of_day() -> Vocabulary:
    synonyms = {
        "day": ("日間", "白晝", "早上", "上午", "下午", "白天時段"),
        "night": ("夜晚", "晚上", "深夜", "夜", "晚間", "夜間時段"),
        "both": ("全日", "整天", "日夜", "皆是", "都有", "24小時", "全時段"),
    }
    return Vocabulary.build("時段", ((m.value, m.label, synonyms[m.value]) for m in TimeOfDay))


def _day_or_night() -> Vocabulary:
    full = _time_of_day()
    return Vocabulary(
        "時段",
        {k: v for k, v in full.labels.items() if k != "both"},
        {t: c for t, c in full.terms.items() if c != "both"},
    )


def _camera_status() -> Vocabulary:
    synonyms = {
        "existing": ("現有", "已有", "原有"),
        "proposed": ("建議", "擬設置", "規劃", "規劃中", "新設", "提案"),
        "approved": ("核准", "通過"),
        "installed": ("已設置", "已安裝", "裝設完成", "已建置"),
        "rejected": ("駁回", "不設置", "未核准"),
    }
    return Vocabulary.build(
        "設置狀態", ((m.value, m.label, synonyms[m.value]) for m in CameraStatus)
    )


def _camera_owner() -> Vocabulary:
    synonyms = {
        "police": ("警察", "警方", "警察局", "警察分局", "分局", "派出所"),
        "community": ("社區自設", "里辦公處", "村里", "社區發展協會"),
        "private": ("民間", "住戶", "商家", "私人設置"),
    }
    return Vocabulary.build("權屬", ((m.value, m.label, synonyms[m.value]) for m in CameraOwner))


_BEARING_ALIASES = (
    "bearing_deg", "bearing", "azimuth", "heading", "方向", "方向角", "方位", "方位角", "鏡頭方向",
    "拍攝方向", "朝向",
)  # fmt: skip
_NAME = ("name", "名稱", "標題", "title", "地點名稱", "地點")
_DESCRIPTION = ("description", "說明", "描述", "內容", "問題描述", "狀況說明", "備註", "desc")

_HAZARDS = KindSpec(
    name="hazards",
    title="安全檢測地圖（問題點）",
    geometry_types=("Point", "LineString", "Polygon", "MultiLineString", "MultiPolygon"),
    category=FieldSpec(
        "category",
        "類別",
        ("category", "類別", "類型", "分類", "問題類別", "問題類型", "種類", "項目", "type"),
        str,
    ),
    vocabulary=hazard_vocabulary,
    fields=(
        FieldSpec(
            "severity",
            "嚴重程度",
            ("severity", "嚴重程度", "嚴重度", "危險程度", "風險等級", "等級", "程度"),
            _integer(1, 5),
            default=3,
        ),
        FieldSpec(
            "time_of_day",
            "時段",
            ("time_of_day", "時段", "發生時段", "時間帶", "日夜"),
            _choice(_time_of_day()),
            default=TimeOfDay.both.value,
        ),
        FieldSpec("description", "說明", _DESCRIPTION, _text(), default=""),
        FieldSpec("name", "名稱", _NAME, _text(128)),
    ),
)

_CAMERAS = KindSpec(
    name="cameras",
    title="錄影監視器",
    geometry_types=("Point",),
    fields=(
        FieldSpec(
            "bearing_deg",
            "方向角",
            _BEARING_ALIASES,
            _bearing,
            required=True,
        ),
        FieldSpec(
            "fov_deg",
            "視角",
            ("fov_deg", "fov", "視角", "視野", "視野角度", "水平視角"),
            _number(1, 360),
            required=True,
        ),
        FieldSpec(
            "range_m",
            "拍攝距離",
            ("range_m", "range", "距離", "拍攝距離", "可視距離", "有效距離", "監視距離"),
            _number(1, 500),
            required=True,
        ),
        FieldSpec(
            "height_m",
            "架設高度",
            ("height_m", "height", "高度", "架設高度", "安裝高度"),
            _number(0, 50),
        ),
        FieldSpec(
            "status",
            "設置狀態",
            ("status", "狀態", "設置狀態"),
            _choice(_camera_status()),
            default=CameraStatus.proposed.value,
        ),
        FieldSpec(
            "owner",
            "權屬",
            ("owner", "權屬", "所有者", "設置單位", "管理單位"),
            _choice(_camera_owner()),
            default=CameraOwner.community.value,
        ),
        FieldSpec("name", "名稱", (*_NAME, "編號", "監視器編號"), _text(128)),
        FieldSpec("note", "備註", ("note", *_DESCRIPTION), _text()),
    ),
)

_INCIDENTS = KindSpec(
    name="incidents",
    title="案件（分析用）",
    geometry_types=("Point",),
    category=FieldSpec("type", "案件類別", ("type", "案類", "案件類別", "類別", "category"), str),
    vocabulary=incident_vocabulary,
    fields=(
        FieldSpec(
            "occurred_at",
            "發生時間",
            ("occurred_at", "發生時間", "發生日期", "時間", "日期", "date"),
            _parse_datetime,
            required=True,
        ),
        FieldSpec(
            "precision_m",
            "位置精確度",
            ("precision_m", "precision", "精確度", "誤差"),
            _number(0, 5_000),
            default=10.0,
        ),
        FieldSpec("source", "資料來源", ("source", "來源", "資料來源"), _text(64)),
    ),
)

_PATROL_BLOCKS = KindSpec(
    name="patrol_blocks",
    title="治安區塊",
    geometry_types=("Polygon",),
    fields=(
        FieldSpec(
            "name",
            "區塊名稱",
            ("name", "區塊名稱", "區塊", "名稱", "title"),
            _text(64),
            required=True,
        ),
        FieldSpec("risk", "風險", ("risk", "風險", "風險值"), _number(0, 1e9), default=0.0),
    ),
)

_PATROL_ROUTES = KindSpec(
    name="patrol_routes",
    title="巡守路線",
    geometry_types=("LineString", "MultiLineString"),
    fields=(
        FieldSpec(
            "team_name",
            "巡守隊",
            ("team_name", "team", "巡守隊", "隊名", "巡守隊名稱", "守望相助隊"),
            _text(128),
            required=True,
        ),
        FieldSpec("name", "路線名稱", ("name", "路線名稱", "路線", "名稱", "title"), _text(128)),
    ),
)

_SAFETY_MEETINGS = KindSpec(
    name="safety_meetings",
    title="社區治安會議",
    geometry_types=("Point",),
    fields=(
        FieldSpec(
            "held_on", "會議日期", ("held_on", "會議日期", "日期", "date"), _parse_date, required=True
        ),
        FieldSpec(
            "place", "會議地點", ("place", "會議地點", "地點", "name", "名稱"), _text(128), required=True
        ),
        FieldSpec("attendees", "出席人數", ("attendees", "出席人數", "人數"), _integer(0, 100_000), default=0),
        FieldSpec("attendee_names", "出席人員", ("attendee_names", "出席人員", "出席者"), _text()),
        FieldSpec("minutes", "會議紀錄", ("minutes", "會議紀錄", "紀錄", "記錄", *_DESCRIPTION), _text(), default=""),
    ),
)  # fmt: skip

# The nine women's-safety audit parameters, scored 0-3 (geo.models.AUDIT_PARAMETERS).
_AUDIT_SCORES = (
    ("lighting", "照明"),
    ("openness", "開闊度"),
    ("visibility", "能見度"),
    ("people", "人潮"),
    ("security", "保全／警力"),
    ("walk_path", "步行路徑"),
    ("transport", "大眾運輸"),
    ("gender_usage", "性別使用"),
    ("feeling", "安全感受"),
)

_SAFETY_AUDITS = KindSpec(
    name="safety_audits",
    title="婦幼安全檢測（步行稽核）",
    geometry_types=("LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    fields=(
        FieldSpec("place_name", "地點名稱", ("place_name", "地點名稱", "地點", "name", "名稱"), _text(128), required=True),
        FieldSpec("period", "時段", ("period", "時段", "稽核時段"), _choice(_day_or_night()), required=True),
        FieldSpec("audited_on", "稽核日期", ("audited_on", "稽核日期", "日期", "date"), _parse_date, required=True),
        FieldSpec("auditors", "稽核人員", ("auditors", "稽核人員", "檢測人員"), _text()),
        *(FieldSpec(code, label, (code, label), _integer(0, 3), required=True) for code, label in _AUDIT_SCORES),
        FieldSpec("notes", "備註", ("notes", *_DESCRIPTION), _text(), default=""),
    ),
)  # fmt: skip

KINDS: dict[str, KindSpec] = {
    k.name: k
    for k in (
        _HAZARDS,
        _CAMERAS,
        _INCIDENTS,
        _PATROL_BLOCKS,
        _PATROL_ROUTES,
        _SAFETY_MEETINGS,
        _SAFETY_AUDITS,
    )
}
_KIND_ALIASES = {"meetings": "safety_meetings", "audits": "safety_audits"}
LAYER_TITLES: dict[str, str] = {k.name: k.title for k in KINDS.values()}


def kind_spec(kind: str) -> KindSpec:
    spec = KINDS.get(_KIND_ALIASES.get(kind, kind))
    if spec is None:
        raise InvalidInput(
            f"沒有「{kind}」這個圖層類型（可用：{'、'.join(KINDS)}）。",
            detail=f"unknown kind {kind!r}",
        )
    return spec


# --------------------------------------------------------------------------- raw tables
@dataclass
class _Raw:
    """One layer as read, before normalisation: attributes, geometries in ``crs``."""

    layer: str
    frame: pd.DataFrame
    geoms: np.ndarray
    crs: CRS | None
    rows: np.ndarray
    folder_is_category: bool = False
    errors: dict[int, InvalidInput] = field(default_factory=dict)
    repairs: dict[int, list[str]] = field(default_factory=dict)
    field_errors: dict[int, list[RowProblem]] = field(default_factory=dict)
    row_unit: str = "筆"  # CSV rows are spreadsheet lines: 列


@dataclass
class _Opened:
    raws: list[_Raw]
    description: str


def read_layer_file(
    source: str | Path | bytes,
    *,
    kind: str,
    filename: str | None = None,
    layer: str | Iterable[str] | None = None,
    category_mapping: Mapping[str, str] | None = None,
    default_category: str | None = None,
    defaults: Mapping[str, Any] | None = None,
    crs: CRS | str | int | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ImportPlan:
    """Read a file into an :class:`ImportPlan` for one layer kind.

    Parameters
    ----------
    source : a path (file, shapefile folder, .zip/.kmz) or the uploaded bytes.
    kind : a key of :data:`KINDS` (``hazards``, ``cameras``, ``incidents``, ``patrol_blocks``,
        ``patrol_routes``, ``safety_meetings``, ``safety_audits``).
    filename : the upload's name when ``source`` is bytes (its suffix helps tell CSV from
        other text; its stem names a GeoJSON or CSV layer).
    layer : read only this layer (KML folder, GeoPackage table), or these layers. Without it
        every layer is read, except that a file holding a layer named after ``kind`` or its zh-TW title
        (as our own exports do) is read from that layer only.
    category_mapping : source category (a value or a KML folder name) → our code or label.
    default_category : code for rows whose category maps to nothing (e.g. ``"other"``);
        without it such rows are problems.
    defaults : values for columns the file lacks, e.g. ``{"status": "existing",
        "owner": "police"}`` for a precinct's camera list; checked like file values.
    crs : the coordinates' CRS when the file declares none or declares a wrong one
        (EPSG:3828 shapefiles without .prj, TWD67 CSVs).
    limits : size limits.

    Raises
    ------
    InputTooLarge (and its TooManyFeatures, TooManyVertices), ImportFileError (and its
    UnsupportedFormat, ImportEmpty, ImportMissingColumns, UnknownCRS), UnmappedCategory for a
    bad ``category_mapping``/``default_category``, InvalidInput for a bad ``kind``/``defaults``.
    """
    spec = kind_spec(kind)
    crs_override = CRS.from_user_input(crs) if crs is not None else None
    with _materialise(source, filename, limits) as path:
        opened = _open(path, layer=layer, kind=spec, crs=crs_override, limits=limits)
    return _plan(
        spec,
        opened,
        category_mapping=category_mapping,
        default_category=default_category,
        defaults=defaults,
        limits=limits,
    )


@contextlib.contextmanager
def _materialise(
    source: str | Path | bytes, filename: str | None, limits: Limits
) -> Iterator[Path]:
    """A path GDAL can open; uploaded bytes go to a private temporary folder."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        check_payload_size(len(data), limits)
        with tempfile.TemporaryDirectory(prefix="safemap-import-") as tmp:
            path = Path(tmp) / _safe_name(filename)
            path.write_bytes(data)
            yield path
        return
    path = Path(source)
    if not path.exists():
        raise ImportFileError(f"找不到檔案：{path.name}", detail=f"no such file: {path}")
    size = (
        sum(f.stat().st_size for f in path.iterdir() if f.is_file())
        if path.is_dir()
        else path.stat().st_size
    )
    check_payload_size(size, limits)
    yield path


def _safe_name(filename: str | None) -> str:
    # Only the last component, without characters a path or GDAL would read specially; the
    # stem survives as the layer name of single-layer files.
    name = Path((filename or "").replace("\\", "/")).name
    name = re.sub(r"[\x00-\x1f{}/:*?\"<>|]", "_", name).strip(" .")
    return name[:120] or "upload"


# --------------------------------------------------------------------------- formats


def _sniff(path: Path) -> str:
    """The format of ``path`` from its content (the suffix only separates CSV from other
    text): ``shapefile``, ``zip``, ``gpkg``, ``geojson``, ``kml``, ``gdal``, ``csv``."""
    if path.is_dir():
        return "shapefile"
    with path.open("rb") as f:
        head = f.read(8192)
    if not head.strip():
        raise ImportEmpty("檔案是空的。", detail=f"{path.name}: empty file")
    suffix = path.suffix.lower()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if suffix == ".shp" or head.startswith(b"\x00\x00\x27\x0a"):
        return "shapefile"
    if head.startswith(b"fgb"):
        return "gdal"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "geojson"
    if text[:1] == b"<":
        if b"<kml" in head or b"opengis.net/kml" in head:
            return "kml"
        raise UnsupportedFormat(
            "這是 XML 或網頁檔案，不是 KML；請上傳 KML、KMZ、GeoJSON、Shapefile（.zip）、"
            "GeoPackage 或 CSV。",
            detail=f"{path.name}: XML/HTML without <kml>",
        )
    if b"\x00" not in head and suffix in (".csv", ".txt", ".tsv", ""):
        return "csv"
    if b"\x00" not in head and _looks_like_csv(head):
        return "csv"
    raise UnsupportedFormat(
        "無法辨識的檔案格式；請上傳 KML、KMZ、GeoJSON、Shapefile（.zip）、GeoPackage 或 CSV。",
        detail=f"{path.name}: unrecognised content {head[:16]!r}",
    )


def _looks_like_csv(head: bytes) -> bool:
    first = head.split(b"\n", 1)[0]
    return any(sep in first for sep in (b",", b"\t", b";"))


def _open(
    path: Path,
    *,
    layer: str | Iterable[str] | None,
    kind: KindSpec,
    crs: CRS | None,
    limits: Limits,
) -> _Opened:
    fmt = _sniff(path)
    if fmt == "csv":
        return _open_csv(path.read_bytes(), path.stem, crs, limits)
    if fmt == "kml":
        _check_kml(path.read_bytes(), path.name)
    if fmt == "zip":
        fmt, member = _inspect_zip(path, limits)
        if fmt == "csv":
            return _open_csv(*_zip_csv(path), crs, limits)
        if fmt == "kml":
            # The KML checked above, not whichever vector file vector_io would pick; the
            # braces let GDAL open an archive whatever its name (as in vector_io).
            source = vector_io.Source(f"/vsizip/{{{path}}}/{member}", None, f"{path.name}/{member}")
            return _open_gdal(source, fmt=fmt, layer=layer, kind=kind, crs=crs, limits=limits)
    source = vector_io.resolve(path)
    return _open_gdal(source, fmt=fmt, layer=layer, kind=kind, crs=crs, limits=limits)


def _inspect_zip(path: Path, limits: Limits) -> tuple[str, str | None]:
    """Check an archive's unpacked size and say what it holds: ``kml`` (a KMZ, with its main
    document), ``csv`` or ``gdal`` (a shapefile, GeoPackage, GeoJSON … for vector_io)."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.filename.startswith("__MACOSX")]
            check_unpacked_size(sum(i.file_size for i in infos), limits)
            names = [i.filename for i in infos if not i.is_dir()]
            suffixes = {Path(n).suffix.lower() for n in names}
            if ".shp" in suffixes or suffixes & {".gpkg", ".geojson", ".json", ".topojson"}:
                return "gdal", None
            kml = _kml_member(names)
            if kml is not None:
                _check_kml(zf.read(kml), f"{path.name}/{kml}")  # reading checks its CRC too
                return "kml", kml
            if ".csv" in suffixes:
                return "csv", None
            return "gdal", None  # vector_io explains what is missing
    # a truncated archive ends in BadZipFile or EOFError; a damaged deflate stream in zlib.error
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
        raise ImportFileError(
            "壓縮檔（ZIP／KMZ）已損毀或不完整。", detail=f"{path.name}: {exc}"
        ) from exc
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or Deflate64 and the like
        raise ImportFileError(
            "壓縮檔有密碼保護或使用不支援的壓縮方式，請解壓縮後重新壓成一般 ZIP 檔。",
            detail=f"{path.name}: {exc}",
        ) from exc


def _kml_member(names: list[str]) -> str | None:
    kmls = sorted(n for n in names if n.lower().endswith(".kml"))
    # A KMZ's main document is doc.kml by convention, else its first .kml at the root.
    for n in kmls:
        if n.lower() == "doc.kml":
            return n
    return kmls[0] if kmls else None


def _zip_csv(path: Path) -> tuple[bytes, str]:
    with zipfile.ZipFile(path) as zf:
        name = sorted(n for n in zf.namelist() if n.lower().endswith(".csv"))[0]
        return zf.read(name), Path(name).stem


def _check_kml(raw: bytes, name: str) -> None:
    """Refuse KML that is not well-formed, declares a DTD (entity expansion), or holds only a
    network link (Google My Maps' "keep data up to date" export carries no placemarks)."""
    head = raw[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in raw.lower():
        raise ImportFileError(
            "KML 檔案含有不允許的 DTD／實體宣告。", detail=f"{name}: DOCTYPE or ENTITY"
        )
    parser = expat.ParserCreate()
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        raise ImportFileError(
            f"KML 檔案不完整或格式錯誤（第 {exc.lineno} 行附近），請重新匯出後再上傳。",
            detail=f"{name}: {exc}",
        ) from exc
    if b"<placemark" not in raw.lower():
        if b"<networklink" in raw.lower():
            raise ImportFileError(
                "這個 KML 只有網路連結（NetworkLink），沒有地標資料。請在 Google 我的地圖「匯出為"
                " KML/KMZ」時，取消「保持資料在最新狀態（網路連結）」的選項後重新下載。",
                detail=f"{name}: NetworkLink only",
            )
        raise ImportEmpty("KML 檔案中沒有任何地標。", detail=f"{name}: no Placemark")


def _gdal_error(description: str, exc: Exception) -> ImportFileError:
    return ImportFileError("無法讀取檔案：格式不正確或檔案已損毀。", detail=f"{description}: {exc}")


def _open_gdal(
    source: vector_io.Source,
    *,
    fmt: str,
    layer: str | Iterable[str] | None,
    kind: KindSpec,
    crs: CRS | None,
    limits: Limits,
) -> _Opened:
    if fmt == "kml":
        # LIBKML launders ExtendedData field names to ASCII by default (「嚴重程度」 becomes
        # "____"); ours are Chinese. A process-wide GDAL option, harmless to other readers.
        pyogrio.set_gdal_config_options({"LIBKML_LAUNDER_FIELD_NAMES": "NO"})
    try:
        listed = pyogrio.list_layers(source.gdal_path)
    except (pyogrio.errors.DataSourceError, RuntimeError) as exc:
        raise _gdal_error(source.description, exc) from exc
    # GeoPackage attribute tables (no geometry column) are not layers to import.
    names = [str(n) for n, geometry_type in listed if fmt != "gpkg" or geometry_type is not None]
    if layer is not None:
        wanted = [layer] if isinstance(layer, str) else list(layer)
        for name in wanted:
            if name not in names:
                raise ImportFileError(
                    f"檔案中沒有名為「{name}」的圖層（有：{'、'.join(names) or '無'}）。",
                    detail=f"{source.description}: no layer {name!r}",
                )
        names = wanted
    else:
        own = [n for n in names if n in (kind.name, kind.title)]
        names = own[:1] or names
    if len(names) > limits.max_layers:
        raise InputTooLarge(
            f"檔案有 {len(names)} 個圖層，超過上限 {limits.max_layers} 個。",
            detail=f"{len(names)} layers > {limits.max_layers}",
        )
    raws: list[_Raw] = []
    total = 0
    for name in names:
        budget = limits.max_features - total
        raw = _read_gdal_layer(source, name, budget, limits.max_features, fmt=fmt, crs=crs)
        if raw is None:
            continue
        total += len(raw.geoms)
        raws.append(raw)
    if not raws or total == 0:
        raise ImportEmpty("檔案中沒有任何圖徵。", detail=f"{source.description}: 0 features")
    vertices = sum(int(count_vertices(r.geoms).sum()) for r in raws)
    check_counts(total, vertices, limits)
    return _Opened(raws, source.description)


def _read_gdal_layer(
    source: vector_io.Source, layer: str, budget: int, limit: int, *, fmt: str, crs: CRS | None
) -> _Raw | None:
    # Reading stops one feature past what the file may still hold, so a huge file is refused
    # without being read in full.
    try:
        with warnings.catch_warnings():
            # GDAL accepts unclosed rings with this warning; they are closed and reported below.
            warnings.filterwarnings("ignore", message="Non closed ring", category=RuntimeWarning)
            meta, _, wkb, values = pyogrio.raw.read(
                source.gdal_path,
                layer=layer,
                encoding=source.encoding,
                max_features=budget + 1,
            )
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, RuntimeError) as exc:
        raise _gdal_error(source.description, exc) from exc
    if len(wkb) > budget:
        raise TooManyFeatures(
            f"檔案的圖徵超過上限 {limit:,} 筆；請分批匯入。",
            detail=f"layer {layer}: more than {budget} features left of {limit}",
            limit=limit,
        )
    if len(wkb) == 0:
        return None
    frame = pd.DataFrame(dict(zip(meta["fields"], values, strict=True)), index=range(len(wkb)))
    if fmt == "kml":
        frame = frame[[c for c in frame.columns if c.lower() not in _KML_DRIVER_COLUMNS]]
    geoms, errors, repairs = _parse_wkb(wkb)
    declared = CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
    layer_crs = crs or _layer_crs(declared, geoms, source)
    return _Raw(
        layer=layer,
        frame=frame,
        geoms=geoms,
        crs=layer_crs,
        rows=np.arange(1, len(geoms) + 1),
        # KML folders and GeoPackage tables are named by their authors after what they hold
        # (「照明不足」); a shapefile's or GeoJSON's layer is just its file name.
        folder_is_category=source.gdal_path.lower().endswith((".kml", ".gpkg")),
        errors=errors,
        repairs=repairs,
    )


def _parse_wkb(
    wkb: np.ndarray,
) -> tuple[np.ndarray, dict[int, InvalidInput], dict[int, list[str]]]:
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    errors: dict[int, InvalidInput] = {}
    repairs: dict[int, list[str]] = {}
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        if wkb[i] is None:
            continue  # no geometry at all: validation reports it
        # shapely's "fix" closes unclosed rings and does nothing else; GDAL lets such rings
        # through from KML and GeoJSON.
        fixed = shapely.from_wkb(wkb[i], on_invalid="fix")
        if fixed is not None:
            geoms[i] = fixed
            repairs[i] = [REPAIR_UNCLOSED_RING]
        else:
            errors[i] = InvalidGeometry(
                "圖形資料無法解讀（例如線只有一個點）。", detail="unreadable WKB"
            )
    return geoms, errors, repairs


def _layer_crs(declared: CRS | None, geoms: np.ndarray, source: vector_io.Source) -> CRS:
    description = source.description
    finite = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    bounds = shapely.total_bounds(finite) if len(finite) else np.full(4, np.nan)
    if declared is None:
        if not np.isfinite(bounds).all():
            raise UnknownCRS(
                "無法判斷座標系統：檔案未宣告座標系統。", detail=f"{description}: no CRS"
            )
        frame = gpd.GeoDataFrame(geometry=list(finite))
        return vector_io.guess_crs(frame)
    if (
        source.gdal_path.lower().endswith((".geojson", ".json"))
        and declared.equals(WEB_CRS)
        and np.isfinite(bounds).all()
        and _within(bounds, vector_io.TAIWAN_TM2)
    ):
        # As in vector_io.read: GeoJSON is lon/lat by definition, but older government
        # GeoJSON holds TM2 metres; numbers in the hundreds of thousands cannot be degrees.
        log.warning("%s: declared lon/lat but holds TM2 metres; using EPSG:3826", description)
        return STORAGE_CRS
    return declared


def _within(bounds: np.ndarray, window: tuple[float, ...]) -> bool:
    return bool(
        bounds[0] >= window[0]
        and bounds[1] >= window[1]
        and bounds[2] <= window[2]
        and bounds[3] <= window[3]
    )


# --------------------------------------------------------------------------- CSV
_LON = ("lon", "lng", "long", "longitude", "經度", "x", "東經", "wgs84經度", "經度x")
_LAT = ("lat", "latitude", "緯度", "y", "北緯", "wgs84緯度", "緯度y")
_TWD97_X = (
    "twd97x", "x坐標", "x座標", "橫坐標", "橫座標", "twd97橫坐標", "twd97橫座標", "坐標x", "座標x",
    "x97", "twd97x坐標", "twd97x座標", "e", "easting", "東座標", "東坐標",
)  # fmt: skip
_TWD97_Y = (
    "twd97y", "y坐標", "y座標", "縱坐標", "縱座標", "twd97縱坐標", "twd97縱座標", "坐標y", "座標y",
    "y97", "twd97y坐標", "twd97y座標", "n", "northing", "北座標", "北坐標",
)  # fmt: skip


def _decode(raw: bytes, name: str) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")  # Excel's "Unicode text"
    for encoding in ("utf-8-sig", "cp950", "big5hkscs"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportFileError(
        "無法辨識 CSV 的文字編碼；請存成 UTF-8 或 Big5。", detail=f"{name}: not UTF-8 nor Big5"
    )


def _coordinate_columns(columns: list[str]) -> tuple[str, str, str] | None:
    """The (x, y, label) columns of a CSV: TWD97 names first, then lon/lat names."""
    normalised = {_norm(c).replace("(", "").replace(")", ""): c for c in columns}

    def find(aliases: tuple[str, ...]) -> str | None:
        for alias in aliases:
            if alias in normalised:
                return normalised[alias]
        return None

    for xs, ys, label in ((_TWD97_X, _TWD97_Y, "TWD97 X/Y"), (_LON, _LAT, "經度/緯度")):
        x, y = find(xs), find(ys)
        if x is not None and y is not None:
            return x, y, label
    return None


def _open_csv(raw: bytes, name: str, crs: CRS | None, limits: Limits) -> _Opened:
    text = _decode(raw, name)
    first = text.split("\n", 1)[0]
    sep = max((",", "\t", ";"), key=first.count)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skip_blank_lines=True
        )
    except pd.errors.EmptyDataError as exc:
        raise ImportEmpty("CSV 檔案是空的。", detail=f"{name}: {exc}") from exc
    except pd.errors.ParserError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"第 {line[1]} 列" if line else "某一列"
        raise ImportFileError(
            f"CSV 檔案格式錯誤：{where}的欄位數與標題列不同（可能有未加引號的逗號）。",
            detail=f"{name}: {exc}",
        ) from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.empty:
        raise ImportEmpty("CSV 檔案中沒有任何資料列。", detail=f"{name}: header only")
    found = _coordinate_columns(list(frame.columns))
    if found is None:
        raise ImportMissingColumns(
            "CSV 檔案找不到座標欄位：需要經度與緯度（lon/lat、經度/緯度）"
            "或 TWD97 X/Y（TWD97X/TWD97Y、X坐標/Y坐標）欄位。",
            detail=f"{name}: no coordinate columns in {list(frame.columns)}",
            missing=["lon/lat", "TWD97X/TWD97Y"],
        )
    x_col, y_col, _ = found
    check_counts(len(frame), len(frame), limits)
    rows = np.arange(2, len(frame) + 2)  # as a spreadsheet numbers them, the header is 1
    xy = np.full((len(frame), 2), np.nan)
    field_errors: dict[int, list[RowProblem]] = {}
    for i, (xv, yv) in enumerate(zip(frame[x_col], frame[y_col], strict=True)):
        for j, (value, column) in enumerate(((xv, x_col), (yv, y_col))):
            try:
                if _blank(value):
                    raise MissingValue(f"缺少座標「{column}」。", detail=f"{column} blank")
                xy[i, j] = _as_number(value, column)
            except InvalidValue as exc:
                field_errors.setdefault(i, []).append(
                    RowProblem(int(rows[i]), name, exc.message, exc.code, column, "列")
                )
    frame = frame.drop(columns=[x_col, y_col])
    placed = np.isfinite(xy).all(axis=1)
    points = np.full(len(frame), None, dtype=object)
    points[placed] = shapely.points(xy[placed])
    # Degrees or metres is told by magnitude (lon/lat in Taiwan are below 360, TM2 metres are
    # in the hundreds of thousands), row by row: one file may mix the two.
    degrees = placed & (np.abs(xy) <= 360).all(axis=1)
    groups = (
        [(crs, np.ones(len(frame), dtype=bool))]
        if crs is not None
        else [(WEB_CRS, degrees | ~placed), (STORAGE_CRS, placed & ~degrees)]
    )
    raws = []
    for group_crs, mask in groups:
        if not mask.any():
            continue
        positions = np.flatnonzero(mask)
        raws.append(
            _Raw(
                layer=name,
                frame=frame.iloc[positions].reset_index(drop=True),
                geoms=points[positions],
                crs=group_crs,
                rows=rows[positions],
                field_errors={
                    k: field_errors[p] for k, p in enumerate(positions) if p in field_errors
                },
                row_unit="列",
            )
        )
    return _Opened(raws, f"{name}.csv")


# --------------------------------------------------------------------------- the plan
def _plan(
    spec: KindSpec,
    opened: _Opened,
    *,
    category_mapping: Mapping[str, str] | None,
    default_category: str | None,
    defaults: Mapping[str, Any] | None,
    limits: Limits,
) -> ImportPlan:
    by_name = {f.name: f for f in spec.fields}
    fixed_defaults: dict[str, Any] = {}
    for key, value in (defaults or {}).items():
        if key not in by_name:
            raise InvalidInput(
                f"「{spec.title}」沒有「{key}」欄位。", detail=f"unknown default {key!r}"
            )
        fs = by_name[key]
        try:
            fixed_defaults[key] = fs.parse(value, fs.label)
        except InvalidValue as exc:
            raise InvalidInput(f"預設值有誤：{exc.message}", detail=exc.detail) from exc
    vocab = spec.vocabulary() if spec.vocabulary else None
    if vocab is not None:  # check the caller's mapping before any row is read
        map_categories([], category_mapping, default=default_category, vocabulary=vocab)

    problems: list[RowProblem] = []
    repairs: list[Repair] = []
    frames: list[gpd.GeoDataFrame] = []
    for raw in opened.raws:
        records, row_problems = _normalise(
            spec, raw, vocab, category_mapping, default_category, fixed_defaults
        )
        checked = check_frame(
            gpd.GeoSeries(raw.geoms, crs=raw.crs),
            allowed_types=spec.geometry_types,
            source_crs=raw.crs,
            limits=limits,
        )
        for i in range(len(raw.geoms)):
            row, layer = int(raw.rows[i]), raw.layer
            # A CSV row whose coordinates are missing or not numbers has no geometry; saying
            # so again as "no geometry" would only repeat the coordinate problem.
            bad = list(raw.field_errors.get(i, ()))
            error = raw.errors.get(i) or checked.errors.get(i)
            if error is not None and not bad:
                bad.append(
                    RowProblem(row, layer, error.message, error.code, "geometry", raw.row_unit)
                )
            bad.extend(row_problems.get(i, ()))
            if bad:
                problems.extend(bad)
                continue
            for note in raw.repairs.get(i, []) + checked.repairs.get(i, []):
                repairs.append(Repair(row, layer, note))
            records[i]["geometry"] = checked.geometry.iloc[i]
        good = [r for r in records if "geometry" in r]
        for r in good:
            r["_layer_rank"] = _layer_order(opened, raw.layer)
        if good:
            frames.append(gpd.GeoDataFrame(good, geometry="geometry", crs=STORAGE_CRS))
    columns = [*spec.columns, "source_row", "source_layer", "geometry"]
    if frames:
        rows = pd.concat(frames, ignore_index=True)
        rows = rows.sort_values(["_layer_rank", "source_row"], kind="stable")
        rows = gpd.GeoDataFrame(
            rows[columns].reset_index(drop=True), geometry="geometry", crs=STORAGE_CRS
        )
    else:
        rows = gpd.GeoDataFrame({c: [] for c in columns[:-1]}, geometry=[], crs=STORAGE_CRS)
    problems.sort(key=lambda p: (_layer_order(opened, p.layer), p.row or 0))
    return ImportPlan(
        kind=spec.name,
        rows=rows,
        problems=problems,
        repairs=repairs,
        source=opened.description,
        layers=list(dict.fromkeys(r.layer for r in opened.raws)),
    )


def _layer_order(opened: _Opened, layer: str | None) -> int:
    for k, raw in enumerate(opened.raws):
        if raw.layer == layer:
            return k
    return len(opened.raws)


def _match_columns(spec: KindSpec, columns: Iterable[str]) -> dict[str, str]:
    """Our field name → the source column that fills it (first alias match wins)."""
    normalised: dict[str, str] = {}
    for c in columns:
        normalised.setdefault(_norm(c), c)
    out: dict[str, str] = {}
    wanted = ([spec.category] if spec.category else []) + list(spec.fields)
    taken: set[str] = set()
    for fs in wanted:
        for alias in (fs.name, fs.label, *fs.aliases):
            column = normalised.get(_norm(alias))
            if column is not None and column not in taken:
                out[fs.name] = column
                taken.add(column)
                break
    return out


def _normalise(
    spec: KindSpec,
    raw: _Raw,
    vocab: Vocabulary | None,
    category_mapping: Mapping[str, str] | None,
    default_category: str | None,
    defaults: Mapping[str, Any],
) -> tuple[list[dict[str, Any]], dict[int, list[RowProblem]]]:
    columns = _match_columns(spec, raw.frame.columns)
    n = len(raw.geoms)
    records: list[dict[str, Any]] = [
        {"source_row": int(raw.rows[i]), "source_layer": raw.layer} for i in range(n)
    ]
    problems: dict[int, list[RowProblem]] = {}

    def problem(i: int, exc: InvalidInput, fs: FieldSpec) -> None:
        problems.setdefault(i, []).append(
            RowProblem(int(raw.rows[i]), raw.layer, exc.message, exc.code, fs.name, raw.row_unit)
        )

    if spec.category is not None and vocab is not None:
        fs = spec.category
        values = list(raw.frame[columns[fs.name]]) if fs.name in columns else [None] * n
        folders = [raw.layer] * n if raw.folder_is_category else None
        codes = map_categories(
            values, category_mapping, folders=folders, default=default_category, vocabulary=vocab
        )
        for i, (value, code) in enumerate(zip(values, codes, strict=True)):
            if code is not None:
                records[i][fs.name] = code
                continue
            shown = value if not _blank(value) else (raw.layer if raw.folder_is_category else None)
            if shown is None:
                exc: InvalidInput = MissingValue(
                    f"沒有{vocab.noun}；請在檔案中加上「{fs.label}」欄位，或指定預設{vocab.noun}。",
                    detail="no category",
                )
            else:
                exc = UnmappedCategory(
                    f"{vocab.noun}「{shown}」無法對應到系統的{vocab.noun}；請在類別對應表中指定，"
                    f"或改用：{vocab.listing()}。",
                    detail=f"unmapped category {shown!r}",
                )
            problem(i, exc, fs)

    for fs in spec.fields:
        column = columns.get(fs.name)
        values = list(raw.frame[column]) if column is not None else [None] * n
        for i, value in enumerate(values):
            if _blank(value):
                if fs.name in defaults:
                    records[i][fs.name] = defaults[fs.name]
                elif fs.required:
                    problem(
                        i,
                        MissingValue(f"缺少「{fs.label}」。", detail=f"{fs.name} missing"),
                        fs,
                    )
                else:
                    records[i][fs.name] = fs.default
                continue
            try:
                records[i][fs.name] = fs.parse(value, fs.label)
            except InvalidValue as exc:
                problem(i, exc, fs)
    return records, problems


# --------------------------------------------------------------------------- writers
def _plain(value: Any) -> Any:
    """A value GDAL and KML can hold: enums by value, containers as JSON, NaN as None."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if _blank(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _prepared(gdf: gpd.GeoDataFrame, name: str, crs: CRS) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        raise ValueError(f"layer {name!r} has no CRS")  # a caller's bug, not user input
    out = gdf.to_crs(crs)
    for column in out.columns:
        if column != out.geometry.name and out[column].dtype == object:
            out[column] = out[column].map(_plain)
    return out


def write_geopackage(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write each frame as a GeoPackage table named by its key, in EPSG:3826.

    The storage CRS keeps every coordinate bit for bit, so re-importing the file gives
    geometries identical to the stored ones. An existing file at ``path`` is replaced.
    """
    if not layers:
        raise ValueError("no layers to write")
    path = Path(path)
    path.unlink(missing_ok=True)
    for name, gdf in layers.items():
        out = _prepared(gdf, name, STORAGE_CRS)
        pyogrio.write_dataframe(out, path, layer=name, driver="GPKG")
    return path


KML_NS = "http://www.opengis.net/kml/2.2"


def _field_labels(kind: str | None) -> dict[str, str]:
    labels = {"source_row": "原始列號", "source_layer": "原始圖層", "id": "編號"}
    for spec in KINDS.values():
        for fs in ([spec.category] if spec.category else []) + list(spec.fields):
            labels.setdefault(fs.name, fs.label)
    if kind in KINDS:
        spec = KINDS[kind]
        for fs in ([spec.category] if spec.category else []) + list(spec.fields):
            labels[fs.name] = fs.label
    return labels


def _kml_colour(hex_rgb: str, alpha: str = "ff") -> str:
    rgb = hex_rgb.lstrip("#")
    return f"{alpha}{rgb[4:6]}{rgb[2:4]}{rgb[0:2]}".lower()  # KML writes aabbggrr


def _coords(geom: shapely.Geometry) -> str:
    return " ".join(f"{_deg(x)},{_deg(y)}" for x, y in shapely.get_coordinates(geom))


def _deg(value: float) -> str:
    # 9 decimals of a degree are 0.1 mm: below any survey, and short.
    return f"{value:.9f}".rstrip("0").rstrip(".")


def _kml_geometry(parent: ET.Element, geom: shapely.Geometry) -> None:
    kind = geom.geom_type
    if kind == "Point":
        ET.SubElement(ET.SubElement(parent, "Point"), "coordinates").text = _coords(geom)
    elif kind == "LineString":
        line = ET.SubElement(parent, "LineString")
        ET.SubElement(line, "tessellate").text = "1"
        ET.SubElement(line, "coordinates").text = _coords(geom)
    elif kind == "Polygon":
        poly = ET.SubElement(parent, "Polygon")
        outer = ET.SubElement(ET.SubElement(poly, "outerBoundaryIs"), "LinearRing")
        ET.SubElement(outer, "coordinates").text = _coords(geom.exterior)
        for hole in geom.interiors:
            inner = ET.SubElement(ET.SubElement(poly, "innerBoundaryIs"), "LinearRing")
            ET.SubElement(inner, "coordinates").text = _coords(hole)
    else:  # Multi* and collections
        multi = ET.SubElement(parent, "MultiGeometry")
        for part in shapely.get_parts(geom):
            _kml_geometry(multi, part)


_NAME_COLUMNS = ("name", "title", "place_name", "place", "team_name")
_DESCRIPTION_COLUMNS = ("description", "note", "notes", "minutes")


def kml_document(layers: Mapping[str, gpd.GeoDataFrame], *, title: str = "社區安全地圖") -> bytes:
    """The KML (UTF-8 bytes) of :func:`write_kml`."""
    hazard_colours = {
        c["code"]: c["color"]
        for c in json.loads(reference_text("hazard_categories.json"))["categories"]
    }
    vocab = hazard_vocabulary()
    root = ET.Element("kml", xmlns=KML_NS)
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = title
    styles = {f"hazard-{code}": colour for code, colour in hazard_colours.items()}
    styles["feature"] = "#3366cc"
    for style_id, colour in styles.items():
        style = ET.SubElement(doc, "Style", id=style_id)
        ET.SubElement(ET.SubElement(style, "IconStyle"), "color").text = _kml_colour(colour)
        line = ET.SubElement(style, "LineStyle")
        ET.SubElement(line, "color").text = _kml_colour(colour)
        ET.SubElement(line, "width").text = "4"
        ET.SubElement(ET.SubElement(style, "PolyStyle"), "color").text = _kml_colour(colour, "66")
    for layer_name, gdf in layers.items():
        labels = _field_labels(layer_name)
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = LAYER_TITLES.get(layer_name, layer_name)
        out = _prepared(gdf, layer_name, WEB_CRS)
        geometry_name = out.geometry.name
        columns = [c for c in out.columns if c != geometry_name]
        for record, geom in zip(out[columns].to_dict("records"), out.geometry, strict=True):
            if geom is None or geom.is_empty:
                continue
            placemark = ET.SubElement(folder, "Placemark")
            name = next((record[c] for c in _NAME_COLUMNS if not _blank(record.get(c))), None)
            category = record.get("category") if layer_name == "hazards" else None
            if name is None and category in vocab.labels:
                name = vocab.labels[category]
            ET.SubElement(placemark, "name").text = str(name or LAYER_TITLES.get(layer_name, ""))
            text = next(
                (record[c] for c in _DESCRIPTION_COLUMNS if not _blank(record.get(c))), None
            )
            if text is not None:
                ET.SubElement(placemark, "description").text = str(text)
            style = f"hazard-{category}" if f"hazard-{category}" in styles else "feature"
            ET.SubElement(placemark, "styleUrl").text = f"#{style}"
            extended = ET.SubElement(placemark, "ExtendedData")
            for column in columns:
                value = _plain(record[column])
                if value is None:
                    continue
                data = ET.SubElement(extended, "Data", name=str(column))
                ET.SubElement(data, "displayName").text = labels.get(column, str(column))
                ET.SubElement(data, "value").text = (
                    value.isoformat() if isinstance(value, dt.date | dt.datetime) else str(value)
                )
            _kml_geometry(placemark, geom)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_kml(
    layers: Mapping[str, gpd.GeoDataFrame], path: str | Path, *, title: str = "社區安全地圖"
) -> Path:
    """Write the layers as one KML document in EPSG:4326 (lon/lat, as KML requires).

    One Folder per layer (named by its zh-TW title when the key is a layer kind), one
    Placemark per row with its name, description and every column as ExtendedData (with a
    zh-TW displayName), styled by hazard category colour.
    """
    path = Path(path)
    path.write_bytes(kml_document(layers, title=title))
    return path


def write_kmz(
    layers: Mapping[str, gpd.GeoDataFrame], path: str | Path, *, title: str = "社區安全地圖"
) -> Path:
    """:func:`write_kml` zipped as a KMZ (``doc.kml`` inside)."""
    path = Path(path)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml_document(layers, title=title))
    return path
