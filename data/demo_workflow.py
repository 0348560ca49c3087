"""Demo data of the yearly workflow, on top of ``data.demo``'s applications: application forms,
rosters (附件3–7) and the division of labour (附件8), monthly reports with gaps (so overdue flags
show), expense claims through their real review path, a claw-back, and last year's evaluation
(nominations, three counsellors' sheets, published ranking). Deterministic for a seed;
everything is labelled 示範 like the rest of the demo.

Status changes go through the services (``workflow.states.transition``, ``workflow.claims``),
so the demo's audit trail is the one a real year leaves.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.enums_workflow import ClaimStatus, Progress, WorkItem
from geo.models import Application, Community, Organisation, Precinct, User, community_villages
from geo.models_workflow import (
    ApplicationForm,
    ApplicationWorkItem,
    BudgetLine,
    ClaimItem,
    ExpenseClaim,
    MonthlyReport,
    MonthlyReportItem,
    RosterMember,
    WorkflowFile,
    application_villages,
)
from workflow import claims, evaluation_service
from workflow.access import Actor
from workflow.applications import seed_division_of_labour
from workflow.auth import hash_password
from workflow.evaluation import load_rubric

log = logging.getLogger(__name__)

DEMO_LABEL = "（示範）"
SEED = 1150
RECEIPT_PDF = b"%PDF-1.4\n% demo receipt\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
COUNSELLORS = (
    ("demo-counsel", "專業輔導團隊委員（示範）"),
    ("demo-counsel2", "專業輔導團隊委員乙（示範）"),
    ("demo-counsel3", "專業輔導團隊委員丙（示範）"),
)
JOINT_TEAM = (
    ("召集人", "新北市政府", "副市長", "陳召集"),
    ("副召集人", "新北市政府警察局", "局長", "李副召"),
    ("執行秘書", "新北市政府警察局", "副局長", "張執秘"),
    ("委員", "新北市政府民政局", "副局長", "黃委員"),
    ("委員", "新北市政府社會局", "副局長", "吳委員"),
    ("委員", "新北市政府消防局", "副局長", "劉委員"),
    ("委員", "新北市政府警察局防治科", "科長", "蔡委員"),
)
CONSULTANTS = (
    ("臺北大學犯罪學研究所", "教授", "鄭顧問", "環境犯罪學、安全檢測"),
    ("中央警察大學", "副教授", "許顧問", "社區警政、守望相助"),
    ("社區營造協會", "理事長", "周顧問", "社區組織運作、居民參與"),
)


def load_workflow(
    session: Session, users: dict[str, User], *, password_hash: str | None = None
) -> dict[str, int]:
    """Add the workflow demo to a session where ``data.demo`` has built its set. Counts."""
    rng = random.Random(SEED)
    counts: dict[str, int] = {}
    counsellors = _counsellors(session, users, password_hash)
    years = sorted(set(session.scalars(select(Application.year).where(Application.is_demo))))
    for year in years:
        seed_division_of_labour(session, year)
        counts[f"roster_members_{year}"] = _rosters(session, year, counsellors)
    counts["forms"] = _forms(session)
    counts["monthly_reports"] = _reports(session, rng, years)
    counts["claims"] = _claims(session, rng, users, years)
    if len(years) > 1:
        counts["nominations"] = _evaluation(session, rng, users, counsellors, years[0])
    session.flush()
    return counts


def _actor(session: Session, role: Role, community: Community, users: dict[str, User]) -> Actor:
    for user in users.values():
        if user.role is role and (
            (role is Role.community and user.organisation_id == community.organisation_id)
            or (role is Role.precinct and user.precinct_id == community.precinct_id)
            or role is Role.city_police
        ):
            return Actor.from_user(user)
    return Actor(
        user_id=None,
        role=role,
        precinct_id=community.precinct_id,
        organisation_id=community.organisation_id,
    )


def _counsellors(session: Session, users: dict[str, User], password_hash: str | None) -> list[User]:
    out = []
    for username, name in COUNSELLORS:
        user = users.get(username) or session.scalar(select(User).where(User.username == username))
        if user is None:
            template = users.get("demo-counsel")
            user = User(
                username=username,
                display_name=name,
                password_hash=password_hash
                or (template.password_hash if template else hash_password(username)),
                role=Role.counselling,
            )
            session.add(user)
            session.flush()
        out.append(user)
    return out


def _rosters(session: Session, year: int, counsellors: list[User]) -> int:
    if session.scalar(select(RosterMember.id).where(RosterMember.year == year).limit(1)):
        return 0
    rows = []
    for i, (role, unit, title, name) in enumerate(JOINT_TEAM):
        rows.append(RosterMember(
            year=year, roster="joint_team", unit=unit, team_role=role, job_title=title,
            name=name + DEMO_LABEL, phone=f"02-2960-{3000 + i:04d}", is_contact=role in ("執行秘書",) or i == 6,
            email=f"contact{i}@example.gov.tw", address="新北市板橋區中山路一段161號", sort_order=i,
        ))  # fmt: skip
    for i, user in enumerate(counsellors):
        rows.append(RosterMember(
            year=year, roster="counselling_team", unit="社區治安專業輔導團隊", team_role="召集委員" if i == 0 else "委員",
            name=user.display_name, job_title="委員", expertise=("犯罪預防", "社區營造", "婦幼安全")[i % 3],
            phone=f"02-2960-{4000 + i:04d}", user_id=user.id, sort_order=i,
        ))  # fmt: skip
    for i, (unit, title, name, expertise) in enumerate(CONSULTANTS):
        rows.append(RosterMember(
            year=year, roster="consultant", unit=unit, team_role="諮詢顧問", job_title=title,
            name=name + DEMO_LABEL, expertise=expertise, phone=f"02-2960-{5000 + i:04d}",
            email=f"advisor{i}@example.edu.tw", sort_order=i,
        ))  # fmt: skip
    session.add_all(rows)
    return len(rows)


def _forms(session: Session) -> int:
    """附件1 for the demo applications, from what ``data.demo`` put in ``plan``."""
    n = 0
    apps = session.scalars(
        select(Application)
        .outerjoin(ApplicationForm, ApplicationForm.application_id == Application.id)
        .where(Application.is_demo, ApplicationForm.application_id.is_(None))
        .order_by(Application.id)
    ).all()
    for app in apps:
        community = session.get(Community, app.community_id)
        org = session.get(Organisation, community.organisation_id)
        subsidised = app.status in (S.approved, S.in_progress, S.completed)
        session.add(
            ApplicationForm(
                application_id=app.id,
                organisation_name=org.name,
                representative=org.contact_name,
                contact_name=org.contact_name or "",
                phone=org.phone or "",
                summary=f"社區巷弄照明不足、治安死角待改善，擬召開治安會議並繪製安全檢測地圖。{DEMO_LABEL}",
                goals="建立社區安全維護體系，成立守望相助隊並規劃監視器。",
                expected_results="降低住宅竊盜與機車竊盜，提升居民安全感。",
                period_start=dt.date(app.year, 1, 1),
                period_end=dt.date(app.year, 12, 31),
                approved_start=dt.date(app.year, 1, 1) if subsidised else None,
                approved_end=dt.date(app.year, 12, 31) if subsidised else None,
                disaster_community=app.id % 5 == 0,
            )
        )
        for code in (app.plan or {}).get("work_items", []):
            session.add(
                ApplicationWorkItem(
                    application_id=app.id,
                    item=WorkItem(code),
                    description=f"{WorkItem(code).label}。",
                )
            )
        for i, b in enumerate((app.plan or {}).get("budget", []), start=1):
            session.add(BudgetLine(
                application_id=app.id, line_no=i, item=WorkItem(b["item"]) if b.get("item") else None,
                name=b.get("label") or "經費", quantity=Decimal(1), unit_price=b["amount"], amount=b["amount"],
            ))  # fmt: skip
        villages = session.scalars(
            select(community_villages.c.village_id).where(
                community_villages.c.community_id == community.id
            )
        ).all()
        if villages:
            session.execute(
                application_villages.insert(),
                [{"application_id": app.id, "village_id": v} for v in villages],
            )
        n += 1
    session.flush()
    return n


def _reports(session: Session, rng: random.Random, years: list[int]) -> int:
    """Monthly reports: every month of a finished year, and this year's with a few gaps."""
    n = 0
    apps = session.scalars(
        select(Application)
        .where(Application.is_demo, Application.status.in_((S.in_progress, S.completed)))
        .order_by(Application.id)
    ).all()
    for app in apps:
        items = [WorkItem(c) for c in (app.plan or {}).get("work_items", [])]
        if not items:
            continue
        last_month = 12 if app.status is S.completed else 10
        skip = (
            set()
            if app.status is S.completed
            else set(rng.sample(range(1, last_month + 1), k=rng.randint(0, 3)))
        )
        for month in range(1, last_month + 1):
            if month in skip:
                continue
            report = MonthlyReport(
                application_id=app.id,
                month=dt.date(app.year, month, 1),
                summary=f"{month} 月依計畫辦理各項工作。{DEMO_LABEL}",
            )
            share = month / last_month
            report.items = [
                MonthlyReportItem(
                    item=item,
                    progress=Progress.done if share > 0.8 or (share > 0.4 and k % 2 == 0)
                    else Progress.in_progress if share > 0.15 else Progress.not_started,
                    percent=min(100, int(share * 100) + 10 * (k % 3)),
                    done_text=f"{item.label}辦理情形。",
                )
                for k, item in enumerate(items)
            ]  # fmt: skip
            session.add(report)
            n += 1
    session.flush()
    return n


def _claims(session: Session, rng: random.Random, users: dict[str, User], years: list[int]) -> int:
    """One claim per subsidised demo application, taken as far as its year has come."""
    n = 0
    apps = session.scalars(
        select(Application)
        .where(Application.is_demo, Application.status.in_((S.in_progress, S.completed)))
        .order_by(Application.id)
    ).all()
    for app in apps:
        community = session.get(Community, app.community_id)
        lines = session.scalars(
            select(BudgetLine)
            .where(BudgetLine.application_id == app.id)
            .order_by(BudgetLine.line_no)
        ).all()
        if not lines:
            continue
        community_actor = _actor(session, Role.community, community, users)
        receipt = WorkflowFile(
            application_id=app.id, purpose="receipt", filename="支出憑證（示範）.pdf",
            content_type="application/pdf", size_bytes=len(RECEIPT_PDF), sha256="0" * 64,
            data=RECEIPT_PDF, uploaded_by=community_actor.user_id,
        )  # fmt: skip
        session.add(receipt)
        session.flush()
        claim = ExpenseClaim(
            application_id=app.id, title=f"民國 {app.year - 1911} 年度經費核銷{DEMO_LABEL}"
        )
        claim.items = [
            ClaimItem(
                line_no=i, budget_line_id=b.id, item=b.item, description=b.name, amount=b.amount,
                vendor="示範商行", receipt_no=f"DEMO-{app.id:04d}-{i:02d}", receipt_file_id=receipt.id,
                spent_on=dt.date(app.year, rng.randint(3, 10), rng.randint(1, 28)),
            )
            for i, b in enumerate(lines, start=1)
        ]  # fmt: skip
        session.add(claim)
        session.flush()
        # The claim's path: all the way for a finished year; this year's stop along the way.
        target = ClaimStatus.closed if app.status is S.completed else rng.choice(
            (ClaimStatus.draft, ClaimStatus.submitted, ClaimStatus.checked)
        )  # fmt: skip
        steps = [
            (ClaimStatus.submitted, Role.community),
            (ClaimStatus.checked, Role.precinct),
            (ClaimStatus.closed, Role.city_police),
        ]
        for status, role in steps:
            if target is ClaimStatus.draft:
                break
            claims.move_claim(
                session, _actor(session, role, community, users), claim.id,
                claims.ClaimMoveIn(to=status, comment="經審核無誤。" if role is not Role.community else None),
            )  # fmt: skip
            if status is target:
                break
        n += 1
    # A receipt found untrue in the finished year: the city claws the money back (拾貳、一).
    first_closed = session.scalar(
        select(ExpenseClaim)
        .where(ExpenseClaim.status == ClaimStatus.closed)
        .order_by(ExpenseClaim.id)
        .limit(1)
    )
    if first_closed is not None:
        community = session.get(
            Community, session.get(Application, first_closed.application_id).community_id
        )
        item = first_closed.items[-1]
        claims.add_clawback(
            session, _actor(session, Role.city_police, community, users), first_closed.id,
            claims.ClawbackIn(amount=min(item.amount, 5_000), reason=f"支出憑證經查與實際支出不符。{DEMO_LABEL}",
                              claim_item_id=item.id),
        )  # fmt: skip
    return n


def _evaluation(
    session: Session, rng: random.Random, users: dict[str, User], counsellors: list[User], year: int
) -> int:
    """Last year's evaluation: one nomination per precinct, three sheets each, published."""
    rubric = load_rubric()
    apps = session.execute(
        select(Application, Community)
        .join(Community, Community.id == Application.community_id)
        .join(Precinct, Precinct.id == Community.precinct_id)
        .where(Application.year == year, Application.is_demo, Application.status == S.completed)
        .order_by(Precinct.name, Application.id)
    ).all()
    seen: set[int] = set()
    nominated = []
    for app, community in apps:
        if community.precinct_id in seen:
            continue
        seen.add(community.precinct_id)
        actor = _actor(session, Role.precinct, community, users)
        nominated.append(
            evaluation_service.nominate(
                session, actor, year,
                evaluation_service.NominationIn(application_id=app.id, preliminary_score=Decimal(80 + len(nominated) % 15)),
            )
        )  # fmt: skip
    # Distinct totals so the published ranking needs no panel decision.
    totals = rng.sample(range(70, 96), k=len(nominated)) if len(nominated) <= 26 else []
    for nom, total in zip(nominated, totals, strict=False):
        for k, scorer in enumerate(counsellors):
            t = Decimal(total + (k - 1))  # the three counsellors differ by a point
            scores = {
                c.code: (c.weight * t / 100).quantize(Decimal("0.01")) for c in rubric.criteria
            }
            diff = t - sum(scores.values())
            scores[rubric.criteria[0].code] += diff
            evaluation_service.save_sheet(
                session,
                Actor.from_user(scorer),
                nom["id"],
                evaluation_service.SheetIn(scores=scores),
            )
    city = next((u for u in users.values() if u.role is Role.city_police), None)
    if city is not None and nominated:
        evaluation_service.finalise(
            session, Actor.from_user(city), year, evaluation_service.FinaliseIn()
        )
    return len(nominated)
