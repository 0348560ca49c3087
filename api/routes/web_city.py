"""The city police bureau's pages (issue 7, item 4): evaluation scoring sheets for the
counselling team, the ranking, awards and certificates, the year's rubric, staff rewards
(敘獎) and every export the city needs.

Pages read through the same services as the JSON API (``workflow.evaluation_service``,
``workflow.rewards_service``, ``workflow.applications``, ``workflow.claims``), so scoping and
rules are theirs. Plain HTML forms post back here with the CSRF field; a form that fails
validation is shown again with what was typed and a zh-TW message beside each field. Each
write runs in a savepoint, so a refused one leaves nothing behind when the page is re-shown.

CSV exports are UTF-8 with a byte-order mark (Excel otherwise reads them as Big5) and cells
that would start a formula are quoted as text. No export reads the protection referrals
(社會局 records): they are built only from applications, claims, evaluation and rewards.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from geo.enums import Role
from geo.errors import NotFound, SafemapError
from geo.models import ProgramYear, User
from workflow import applications as apps
from workflow import evaluation as rules
from workflow import evaluation_service as evaluation
from workflow import exports, home, rewards_service
from workflow.access import Actor, get_community
from workflow.errors import WorkflowConflict
from workflow.rewards import UnitKind
from workflow.roc import roc_year
from workflow.settings import Post

from ..deps import OptionalUser, SessionDep
from .pages import CsrfChecked, render
from .web import _communities, _gate, _page, _SignIn

router = APIRouter(include_in_schema=False)

EVALUATION_ROLES = (Role.city_police, Role.counselling, Role.admin)
CITY_ROLES = (Role.city_police, Role.admin)
SAVED = {
    "draft": "評分表草稿已儲存。",
    "submitted": "評分表已送出。",
    "published": "評鑑結果已確認並公布。",
    "rubric": "評分表已更新。",
    "headcount": "人數已更新，敘獎表已重新核算。",
    "confirmed": "敘獎表已確認。",
}


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form as text fields (the sheet's field names depend on the year's rubric)."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


FormFields = Annotated[dict[str, str], Depends(form_fields)]


def _year(session, year: int | None) -> int | None:
    return year or home.current_year(session)


def _years(session) -> list[dict]:
    years = session.scalars(select(ProgramYear.year).order_by(ProgramYear.year.desc())).all()
    return [{"year": y, "roc_year": roc_year(y)} for y in years]


def _int(raw: str | None) -> int | None:
    try:
        return int((raw or "").strip())
    except ValueError:
        return None


def _post(request: Request, user: User | None, roles: tuple[Role, ...]) -> User | Response:
    """Gate a form post like a page: signed out → sign-in page; another role → 403."""
    try:
        return _gate(request, user, roles)
    except _SignIn:
        return RedirectResponse("/login", status_code=303)


def _year_post(
    request: Request, user: User | None, fields: dict[str, str], what: str
) -> Response | tuple[User, Actor, int]:
    """Gate a city form post about one programme year (as :func:`_post`) and read its year;
    a post without one names no year that exists: 404."""
    checked = _post(request, user, CITY_ROLES)
    if isinstance(checked, Response):
        return checked
    year = _int(fields.get("year"))
    if year is None:
        raise NotFound("找不到此計畫年度。", detail=f"{what} without year")
    return checked, Actor.from_user(checked), year


# --------------------------------------------------------------------------- evaluation
def _evaluation_context(session, u: User, actor: Actor, year: int | None) -> dict:
    context: dict = {"title": "評鑑、排名與獎項", "years": _years(session), "year": year}
    if year is None:
        return context
    progress = evaluation.progress(session, actor, year)
    results = evaluation.results(session, actor, year)
    tiers = evaluation.award_tiers(session, year)
    mine = None
    if u.role is Role.counselling:
        mine = {
            r["id"]: next((c for c in r["cells"] if c["scorer_id"] == u.id), None)
            for r in progress["rows"]
        }
    ranked = [e for e in results["entries"] if e["rank"] is not None]
    awarded = [
        {
            **e,
            "tier_min": tiers[e["tier"]].amount_min,
            "tier_max": tiers[e["tier"]].amount_max,
            "range": rules.amount_label(tiers[e["tier"]]),
        }
        for e in ranked
        if e["tier"]
    ]
    return {
        **context,
        "roc_year": roc_year(year),
        "progress": progress,
        "results": results,
        "show_ranking": results["finalised"] or (progress["complete"] and bool(ranked)),
        "awarded": awarded,
        "mine": mine,
        "is_city": u.role in CITY_ROLES,
        "rubric": evaluation.read_rubric(session, actor, year),
        "certificates": evaluation.certificates(session, actor, year)
        if results["finalised"]
        else [],
        "amounts": {},
    }


@router.get("/app/evaluation", response_class=HTMLResponse)
def evaluation_page(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    year: int | None = None,
    saved: str | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        context = _evaluation_context(session, u, actor, _year(session, year))
        return "pages/evaluation.html", {**context, "notice": SAVED.get(saved or "")}

    return _page(request, user, EVALUATION_ROLES, build)


@router.post("/app/evaluation/finalise", response_class=HTMLResponse, dependencies=[CsrfChecked])
def evaluation_finalise(
    request: Request, session: SessionDep, user: OptionalUser, fields: FormFields
) -> Response:
    """The city confirms the ranking and each award's amount within its tier, and publishes."""
    gate = _year_post(request, user, fields, "finalise")
    if isinstance(gate, Response):
        return gate
    checked, actor, year = gate
    context = _evaluation_context(session, checked, actor, year)
    amounts: dict[int, int] = {}
    errors: dict[str, str] = {}
    for e in context["awarded"]:
        key = f"amount_{e['community_id']}"
        raw = (fields.get(key) or "").strip().replace(",", "")
        value = _int(raw)
        low, high = e["tier_min"], e["tier_max"]
        if not raw and low is None and high is None:
            continue  # 酌發獎勵金: the amount may be left open
        if value is None:
            errors[key] = f"請填寫「{e['community']}」的獎勵金（整數，元）。"
        elif (low is not None and value < low) or (high is not None and value > high) or value < 0:
            errors[key] = f"{e['tier']}的獎勵金須在{e['range']}之間，您填的是 {raw} 元。"
        else:
            amounts[e["community_id"]] = value
    typed = {k: v for k, v in fields.items() if k.startswith("amount_")}
    if not errors:
        try:
            with session.begin_nested():
                evaluation.finalise(session, actor, year, evaluation.FinaliseIn(amounts=amounts))
        except SafemapError as exc:
            return render(
                request,
                "pages/evaluation.html",
                {"user": checked, **context, "amounts": typed, "error": exc.message},
                status_code=409 if isinstance(exc, WorkflowConflict) else 400,
            )
        return RedirectResponse(f"/app/evaluation?year={year}&saved=published", status_code=303)
    return render(
        request,
        "pages/evaluation.html",
        {
            "user": checked,
            **context,
            "amounts": typed,
            "field_errors": errors,
            "error": "獎勵金有誤，請依欄位旁的說明修正後再送出。",
        },
        status_code=400,
    )


def _sheet_context(data: dict, values: dict | None = None) -> dict:
    nomination = data["nomination"]
    return {
        "title": f"評分表：{nomination['community']}",
        "n": nomination,
        "roc_year": roc_year(nomination["year"]),
        "rubric": data["rubric"],
        "sheet": data,
        "scores": (values or {}).get("scores", data["scores"]),
        "comments": (values or {}).get("comments", data["comments"]),
        "comment": (values or {}).get("comment", data["comment"]),
        "readonly": data["finalised"] or not data["on_panel"],
    }


@router.get("/app/evaluation/sheets/{nomination_id}", response_class=HTMLResponse)
def sheet_page(
    request: Request, nomination_id: int, session: SessionDep, user: OptionalUser
) -> Response:
    def build(u: User, actor: Actor):
        return "pages/evaluation_sheet.html", _sheet_context(
            evaluation.sheet_for(session, actor, nomination_id)
        )

    return _page(request, user, (Role.counselling,), build)


@router.post(
    "/app/evaluation/sheets/{nomination_id}",
    response_class=HTMLResponse,
    dependencies=[CsrfChecked],
)
def sheet_save(
    request: Request,
    nomination_id: int,
    session: SessionDep,
    user: OptionalUser,
    fields: FormFields,
) -> Response:
    checked = _post(request, user, (Role.counselling,))
    if isinstance(checked, Response):
        return checked
    actor = Actor.from_user(checked)
    data = evaluation.sheet_for(session, actor, nomination_id)
    rubric = data["rubric"]
    submit = fields.get("action") == "submit"
    typed = {
        "scores": {c.code: fields.get(f"score_{c.code}", "") for c in rubric.criteria},
        "comments": {c.code: fields.get(f"comment_{c.code}", "") for c in rubric.criteria},
        "comment": fields.get("comment", ""),
    }
    context = {"user": checked, **_sheet_context(data, typed)}
    scores, errors = evaluation.parse_sheet_form(
        rubric, typed["scores"], typed["comments"], submit=submit
    )
    if len(typed["comment"]) > evaluation.COMMENT_LIMIT:
        errors["comment"] = f"總評最多 {evaluation.COMMENT_LIMIT} 字。"
    if errors:
        return render(
            request,
            "pages/evaluation_sheet.html",
            {
                **context,
                "field_errors": errors,
                "error": f"評分表有 {len(errors)} 處需要修正，請依欄位旁的說明修改。",
            },
            status_code=400,
        )
    body = evaluation.SheetIn(
        scores=scores,
        comments={k: v.strip() for k, v in typed["comments"].items() if v.strip()},
        comment=typed["comment"].strip(),
        submit=submit,
    )
    try:
        with session.begin_nested():
            evaluation.save_sheet(session, actor, nomination_id, body)
    except SafemapError as exc:
        return render(
            request,
            "pages/evaluation_sheet.html",
            {**context, "error": exc.message},
            status_code=409 if isinstance(exc, WorkflowConflict) else 400,
        )
    saved = "submitted" if submit else "draft"
    year = data["nomination"]["year"]
    return RedirectResponse(f"/app/evaluation?year={year}&saved={saved}", status_code=303)


# --------------------------------------------------------------------------- rubric
def _rubric_rows(data: dict) -> list[dict]:
    return [
        {
            "code": c["code"],
            "name": c["name"],
            "weight": str(c["weight"]),
            "comment_required": c.get("comment_required", False),
            "existing": True,
            "remove": False,
        }
        for c in data["criteria"]
    ]


def _rubric_context(data: dict, rows: list[dict]) -> dict:
    return {
        "title": "評鑑評分表設定",
        "rubric": data,
        "year": data["year"],
        "roc_year": data["roc_year"],
        "rows": rows,
        "new_row": {"code": "", "name": "", "weight": "", "comment_required": False},
    }


@router.get("/app/evaluation/rubric", response_class=HTMLResponse)
def rubric_page(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    year: int | None = None,
    saved: str | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        chosen = _year(session, year)
        if chosen is None:
            raise NotFound("尚未開辦計畫年度。", detail="no program year")
        data = evaluation.read_rubric(session, actor, chosen)
        return "pages/rubric.html", {
            **_rubric_context(data, _rubric_rows(data)),
            "notice": SAVED.get(saved or ""),
        }

    return _page(request, user, CITY_ROLES, build)


@router.post("/app/evaluation/rubric", response_class=HTMLResponse, dependencies=[CsrfChecked])
def rubric_save(
    request: Request, session: SessionDep, user: OptionalUser, fields: FormFields
) -> Response:
    gate = _year_post(request, user, fields, "rubric")
    if isinstance(gate, Response):
        return gate
    checked, actor, year = gate
    data = evaluation.read_rubric(session, actor, year)
    count = min(_int(fields.get("rows")) or 0, 40)
    rows, items, errors = [], [], {}
    for i in range(count + 1):  # the last one is the blank row for a new item
        row = {
            "code": (fields.get(f"code_{i}") or "").strip(),
            "name": (fields.get(f"name_{i}") or "").strip(),
            "weight": (fields.get(f"weight_{i}") or "").strip(),
            "comment_required": fields.get(f"required_{i}") == "on",
            "existing": i < count and fields.get(f"new_{i}") != "1",
            "remove": fields.get(f"remove_{i}") == "on",
        }
        if i == count:
            if not (row["code"] or row["name"] or row["weight"]):
                continue
            row["existing"] = False
        rows.append(row)
        if row["remove"]:
            continue
        k = len(rows) - 1
        if not row["name"]:
            errors[f"name_{k}"] = "請填寫項目名稱。"
        weight = _int(row["weight"])
        if weight is None or not 0 < weight <= rules.RUBRIC_TOTAL:
            errors[f"weight_{k}"] = f"配分須為 1 至 {rules.RUBRIC_TOTAL} 的整數。"
        code = row["code"]
        if not code or not code.isascii() or not code.replace("_", "").isalnum():
            errors[f"code_{k}"] = "代碼須為英文小寫、數字或底線（例如 patrol_2）。"
        elif not code[0].isalpha() or code != code.lower() or len(code) > 32:
            errors[f"code_{k}"] = "代碼須以英文小寫字母開頭，最多 32 字元。"
        elif any(code == r["code"] for r in rows[:-1] if not r["remove"]):
            errors[f"code_{k}"] = f"代碼「{code}」重複。"
        items.append(
            {
                "code": code,
                "name": row["name"],
                "weight": weight,
                "comment_required": row["comment_required"],
            }
        )
    total = sum(_int(r["weight"]) or 0 for r in rows if not r["remove"])
    context = {"user": checked, **_rubric_context(data, rows)}
    if not items:
        errors["rows"] = "評分表至少要有一個項目。"
    elif not errors and total != rules.RUBRIC_TOTAL:
        errors["total"] = f"各項配分合計須為 {rules.RUBRIC_TOTAL} 分，目前合計 {total} 分。"
    if errors:
        return render(
            request,
            "pages/rubric.html",
            {**context, "field_errors": errors, "error": "評分表設定有誤，請依說明修正。"},
            status_code=400,
        )
    try:
        with session.begin_nested():
            evaluation.update_rubric(
                session,
                actor,
                year,
                evaluation.RubricIn(name=data["name"], criteria=items),
            )
    except (SafemapError, ValidationError) as exc:
        message = exc.message if isinstance(exc, SafemapError) else "評分表設定有誤，請檢查各欄。"
        return render(
            request,
            "pages/rubric.html",
            {**context, "error": message},
            status_code=409 if isinstance(exc, WorkflowConflict) else 400,
        )
    return RedirectResponse(f"/app/evaluation/rubric?year={year}&saved=rubric", status_code=303)


# --------------------------------------------------------------------------- staff rewards
# The posts whose number the plan leaves to each station (警勤區員警 擇優半數, 副所長).
HEADCOUNT_POSTS = (Post.beat_officer, Post.deputy_station_chief)


def _rewards_context(session, actor: Actor, year: int | None) -> dict:
    context: dict = {"title": "敘獎（獎勵核算）", "years": _years(session), "year": year}
    if year is None:
        return context
    data = rewards_service.compute(session, actor, year)
    rows = rewards_service.table(data)
    confirmed = rewards_service.confirmation(session, year)
    units = [
        {"value": f"{u['kind']}:{u['unit_id']}", "label": f"{u['unit']}（{u['kind_label']}）"}
        for u in data["units"]
        if u["kind"] == UnitKind.station.value
    ]
    return {
        **context,
        "roc_year": roc_year(year),
        "data": data,
        "columns": rewards_service.REWARD_COLUMNS,
        "rows": rows,
        "confirmed": confirmed,
        "changed": confirmed is not None and confirmed["rows"] != _jsonish(rows),
        "units": units,
        "posts": [(p.value, p.label) for p in HEADCOUNT_POSTS],
        "headcount": {},
    }


def _jsonish(rows: list[list]) -> list[list]:
    # The confirmed copy went through JSONB: compare like with like.
    return [[c if isinstance(c, int | str) else str(c) for c in r] for r in rows]


@router.get("/app/rewards", response_class=HTMLResponse)
def rewards_page(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    year: int | None = None,
    saved: str | None = None,
) -> Response:
    def build(u: User, actor: Actor):
        context = _rewards_context(session, actor, _year(session, year))
        return "pages/rewards.html", {**context, "notice": SAVED.get(saved or "")}

    return _page(request, user, CITY_ROLES, build)


@router.post("/app/rewards/headcounts", response_class=HTMLResponse, dependencies=[CsrfChecked])
def rewards_headcount(
    request: Request, session: SessionDep, user: OptionalUser, fields: FormFields
) -> Response:
    """The city adjusts the table: how many people hold a post of a unit (擇優半數, 副所長)."""
    gate = _year_post(request, user, fields, "headcount")
    if isinstance(gate, Response):
        return gate
    checked, actor, year = gate
    context = _rewards_context(session, actor, year)
    typed = {k: fields.get(k, "") for k in ("unit", "post", "persons")}
    errors = {}
    if typed["unit"] not in {u["value"] for u in context["units"]}:
        errors["unit"] = "請選擇單位。"
    if typed["post"] not in {p for p, _ in context["posts"]}:
        errors["post"] = "請選擇職務。"
    persons = _int(typed["persons"])
    if persons is None or not 0 <= persons <= 1000:
        errors["persons"] = "人數須為 0 至 1000 的整數。"
    if errors:
        return render(
            request,
            "pages/rewards.html",
            {**context, "user": checked, "headcount": typed, "field_errors": errors},
            status_code=400,
        )
    kind, unit_id = typed["unit"].split(":")
    with session.begin_nested():
        rewards_service.set_headcount(
            session,
            actor,
            year,
            rewards_service.HeadcountIn(
                unit_kind=kind, unit_id=int(unit_id), post=typed["post"], persons=persons
            ),
        )
    return RedirectResponse(f"/app/rewards?year={year}&saved=headcount", status_code=303)


@router.post("/app/rewards/confirm", dependencies=[CsrfChecked])
def rewards_confirm(
    request: Request, session: SessionDep, user: OptionalUser, fields: FormFields
) -> Response:
    gate = _year_post(request, user, fields, "confirm")
    if isinstance(gate, Response):
        return gate
    _, actor, year = gate
    rewards_service.confirm(session, actor, year)
    return RedirectResponse(f"/app/rewards?year={year}&saved=confirmed", status_code=303)


# --------------------------------------------------------------------------- exports
def csv_response(name: str, header, rows) -> Response:
    return Response(
        exports.csv_bytes(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}.csv\"; filename*=UTF-8''"
            f"{quote(name)}.csv",
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/app/exports", response_class=HTMLResponse)
def exports_page(
    request: Request, session: SessionDep, user: OptionalUser, year: int | None = None
) -> Response:
    def build(u: User, actor: Actor):
        chosen = _year(session, year)
        return "pages/exports.html", {
            "title": "匯出資料",
            "years": _years(session),
            "year": chosen,
            "roc_year": roc_year(chosen) if chosen else None,
            "exports": [(k, v[0]) for k, v in exports.EXPORTS.items()],
            "communities": _communities(session, actor),
        }

    return _page(request, user, CITY_ROLES, build)


@router.get("/app/exports/community")
def export_community(
    request: Request,
    session: SessionDep,
    user: OptionalUser,
    community_id: int | None = None,
    format: str = "gpkg",
) -> Response:
    """A chosen community's safety map through the existing export API (no script needed)."""
    checked = _post(request, user, CITY_ROLES)
    if isinstance(checked, Response):
        return checked
    if community_id is None:
        return RedirectResponse("/app/exports", status_code=303)
    get_community(session, Actor.from_user(checked), community_id)
    fmt = format if format in ("gpkg", "kml", "kmz") else "gpkg"
    return RedirectResponse(f"/api/communities/{community_id}/export?format={fmt}", status_code=303)


@router.get("/app/exports/{name}.csv")
def export_csv(
    request: Request, name: str, session: SessionDep, user: OptionalUser, year: int | None = None
) -> Response:
    checked = _post(request, user, CITY_ROLES)
    if isinstance(checked, Response):
        return checked
    if name not in exports.EXPORTS:
        raise NotFound("沒有這項匯出。", detail=f"export {name}")
    chosen = _year(session, year)
    if chosen is None:
        raise NotFound("尚未開辦計畫年度。", detail="no program year")
    apps.get_year(session, chosen)
    _label, build = exports.EXPORTS[name]
    header, rows = build(session, Actor.from_user(checked), chosen)
    stamp = dt.date.today().isoformat()
    return csv_response(f"{name}-{chosen}-{stamp}", header, rows)
