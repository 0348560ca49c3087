"""The city's exports as tables and CSV (the /app/exports page): applications and approvals,
subsidy and claims, evaluation results, staff rewards. Each reads through the same services
(and so the same access rules) as the pages; none holds a protection record.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from . import applications as apps
from . import claims as claims_service
from . import evaluation_service as evaluation
from . import rewards_service
from .access import Actor
from .roc import roc_year


def _cell(value) -> object:
    # A text cell starting with = + - @ would run as a formula in Excel: keep it text.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def csv_bytes(header, rows) -> bytes:
    """UTF-8 with a byte-order mark, so Excel shows the Chinese; CRLF line ends."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def applications_table(session: Session, actor: Actor, year: int):
    items = apps.list_applications(session, actor, year=year, limit=10000)["items"]
    header = ("申請案編號", "年度", "社區", "行政區", "分局", "狀態", "申請經費（元）", "最後更新")
    rows = [
        [
            a["id"],
            f"民國 {roc_year(a['year'])} 年",
            a["community"],
            a["district"],
            a["precinct"],
            a["status_label"],
            a["budget_total"] or 0,
            a["updated_at"] or "",
        ]
        for a in items
    ]
    return header, rows


def claims_table(session: Session, actor: Actor, year: int):
    by_app = {
        a["id"]: a for a in apps.list_applications(session, actor, year=year, limit=10000)["items"]
    }
    claw: dict[int, list[dict]] = {}
    for c in claims_service.list_clawbacks(session, actor, year):
        claw.setdefault(c["claim_id"], []).append(c)
    header = (
        "申請案編號", "社區", "行政區", "申請狀態", "申請經費（元）", "核銷案編號", "核銷案",
        "核銷狀態", "核銷金額（元）", "追繳金額（元）", "已繳回（元）",
    )  # fmt: skip
    rows, claimed = [], set()
    for c in claims_service.list_claims(session, actor, year=year):
        a = by_app.get(c["application_id"], {})
        claimed.add(c["application_id"])
        back = claw.get(c["id"], [])
        rows.append(
            [
                c["application_id"],
                a.get("community", ""),
                a.get("district", ""),
                a.get("status_label", ""),
                a.get("budget_total") or 0,
                c["id"],
                c["title"],
                c["status_label"],
                c["total"],
                sum(b["amount"] for b in back),
                sum(b["repaid_amount"] or 0 for b in back),
            ]
        )
    # Subsidised applications with no claim yet still belong in the subsidy list.
    for a in by_app.values():
        if a["id"] not in claimed and a["status"] in ("approved", "in_progress", "completed"):
            rows.append(
                [
                    *(a["id"], a["community"], a["district"], a["status_label"]),
                    *(a["budget_total"] or 0, "", "尚未申請核銷", "", "", "", ""),
                ]
            )
    return header, rows


def evaluation_table(session: Session, actor: Actor, year: int):
    return evaluation.RESULT_COLUMNS, evaluation.results_table(
        evaluation.results(session, actor, year)
    )


def rewards_table(session: Session, actor: Actor, year: int):
    data = rewards_service.compute(session, actor, year)
    return rewards_service.REWARD_COLUMNS, rewards_service.table(data)


EXPORTS = {
    "applications": ("申請與核定清單", applications_table),
    "claims": ("補助經費與核銷", claims_table),
    "evaluation": ("評鑑成績", evaluation_table),
    "rewards": ("敘獎表", rewards_table),
}
