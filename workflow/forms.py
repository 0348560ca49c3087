"""The plan's forms and lists (附件1–9) and the year's printouts as documents: a title and
sections of fields, tables or a chart. The API renders a document as a printable HTML page
(A4, zh-TW, ROC dates) and, through ``xlsx()``, as a spreadsheet; both read the same
document, so the page and the export never disagree.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from geo.enums_workflow import RosterKind, WorkItem
from geo.errors import NotFound

from . import applications, evaluation_service, monitoring, rewards_service, rosters
from .access import Actor, require_signed_in
from .evaluation import amount_label
from .roc import ntd, roc_date, roc_month, roc_year
from .settings import Post

CITY = "新北市政府"


@dataclass
class Section:
    """``kind``: "fields" (label/value rows), "table" (columns and rows), "chart" (levels of
    boxes, each ``(title, [names])``) or "text" (paragraphs in ``rows``)."""

    heading: str
    kind: str = "table"
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)


@dataclass
class Document:
    code: str  # 附件1 …, or "" for printouts that are not an 附件
    title: str
    filename: str
    subtitle: str = ""
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)
    printed_on: str = field(default_factory=lambda: roc_date(dt.date.today()))
    landscape: bool = False


FORMS = {
    "1": "新北市政府加速推動社區治安營造補助計畫申請表",
    "2": "新北市{roc}年度加速推動社區治安營造名冊",
    "3": "新北市政府社區治安聯合推動小組架構表",
    "4": "新北市政府社區治安聯合推動小組編組名冊",
    "5": "新北市政府社區治安聯合推動小組窗口名冊",
    "6": "新北市政府社區治安專業輔導團隊名冊",
    "7": "新北市政府社區治安專業輔導團隊遴聘諮詢顧問聯繫名冊",
    "8": "新北市政府加速推動社區治安營造工作執行計畫分工表",
    "9": "新北市政府辦理{roc}年度「加速推動社區治安營造績效評鑑」出力有功人員獎勵基準表",
}


def _title(code: str, year: int | None = None) -> str:
    return FORMS[code].format(roc=f" {roc_year(year)} " if year else "")


# --------------------------------------------------------------------------- 附件1
def form1(session: Session, actor: Actor, application_id: int) -> Document:
    a = applications.application_json(session, actor, application_id)
    f = a["form"] or {}
    org, contact = f.get("organisation", {}), f.get("contact", {})
    submitted = next((e for e in a["events"] if e["to"] == "submitted"), None)
    start, end = (
        f.get("approved_start") or f.get("period_start"),
        f.get("approved_end") or f.get("period_end"),
    )
    villages = "、".join(f.get("village_names", [])) or "（以繪製範圍為準）"
    basic = Section(
        "一、申請單位基本資料",
        kind="fields",
        rows=[
            ["申請年度", f"民國 {a['roc_year']} 年度"],
            ["申請單位", org.get("name") or ""],
            ["立案字號", org.get("registration_no") or ""],
            ["負責人（理事長）", org.get("representative") or ""],
            ["會址", org.get("address") or ""],
            ["聯絡人", " ".join(x for x in (contact.get("name"), contact.get("title")) if x)],
            ["聯絡電話", contact.get("phone") or ""],
            ["行動電話", contact.get("mobile") or ""],
            ["電子郵件", contact.get("email") or ""],
            ["社區名稱", a["community"]["name"]],
            ["行政區", a["community"]["district"]],
            ["轄區分局", a["community"]["precinct"]],
            ["社區範圍（村里）", villages],
            ["範圍說明", f.get("boundary_note") or ""],
            ["實施期程", f"{roc_month(start)}至{roc_month(end)}" if start else ""],
            ["申請狀態", a["status_label"]],
            ["送件日期", roc_date(dt.datetime.fromisoformat(submitted["at"])) if submitted else ""],
        ],
    )
    plan = Section(
        "二、計畫內容",
        kind="fields",
        rows=[
            ["現況與問題分析", f.get("summary") or ""],
            ["計畫目標", f.get("goals") or ""],
            ["預期效益", f.get("expected_results") or ""],
        ],
    )
    items = Section(
        "三、預定辦理工作項目（計畫伍、四）",
        columns=["項次", "工作項目", "辦理內容", "預定期程", "預期成果"],
        widths=[6, 22, 40, 18, 20],
        rows=[
            [
                i + 1,
                w["label"],
                w["description"],
                "至".join(roc_month(m) for m in (w["start_month"], w["end_month"]) if m),
                w["target"] or "",
            ]
            for i, w in enumerate(a["work_items"])
        ],
    )
    labels = WorkItem.labels()
    budget = Section(
        "四、經費概算",
        columns=["項次", "項目", "工作項目", "單位", "數量", "單價（元）", "金額（元）", "備註"],
        widths=[6, 24, 20, 6, 8, 12, 12, 16],
        rows=[
            [
                b["line_no"],
                b["name"],
                labels.get(b["item"], "") if b["item"] else "",
                b["unit"],
                f"{b['quantity']:g}",
                ntd(b["unit_price"]),
                ntd(b["amount"]),
                b["note"] or "",
            ]
            for b in a["budget"]
        ]
        + [["", "合計", "", "", "", "", ntd(a["budget_total"]), ""]]
        + [["", "自籌款", "", "", "", "", ntd(f.get("self_funding") or 0), ""]],
    )
    review = Section(
        "五、審查紀錄",
        columns=["日期", "單位", "處理", "意見"],
        widths=[22, 16, 20, 40],
        rows=[
            [
                roc_date(dt.datetime.fromisoformat(e["at"])),
                e["actor_role_label"],
                e["to_label"],
                e["comment"] or "",
            ]
            for e in a["events"]
        ],
    )
    return Document(
        code="附件1",
        title=_title("1"),
        subtitle=f"民國 {a['roc_year']} 年度 {a['community']['name']}",
        filename=f"附件1_申請表_{a['roc_year']}_{a['id']}",
        sections=[basic, plan, items, budget, review],
        signatures=["申請單位（用印）", "負責人", "承辦人", "轄區分局初審"],
    )


# --------------------------------------------------------------------------- 附件2
def form2(session: Session, actor: Actor, year: int) -> Document:
    r = applications.roster(session, actor, year)
    return Document(
        code="附件2",
        title=_title("2", year),
        subtitle=f"核定 {r['count']} 個社區（年度名額 {r['quota']} 個），核定經費合計 {ntd(r['budget_total'])} 元",
        filename=f"附件2_名冊_{roc_year(year)}",
        landscape=True,
        sections=[
            Section(
                "",
                columns=[
                    "編號",
                    "行政區",
                    "社區名稱",
                    "申請單位",
                    "聯絡人",
                    "電話",
                    "轄區分局",
                    "核定經費（元）",
                    "輔導期程",
                    "狀態",
                ],
                widths=[6, 10, 22, 26, 10, 14, 12, 14, 22, 10],
                rows=[
                    [
                        i["no"],
                        i["district"],
                        i["community"],
                        i["organisation"],
                        i["contact"],
                        i["phone"],
                        i["precinct"],
                        ntd(i["budget_total"]),
                        i["period"],
                        i["status_label"],
                    ]
                    for i in r["items"]
                ],
            )
        ],
        notes=["依計畫拾壹、二，社區組織填具申請表送交所在地警察分局層轉本府核定輔導期程。"],
    )


# --------------------------------------------------------------------------- 附件3–7
ROLE_ORDER = ("召集人", "副召集人", "執行秘書", "副執行秘書")


def _by_role(members: list[dict]) -> list[dict]:
    def key(m: dict) -> tuple:
        rank = ROLE_ORDER.index(m["team_role"]) if m["team_role"] in ROLE_ORDER else len(ROLE_ORDER)
        return (rank, m["sort_order"], m["id"])

    return sorted(members, key=key)


def form3(session: Session, actor: Actor, year: int) -> Document:
    members = _by_role(rosters.list_members(session, actor, year, RosterKind.joint_team))
    levels: list[list[tuple[str, list[str]]]] = []
    for role in ROLE_ORDER:
        names = [
            f"{m['unit']} {m['job_title'] or ''} {m['name']}".strip()
            for m in members
            if m["team_role"] == role
        ]
        if names:
            levels.append([(role, names)])
    groups: dict[str, list[str]] = {}
    for m in members:
        if m["team_role"] not in ROLE_ORDER:
            groups.setdefault(m["team_role"], []).append(f"{m['unit']} {m['name']}")
    if groups:
        levels.append(list(groups.items()))
    return Document(
        code="附件3",
        title=_title("3"),
        subtitle=f"民國 {roc_year(year)} 年度",
        filename=f"附件3_聯合推動小組架構表_{roc_year(year)}",
        sections=[Section("", kind="chart", rows=levels)],  # type: ignore[arg-type]
        notes=["各分局及各區公所比照本府成立聯合輔導小組（計畫拾壹、三）。"],
    )


def _members_doc(
    session: Session,
    actor: Actor,
    year: int,
    code: str,
    kind: RosterKind,
    *,
    contacts: bool = False,
) -> Document:
    members = _by_role(rosters.list_members(session, actor, year, kind))
    if contacts:
        members = [m for m in members if m["is_contact"]]
    if kind is RosterKind.joint_team and not contacts:
        columns = ["編號", "編組職稱", "服務單位", "職稱", "姓名", "聯絡電話", "備註"]
        rows = [
            [
                i + 1,
                m["team_role"],
                m["unit"],
                m["job_title"] or "",
                m["name"],
                m["phone"] or "",
                m["note"] or "",
            ]
            for i, m in enumerate(members)
        ]
    elif contacts:
        columns = ["編號", "單位", "窗口職稱", "姓名", "聯絡電話", "電子郵件", "地址"]
        rows = [
            [
                i + 1,
                m["unit"],
                m["job_title"] or m["team_role"],
                m["name"],
                m["phone"] or "",
                m["email"] or "",
                m["address"] or "",
            ]
            for i, m in enumerate(members)
        ]
    elif kind is RosterKind.counselling_team:
        columns = ["編號", "團隊職稱", "姓名", "服務單位", "職稱", "專長", "聯絡電話", "電子郵件"]
        rows = [
            [
                i + 1,
                m["team_role"],
                m["name"],
                m["unit"],
                m["job_title"] or "",
                m["expertise"] or "",
                m["phone"] or "",
                m["email"] or "",
            ]
            for i, m in enumerate(members)
        ]
    else:
        columns = ["編號", "姓名", "服務單位", "職稱", "專長", "聯絡電話", "電子郵件", "通訊地址"]
        rows = [
            [
                i + 1,
                m["name"],
                m["unit"],
                m["job_title"] or "",
                m["expertise"] or "",
                m["phone"] or "",
                m["email"] or "",
                m["address"] or "",
            ]
            for i, m in enumerate(members)
        ]
    names = {"4": "編組名冊", "5": "窗口名冊", "6": "專業輔導團隊名冊", "7": "諮詢顧問聯繫名冊"}
    return Document(
        code=f"附件{code}",
        title=_title(code),
        subtitle=f"民國 {roc_year(year)} 年度",
        filename=f"附件{code}_{names[code]}_{roc_year(year)}",
        landscape=len(columns) > 7,
        sections=[Section("", columns=columns, rows=rows)],
    )


def form4(session: Session, actor: Actor, year: int) -> Document:
    return _members_doc(session, actor, year, "4", RosterKind.joint_team)


def form5(session: Session, actor: Actor, year: int) -> Document:
    return _members_doc(session, actor, year, "5", RosterKind.joint_team, contacts=True)


def form6(session: Session, actor: Actor, year: int) -> Document:
    return _members_doc(session, actor, year, "6", RosterKind.counselling_team)


def form7(session: Session, actor: Actor, year: int) -> Document:
    return _members_doc(session, actor, year, "7", RosterKind.consultant)


# --------------------------------------------------------------------------- 附件8, 9
def form8(session: Session, actor: Actor, year: int) -> Document:
    rows = rosters.list_division(session, actor, year)
    return Document(
        code="附件8",
        title=_title("8"),
        subtitle=f"民國 {roc_year(year)} 年度",
        filename=f"附件8_分工表_{roc_year(year)}",
        landscape=True,
        sections=[
            Section(
                "",
                columns=["項次", "工作項目", "執行要領", "主政機關", "協辦機關", "計畫依據"],
                widths=[6, 24, 60, 16, 22, 12],
                rows=[
                    [
                        i + 1,
                        r["section"],
                        r["task"],
                        r["lead"],
                        r["assisting"] or "",
                        r["plan_ref"] or "",
                    ]
                    for i, r in enumerate(rows)
                ],
            )
        ],
    )


def form9(session: Session, actor: Actor, year: int) -> Document:
    require_signed_in(actor)
    settings = applications.year_settings(applications.get_year(session, year))
    r = settings.rewards
    per = r.commendations_per_merit

    def posts(items) -> str:
        out = []
        for p in items:
            who = f"{p.persons} 人" if p.persons else ("擇優半數" if p.share == 0.5 else "全數")
            out.append(f"{Post(p.post).label}（{who}）嘉獎{p.commendations}次")
        return "、".join(out)

    clauses = [
        [
            "玖、一、(一)",
            "分駐（派出）所",
            f"每年度輔導接受補助並完成核銷程序之治安社區每 {r.station_commendations} 個",
            posts(r.station_posts),
            "是",
        ],
        [
            "玖、一、(二)1",
            "警察分局（防災社區輔導機關比照）",
            f"每年度輔導接受補助、經初審並完成核銷程序之治安社區每 {r.precinct_commendations} 個",
            posts(r.precinct_posts),
            "是",
        ],
        [
            "玖、一、(二)2",
            "警察分局",
            f"每年度輔導未曾申請本項補助之里社區每 {r.new_village_bonus} 處參與",
            posts(r.new_village_posts),
            "是" if r.new_village_multiplies else "否",
        ],
        [
            "玖、一、(三)",
            "警察局",
            f"每年度輔導接受補助、經複審並完成核銷程序之治安（防災）社區達 {r.bureau_commendations} 個",
            posts(r.bureau_posts),
            "是" if r.bureau_multiplies else "否（每年一次）",
        ],
    ]
    tiers = [
        [t.name, f"第 {t.rank_from}–{t.rank_to} 名", amount_label(t)] for t in settings.award_tiers
    ]
    return Document(
        code="附件9",
        title=_title("9", year),
        subtitle=f"獎勵規定（計畫玖）；嘉獎{per}次折算記功1次，累積至記功後其累計治安社區數以倍數計算",
        filename=f"附件9_獎勵基準表_{roc_year(year)}",
        landscape=True,
        sections=[
            Section(
                "一、每年度輔導成立「治安社區」獎勵（計畫玖、一）",
                columns=[
                    "計畫條文",
                    "獎勵單位",
                    "獎勵條件",
                    "獎勵對象及額度（每達條件一次）",
                    "以倍數計算",
                ],
                widths=[14, 22, 44, 50, 12],
                rows=clauses,
            ),
            Section(
                "二、績效評鑑出力有功人員獎勵（計畫玖、二）",
                kind="text",
                rows=[
                    [
                        f"經本府社區治安專業輔導團隊擇優評鑑遴選出前 {r.evaluation_staff_reward_ranks} 名"
                        "「優質治安社區」後，針對本府各相關機關、區公所及警察分局辦理治安社區輔導工作出力有功人員，由本府辦理獎勵。"
                    ]
                ],
            ),
            Section(
                "三、評鑑獎項（計畫捌、三）",
                columns=["層級", "名次", "獎勵金"],
                widths=[24, 16, 30],
                rows=tiers,
            ),
        ],
        notes=[
            f"初、複評成績均須達 {settings.evaluation_threshold:g} 分以上；擇優 {settings.certified_count} 個通過認證，前 {settings.quality_count} 名為「優質治安社區」。",
            "獎勵金發放，視當年度預算編列情形，依層級頒發（計畫捌、四）。",
        ],
    )


# --------------------------------------------------------------------------- printouts
def results_doc(session: Session, actor: Actor, year: int) -> Document:
    r = evaluation_service.results(session, actor, year)
    return Document(
        code="",
        title=f"新北市 {roc_year(year)} 年度加速推動社區治安營造績效評鑑成績",
        subtitle=f"初、複評成績均須達 {r['threshold']:g} 分"
        + ("（已公布）" if r["finalised"] else "（未公布）"),
        filename=f"評鑑成績_{roc_year(year)}",
        landscape=True,
        sections=[
            Section(
                "",
                columns=[
                    "名次",
                    "社區",
                    "推薦分局",
                    "初選成績",
                    "複評平均",
                    "結果",
                    "獎項",
                    "獎勵金（元）",
                    "證書字號",
                    "說明",
                ],
                widths=[6, 22, 12, 10, 10, 14, 26, 12, 20, 40],
                rows=[
                    [
                        e["rank"] or "",
                        e["community"],
                        e["precinct"],
                        f"{e['preliminary_score']:.2f}",
                        "" if e["review_average"] is None else f"{e['review_average']:.2f}",
                        e["outcome_label"],
                        e["tier_label"] or "",
                        ntd(e["award_amount"]),
                        e["certificate_no"] or "",
                        "；".join([*e["reasons"], *([e["tie_break"]] if e["tie_break"] else [])]),
                    ]
                    for e in r["entries"]
                ],
            )
        ],
    )


def rewards_doc(session: Session, actor: Actor, year: int) -> Document:
    r = rewards_service.compute(session, actor, year)
    rows = []
    for u in r["units"]:
        for c in u["clauses"]:
            for p in c["posts"]:
                rows.append(
                    [
                        u["unit"],
                        c["clause_label"],
                        "、".join(c["qualifying_names"]),
                        c["award_units"],
                        p["post_label"],
                        "" if p["persons"] is None else p["persons"],
                        p["award_label"],
                    ]
                )
    staff = [[s["rank"], s["community"], s["explanation"]] for s in r["evaluation_staff"]]
    return Document(
        code="",
        title=f"新北市 {roc_year(year)} 年度加速推動社區治安營造獎勵核算表",
        subtitle="依計畫玖、獎勵規定核算",
        filename=f"獎勵核算_{roc_year(year)}",
        landscape=True,
        sections=[
            Section(
                "一、輔導成立治安社區獎勵（玖、一）",
                columns=["單位", "條文", "符合之社區", "獎勵次數", "職務", "人數", "每人獎度"],
                widths=[20, 34, 40, 8, 14, 6, 20],
                rows=rows,
            ),
            Section(
                "二、績效評鑑出力有功人員（玖、二，依附件9辦理）",
                columns=["名次", "社區", "說明"],
                widths=[6, 24, 80],
                rows=staff,
            ),
        ],
    )


def progress_doc(
    session: Session, actor: Actor, year: int, as_of: dt.date | None = None
) -> Document:
    p = monitoring.progress(session, actor, year, as_of=as_of)
    rows = [
        [
            c["precinct"],
            c["community"],
            c["status_label"],
            c["work_items"],
            c["done"],
            c["in_progress"],
            c["not_started"],
            f"{c['completion']:.0%}",
            c["reports_filed"],
            c["reports_overdue"],
            ntd(c["budget"]),
            ntd(c["closed"]),
        ]
        for c in p["communities"]
    ]
    city = p["city"]
    rows.append(
        [
            "全市",
            f"{city['communities']} 個社區",
            "",
            city["work_items"],
            city["done"],
            city["in_progress"],
            city["not_started"],
            f"{city['completion']:.0%}",
            city["reports_filed"],
            city["reports_overdue"],
            ntd(city["budget"]),
            ntd(city["closed"]),
        ]
    )
    return Document(
        code="",
        title=f"新北市 {roc_year(year)} 年度社區治安營造執行進度管考表",
        subtitle=f"統計至{roc_date(p['as_of'])}（計畫柒）",
        filename=f"管考進度_{roc_year(year)}",
        landscape=True,
        sections=[
            Section(
                "",
                columns=[
                    "分局",
                    "社區",
                    "狀態",
                    "工作項目",
                    "已完成",
                    "辦理中",
                    "尚未辦理",
                    "完成率",
                    "月報已填",
                    "月報逾期",
                    "核定經費",
                    "已核銷",
                ],
                rows=rows,
            )
        ],
    )


YEAR_FORMS = {
    "2": form2,
    "3": form3,
    "4": form4,
    "5": form5,
    "6": form6,
    "7": form7,
    "8": form8,
    "9": form9,
}


def year_form(session: Session, actor: Actor, year: int, code: str) -> Document:
    fn = YEAR_FORMS.get(code)
    if fn is None:
        raise NotFound(f"沒有附件{code}。", detail=f"form {code}")
    return fn(session, actor, year)


# --------------------------------------------------------------------------- XLSX
_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def xlsx(doc: Document) -> bytes:
    """The document as one worksheet: title, subtitle, then each section (openpyxl)."""
    wb = Workbook()
    ws = wb.active
    ws.title = (doc.code or doc.title)[:31]
    ncols = max([len(s.columns) for s in doc.sections if s.kind == "table"] + [2])
    ws.append([f"{doc.code}　{doc.title}".strip()])
    ws.cell(row=1, column=1).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncols)
    if doc.subtitle:
        ws.append([doc.subtitle])
    widths: dict[int, int] = {}
    for s in doc.sections:
        if s.heading:
            ws.append([])
            ws.append([s.heading])
            ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
        if s.kind == "table":
            ws.append(s.columns)
            header = ws.max_row
            for c in range(1, len(s.columns) + 1):
                cell = ws.cell(row=header, column=c)
                cell.font = Font(bold=True)
                cell.fill = PatternFill("solid", fgColor="DDDDDD")
                cell.border = _BOX
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            for row in s.rows:
                ws.append([_cell(v) for v in row])
                for c in range(1, len(row) + 1):
                    ws.cell(row=ws.max_row, column=c).border = _BOX
                    ws.cell(row=ws.max_row, column=c).alignment = Alignment(
                        wrap_text=True, vertical="top"
                    )
            for i, w in enumerate(s.widths, start=1):
                widths[i] = max(widths.get(i, 0), w)
        elif s.kind == "fields":
            for label, value in s.rows:
                ws.append([label, _cell(value)])
                ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
                ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True)
            widths[1], widths[2] = max(widths.get(1, 0), 18), max(widths.get(2, 0), 60)
        elif s.kind == "chart":
            for level in s.rows:
                for title, names in level:
                    ws.append([title, "、".join(names)])
        else:
            for (paragraph,) in s.rows:
                ws.append([paragraph])
    for note in doc.notes:
        ws.append([note])
    ws.append([f"列印日期：{doc.printed_on}"])
    for i in range(1, ncols + 1):
        ws.column_dimensions[get_column_letter(i)].width = widths.get(i, 16)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if doc.landscape else "portrait"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(v: Any) -> Any:
    if isinstance(v, dt.date):
        return roc_date(v)
    return v
