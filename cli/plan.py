"""``safemap plan cameras``: CCTV placement as a maximal covering problem.

Users time this command against other tools, process start to exit, so it is the one
command not defined through typer: typer (with the pydantic adapters it builds for every
parameter) and rich cost about 0.2 s before anything is read, more than solving a
5,000-point plan. The command is therefore an ``argparse`` parser that ``cli.entry`` runs
before importing the rest of the CLI; ``safemap plan cameras`` in typer (``cli.main``) only
forwards to it, so ``safemap plan --help`` still lists it and ``python -m cli.main`` works.
Output is plain text for the same reason.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

from geo.errors import InvalidParameter, SafemapError

PROG = "safemap plan cameras"
DESCRIPTION = "選出涵蓋最多需求權重的監視器設置點，輸出建議點位供分局審查。"


# --------------------------------------------------------------------------- the parser
class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, prefix="用法：")


class _Parser(argparse.ArgumentParser):
    """argparse with its errors in zh-TW and the exit code of every other CLI error (1)."""

    def error(self, message: str):
        for english, chinese in _ARGPARSE_ZH:
            message = message.replace(english, chinese)
        sys.stderr.write(f"錯誤：指令參數不正確（{message}）。請執行 {PROG} --help 查看說明。\n")
        raise SystemExit(1)


# argparse's own messages (it has no zh-TW catalogue), the parts users meet
_ARGPARSE_ZH = (
    ("the following arguments are required: ", "缺少必要參數 "),
    ("unrecognized arguments: ", "無法辨識的參數 "),
    ("expected one argument", "需要一個值"),
    ("argument ", "參數 "),
)


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{text}」不是數字") from None


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"「{text}」不是整數") from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=DESCRIPTION, add_help=False, formatter_class=_Formatter)
    need = parser.add_argument_group("必要參數")
    need.add_argument(
        "--demand",
        type=Path,
        metavar="FILE",
        required=True,
        help="需求點圖層（點，需有 weight 權重欄位）",
    )
    need.add_argument(
        "--candidates",
        type=Path,
        metavar="FILE",
        required=True,
        help="候選設置點圖層（點，可有 id、cost 欄位）",
    )
    need.add_argument(
        "--out", type=Path, metavar="FILE", required=True, help="輸出的規劃 GeoJSON 檔（EPSG:4326）"
    )
    opt = parser.add_argument_group("選用參數")
    opt.add_argument(
        "--existing", type=Path, metavar="FILE", help="既有攝影機圖層（點），其涵蓋不重複計算"
    )
    opt.add_argument("--k", type=_int, metavar="N", help="新設攝影機數量上限（未指定預算時必填）")
    opt.add_argument(
        "--radius", type=_float, metavar="M", default=100.0, help="攝影機涵蓋半徑（公尺，預設 100）"
    )
    opt.add_argument(
        "--time-limit",
        type=_float,
        metavar="S",
        default=60.0,
        help="整個指令（讀檔、建立涵蓋關係、求解、寫檔）的時間上限（秒，預設 60）；"
        "逾時回報目前最佳解與差距",
    )
    opt.add_argument(
        "--method",
        default="milp",
        metavar="milp|greedy",
        help="milp（精確解，預設）或 greedy（快速預覽）",
    )
    opt.add_argument(
        "--bearings",
        metavar="DEG,DEG,…",
        help="扇形模型的候選方位角（度，北為 0、順時針），如 0,90,180,270",
    )
    opt.add_argument("--fov", type=_float, metavar="DEG", default=90.0, help="扇形模型的視角（度）")
    opt.add_argument(
        "--budget", type=_float, metavar="NTD", help="新台幣預算（候選點需有 cost 欄位）"
    )
    opt.add_argument("-h", "--help", action="help", help="顯示此說明後結束")
    return parser


# --------------------------------------------------------------------------- running it
def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit code (0, or 1 with a zh-TW message on stderr)."""
    args = build_parser().parse_args(argv)
    try:
        plan_cameras_files(args)
    except SafemapError as exc:
        sys.stderr.write(f"錯誤：{exc.message}\n")
        if exc.detail:
            sys.stderr.write(f"{exc.code}: {str(exc.detail)[:2000]}\n")
        return 1
    return 0


def plan_cameras_files(args: argparse.Namespace) -> dict:
    """Read the layers, solve, write the plan file and print its summary; returns the plan."""
    # the limit is the user's wait, not the solver's share of it: reading and building the
    # coverage of a city-sized instance take seconds that come out of the same minute
    started = time.perf_counter()
    k, budget, time_limit = args.k, args.budget, args.time_limit
    if k is not None and k < 1:
        raise InvalidParameter("攝影機數量 --k 必須至少為 1。", detail=f"k={k}")
    if k is None and budget is None:
        raise InvalidParameter("請以 --k 指定攝影機數量，或以 --budget 指定預算。")
    if time_limit <= 0:
        raise InvalidParameter("--time-limit 必須大於 0 秒。", detail=f"time_limit={time_limit}")
    if args.method not in ("milp", "greedy"):
        raise InvalidParameter(
            f"未知的求解方法：{args.method}（可用 milp 或 greedy）。", detail=args.method
        )
    bearing_list = _parse_bearings(args.bearings)
    out: Path = args.out
    if not out.parent.exists():
        raise InvalidParameter(f"輸出資料夾不存在：{out.parent}", detail=str(out.parent))

    _defer_unused_numpy_modules()
    from geo.analysis.placement import CoveragePlanner

    _status("讀取圖層…")
    demand_layer = _read_points(args.demand, "需求點")
    cand_layer = _read_points(args.candidates, "候選點")
    existing_layer = (
        _read_points(args.existing, "既有攝影機", optional=True) if args.existing else None
    )
    _status("建立涵蓋關係…")
    planner = CoveragePlanner.from_layers(
        demand_layer,
        cand_layer,
        radius=args.radius,
        k=k,
        existing=existing_layer,
        bearings=bearing_list,
        fov=args.fov,
        budget=budget,
    )
    label = "精確求解（HiGHS）" if args.method == "milp" else "貪婪演算法預覽"
    left = time_limit - (time.perf_counter() - started) - _WRITE_RESERVE_S
    _status(f"{label}中…（最多 {max(left, 0):.0f} 秒）")
    planner.solve(method=args.method, time_limit=max(left, _MIN_SOLVE_S))

    plan = planner.to_geojson()
    out.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")
    _print_summary(plan, out)
    return plan


# Seconds kept for writing the plan and the table after the solve, and the least a solve is
# given when reading took (nearly) all of the limit: a greedy plan and a gap still come back.
_WRITE_RESERVE_S = 0.5
_MIN_SOLVE_S = 0.5

_STATUS_LABELS = {
    "optimal": "已證明最佳",
    "time_limit": "達時間上限（回報目前最佳解與差距）",
    "greedy": "貪婪解（未證明最佳）",
}


def _status(text: str) -> None:
    """Progress on stderr, only for a person at a terminal (the steps take seconds at most)."""
    if sys.stderr.isatty():
        sys.stderr.write(text + "\n")
        sys.stderr.flush()


def _print_summary(plan: dict, out: Path) -> None:
    s = plan["summary"]
    rows = [
        ("涵蓋權重", f"{s['covered_weight']:,.2f} / {s['total_weight']:,.2f}"),
        ("涵蓋比例", f"{s['coverage_ratio']:.1%}"),
        ("既有攝影機涵蓋", f"{s['existing_weight']:,.2f}"),
        ("最佳性差距", "—" if s["gap"] is None else f"{s['gap']:.3%}"),
        ("狀態", _STATUS_LABELS.get(s["status"], s["status"])),
    ]
    if s["cost"] is not None:
        rows.append(("總成本（新台幣）", f"{s['cost']:,.0f} / {s['budget']:,.0f}"))
    rows.append(("求解時間", f"{s['runtime_s']:.2f} 秒"))
    lines = [f"監視器設置規劃（{len(plan['features'])} 處）"]
    lines += [f"  {name}：{value}" for name, value in rows]
    lines.append(f"已寫出 {out}")
    sys.stdout.write("\n".join(lines) + "\n")


def _read_points(path: Path, label: str, *, optional: bool = False):
    """Read a point layer (GeoJSON, GeoPackage, Shapefile…) into EPSG:3826 metres."""
    from geo.errors import ImportEmpty
    from geo.point_io import read_points

    try:
        return read_points(path, label)
    except ImportEmpty:
        if optional:  # no cameras installed yet is a legitimate existing-camera layer
            return None
        raise


def _parse_bearings(text: str | None) -> list[float] | None:
    if text is None or not text.strip():
        return None
    try:
        values = [float(part) for part in text.replace("，", ",").split(",") if part.strip()]
    except ValueError:
        raise InvalidParameter(
            f"方位角格式不正確：「{text}」，請以逗號分隔度數，例如 0,90,180,270。",
            detail=text,
        ) from None
    if not values:
        raise InvalidParameter("請至少提供一個方位角。", detail=text)
    return values


# NumPy subpackages that SciPy's array-API layer imports only because it copies NumPy's whole
# namespace (``from numpy import *``), and that nothing on this command's path uses: about
# 0.1 s of imports (f2py alone ~0.09 s). They are registered as lazy modules, loaded on first
# use should anything touch them. Done here, in a process that has no other threads yet,
# because Python 3.11's lazy modules are not safe to load from two threads at once.
_UNUSED_NUMPY = ("f2py", "testing", "ctypeslib", "ma", "polynomial")


def _defer_unused_numpy_modules() -> None:
    import numpy

    for name in _UNUSED_NUMPY:
        full = f"numpy.{name}"
        if full in sys.modules:
            continue
        spec = importlib.util.find_spec(full)
        if spec is None or spec.loader is None:
            continue
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[full] = module
        spec.loader.exec_module(module)
        setattr(numpy, name, module)
