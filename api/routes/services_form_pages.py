"""Plain HTML forms for the services' actions, so every service runs end to end from the pages
(no /docs, no script needed): a form page under ``/services/...`` and its POST under
``/app/services/...``.

POSTs live under ``/app/`` because that is where the session cookie's CSRF check is the
form's hidden ``csrf`` field (``CsrfChecked``) rather than a header. Each POST parses the form
into typed values with zh-TW field errors, calls the same workflow function as the JSON API
inside a savepoint, and answers 303 to the record's page; on bad input the page is rendered
again with what was typed and the message under its field (400, or 409 when the record's
state does not allow the action). Who may do what is decided by the workflow functions; the
pages only hide forms a role could not submit.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData, UploadFile

from geo.enums import Role
from geo.enums_services import BulletinScope
from geo.errors import (
    GeometryOutOfBounds,
    InvalidGeometry,
    InvalidInput,
    NotFound,
    SafemapError,
)
from geo.layers import VersionConflict
from geo.models import District
from workflow import bulletins, consultations, disaster, promotion, protection, watch_teams
from workflow.access import Actor, require_role, require_signed_in
from workflow.service_states import InvalidServiceTransition
from workflow.services_access import (
    COMMUNITY_BULLETIN_EDITORS,
    CONSULTATION_FILERS,
    DISTRICT_BULLETIN_EDITORS,
    PROTECTION_FILERS,
)

from ..deps import ActorDep, SessionDep
from .pages import CsrfChecked
from .services_pages import LOCAL, Typed, render
from .web import _basemap, _communities

forms = APIRouter(include_in_schema=False)
ACT = "/app/services"
DATE_HINT = "（例如 2026-03-01）"


# --------------------------------------------------------------------------- parsing
class Form:
    """A submitted form read into typed values; problems collect in ``errors`` per field."""

    def __init__(self, data: FormData):
        self.raw = data
        self.typed = Typed(
            {k: [v for v in data.getlist(k) if isinstance(v, str)] for k in data if k != "csrf"}
        )
        self.errors: dict[str, str] = {}
        self.message: str | None = None

    def text(self, key: str, label: str | None = None) -> str:
        value = self.typed.get(key).strip()
        if label and not value:
            self.errors[key] = f"請填寫{label}。"
        return value

    def optional(self, key: str) -> str | None:
        return self.text(key) or None

    def choice(self, key: str, label: str) -> str:
        value = self.text(key)
        if not value:
            self.errors[key] = f"請選擇{label}。"
        return value

    def many(self, key: str) -> list[str]:
        return self.typed.data.get(key, [])

    def flag(self, key: str) -> bool:
        return self.typed.has(key)

    def lines(self, key: str) -> list[str]:
        """Names one per line (or separated by 、 or commas)."""
        return [n.strip() for n in re.split(r"[\n\r、,，]+", self.text(key)) if n.strip()]

    def _parse(self, key: str, label: str, required: bool, parse: Callable, hint: str):
        value = self.text(key)
        if not value:
            if required:
                self.errors[key] = f"請填寫{label}。"
            return None
        try:
            return parse(value)
        except ValueError:
            self.errors[key] = f"{label}格式不正確{hint}。"
            return None

    def date(self, key: str, label: str, *, required: bool = True) -> dt.date | None:
        return self._parse(key, label, required, dt.date.fromisoformat, DATE_HINT)

    def time(self, key: str, label: str, *, required: bool = True) -> dt.time | None:
        return self._parse(key, label, required, dt.time.fromisoformat, "（例如 19:30）")

    def int(
        self, key: str, label: str, *, required: bool = True, minimum: int | None = None
    ) -> int | None:
        value = self._parse(key, label, required, int, "，請填整數")
        if value is not None and minimum is not None and value < minimum:
            self.errors[key] = f"{label}須為 {minimum} 以上的整數。"
            return None
        return value

    def id(self, key: str, label: str, *, required: bool = True) -> int | None:
        value = self.int(key, label, required=required)
        if required and value is None and key not in self.errors:
            self.errors[key] = f"請選擇{label}。"
        return value

    def point(self, label: str, *, required: bool = True) -> dict | None:
        """A GeoJSON Point from the ``lon``/``lat`` fields (filled by clicking the map)."""
        lon = self._parse("lon", "經度", False, float, "，例如 121.4627")
        lat = self._parse("lat", "緯度", False, float, "，例如 25.0116")
        if required and not self.text("lon") and not self.text("lat"):
            self.errors["lat"] = f"請在地圖上點選{label}，或填寫經緯度。"
        if lon is None or lat is None:
            return None
        return {"type": "Point", "coordinates": [lon, lat]}

    def file(self, key: str) -> UploadFile | None:
        value = self.raw.get(key)
        return value if isinstance(value, UploadFile) and value.filename else None

    def fail(self, exc: SafemapError, aliases: dict[str, str]) -> None:
        """Put a workflow error under the field it names (its ``detail`` starts with the key),
        or above the form when it names none."""
        if isinstance(exc, GeometryOutOfBounds | InvalidGeometry) and "lat" in self.typed:
            self.errors["lat"] = exc.message
            return
        words = re.findall(r"[a-z_]+", exc.detail or "")
        for word in words:
            key = aliases.get(word, word)
            if key in self.typed or key in aliases.values():
                self.errors[key] = exc.message
                return
        self.message = exc.message


async def read_form(request: Request) -> Form:
    return Form(await request.form())


FormDep = Annotated[Form, Depends(read_form)]


def submit(
    session,
    form: Form,
    action: Callable[[], Any],
    done: Callable[[Any], str],
    again: Callable[[Form, int], Response],
    aliases: dict[str, str] | None = None,
) -> Response:
    """Run ``action`` in a savepoint and go to ``done(result)``; on bad input, ``again``."""
    if form.errors:
        return again(form, 400)
    try:
        with session.begin_nested():
            result = action()
    except (InvalidInput, InvalidServiceTransition, VersionConflict) as exc:
        form.fail(exc, aliases or {})
        return again(form, 400 if isinstance(exc, InvalidInput) else 409)
    return RedirectResponse(done(result), status_code=303)


def _context(form: Form | None, name: str | None = None) -> dict:
    """What a page needs to show a failed form again (which form, typed values, messages)."""
    if form is None:
        return {}
    return {
        "values": form.typed,
        "field_errors": form.errors,
        "form_error": form.message,
        "failed": name,
    }


def _signed_in(request: Request, actor: Actor) -> Response | None:
    """Signed-out visitors of a form page go to the sign-in page and come back."""
    if actor.anonymous:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return None


def _districts(session, actor: Actor) -> list[dict]:
    stmt = select(District.id, District.name).order_by(District.code)
    if actor.role is Role.district_office:
        stmt = stmt.where(District.id == actor.district_id)
    return [{"id": r[0], "name": r[1]} for r in session.execute(stmt).all()]


def record_action(
    base: str,
    prefix: str,
    name: str,
    build: Callable[[Form, Actor, Any, int], Callable],
    page: Callable[..., Response],
    aliases: dict[str, str] | None = None,
):
    """One POST route per action on a record's page (``/services/{base}/{id}``): the action
    runs in a savepoint and returns to the page, or the page comes back with the form."""

    @forms.post(f"{ACT}/{base}/{{record_id}}/{name}", dependencies=[CsrfChecked])
    def action(
        record_id: int, request: Request, session: SessionDep, actor: ActorDep, form: FormDep
    ) -> Response:
        return submit(
            session,
            form,
            build(form, actor, session, record_id),
            lambda _: f"/services/{base}/{record_id}",
            lambda f, s: page(request, session, actor, record_id, f, name, s),
            aliases,
        )

    action.__name__ = f"{prefix}_{name.replace('-', '_')}"
    return action


def _new_form(request, session, actor, template: str, writers, form, status: int, **extra):
    """The form that files a new record, empty or shown again with what was typed and its
    errors: only for the roles that may file it, with the communities they may file for."""
    require_role(actor, *writers)
    return render(
        request,
        template,
        actor,
        status_code=status,
        communities=_communities(session, actor),
        **extra,
        **_context(form, "new"),
    )


# =========================================================================== 防竊達人
def _consultation_new(request, session, actor, form: Form | None = None, status: int = 200):
    return _new_form(
        request, session, actor, "consultation_new.html", CONSULTATION_FILERS, form, status,
        basemap=_basemap(),
    )  # fmt: skip


@forms.get("/services/consultations/new", response_class=HTMLResponse)
def consultation_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _signed_in(request, actor) or _consultation_new(request, session, actor)


@forms.post(f"{ACT}/consultations", dependencies=[CsrfChecked])
def consultation_file(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    reason = form.text("reason") or "general"
    data = {
        "reason": reason,
        "household_name": form.text("household_name", "申請人姓名"),
        "phone": form.optional("phone"),
        "address": form.text("address", "地址"),
        "location": form.point("住家位置"),
        "burgled_on": form.date("burgled_on", "失竊日期", required=reason == "burgled"),
        "request_note": form.text("request_note"),
        "community_id": form.id("community_id", "社區", required=actor.role is Role.community),
    }

    def done(record):
        if actor.role in consultations.CONSULTATION_OFFICERS:
            return f"/services/consultations/{record.id}"
        return "/services/consultations"

    return submit(
        session,
        form,
        lambda: consultations.file_request(session, actor, data),
        done,
        lambda f, s: _consultation_new(request, session, actor, f, s),
        {"location": "lat", "village": "lat", "precinct": "lat"},
    )


def _consultation_page(request, session, actor, cid: int, form: Form, name: str, status: int):
    item = consultations.get(session, actor, cid)
    return render(
        request, "consultation.html", actor, status_code=status, item=item, **_context(form, name)
    )


# Workflow error details name the JSON fields; these are the form's names for them.
CONSULTATION_ALIASES = {
    "note": "follow_note",
    "comment": "cancel_comment",
    "photo": "photo",
    "next": "next_follow_up_on",
    "visit": "visited_on",
    **{item.value: f"rating_{item.value}" for item in consultations.ChecklistItem},
}


def _assign(form: Form, actor: Actor, session, cid: int):
    name = form.text("consultant_name", "防竊顧問姓名")
    scheduled = form.date("scheduled_for", "預定勘查日期", required=False)
    return lambda: consultations.assign(
        session, actor, cid, consultant_name=name, scheduled_for=scheduled
    )


def _visit(form: Form, actor: Actor, session, cid: int):
    checklist = {}
    for item in consultations.ChecklistItem:
        rating = form.text(f"rating_{item.value}")
        if not rating:
            form.errors[f"rating_{item.value}"] = f"請為「{item.label}」評定結果。"
        checklist[item.value] = {"rating": rating, "note": form.text(f"note_{item.value}")}
    visited_on = form.date("visited_on", "勘查日期")
    advice = form.text("advice", "防竊建議")
    follow_up_on = form.date("follow_up_on", "追蹤日期", required=False)
    photo = form.file("photo")
    photo_bytes = photo.file.read() if photo else b""

    def run():
        record = consultations.record_visit(
            session,
            actor,
            cid,
            visited_on=visited_on,
            checklist=checklist,
            advice=advice,
            follow_up_on=follow_up_on,
        )
        if photo is not None:
            try:
                consultations.add_photo(
                    session, actor, cid, photo.filename, photo_bytes, form.optional("caption")
                )
            except InvalidInput as exc:
                raise InvalidInput(exc.message, detail=f"photo: {exc.detail}") from None
        return record

    return run


def _photo(form: Form, actor: Actor, session, cid: int):
    photo = form.file("photo")
    if photo is None:
        form.errors["photo"] = "請選擇照片檔案。"
        return lambda: None
    data = photo.file.read()
    return lambda: consultations.add_photo(
        session, actor, cid, photo.filename, data, form.optional("caption")
    )


def _follow_up(form: Form, actor: Actor, session, cid: int):
    on = form.date("followed_up_on", "追蹤日期")
    note = form.text("follow_note", "追蹤情形")
    later = form.date("next_follow_up_on", "下次追蹤日期", required=False)
    return lambda: consultations.follow_up(
        session, actor, cid, followed_up_on=on, note=note, next_follow_up_on=later
    )


def _cancel(form: Form, actor: Actor, session, cid: int):
    comment = form.text("cancel_comment", "取消原因")
    return lambda: consultations.cancel(session, actor, cid, comment)


for _name, _build in (
    ("assign", _assign),
    ("visit", _visit),
    ("photos", _photo),
    ("follow-up", _follow_up),
    ("cancel", _cancel),
):
    record_action(
        "consultations", "consultation", _name, _build, _consultation_page, CONSULTATION_ALIASES
    )


# =========================================================================== 消防局
def _disaster_new(request, session, actor, form: Form | None = None, status: int = 200):
    return _new_form(
        request, session, actor, "disaster_new.html", disaster.FILERS, form, status,
        min_date=dt.date.today() + dt.timedelta(days=1),
    )  # fmt: skip


@forms.get("/services/disaster-requests/new", response_class=HTMLResponse)
def disaster_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _signed_in(request, actor) or _disaster_new(request, session, actor)


@forms.post(f"{ACT}/disaster-requests", dependencies=[CsrfChecked])
def disaster_file(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    community_id = form.id("community_id", "社區")
    topics = form.many("topics")
    if not topics:
        form.errors["topics"] = "請至少選擇一項宣導項目。"
    data = {
        "topics": topics,
        "content": form.text("content", "宣導內容"),
        "requested_date": form.date("requested_date", "宣導日期"),
        "start_time": form.time("start_time", "開始時間"),
        "end_time": form.time("end_time", "結束時間", required=False),
        "place": form.text("place", "宣導地點"),
        "expected_attendance": form.int("expected_attendance", "預估參加人數", minimum=1),
        "contact_name": form.text("contact_name", "聯絡人"),
        "contact_phone": form.text("contact_phone", "聯絡電話"),
        "fire_unit": form.optional("fire_unit"),
    }
    return submit(
        session,
        form,
        lambda: disaster.file_request(session, actor, community_id, data),
        lambda r: f"/services/disaster-requests/{r.id}",
        lambda f, s: _disaster_new(request, session, actor, f, s),
        {"end": "end_time", "start": "start_time"},
    )


def _disaster_page(request, session, actor, rid: int, form: Form, name: str, status: int):
    item = disaster.get(session, actor, rid)
    return render(
        request,
        "disaster_request.html",
        actor,
        status_code=status,
        item=item,
        **_context(form, name),
    )


def _accept(form: Form, actor: Actor, session, rid: int):
    names = form.lines("accept_instructors")
    reply = form.optional("accept_reply")
    return lambda: disaster.accept(session, actor, rid, instructors=names, reply=reply)


def _propose(form: Form, actor: Actor, session, rid: int):
    date = form.date("proposed_date", "建議日期")
    names = form.lines("propose_instructors")
    reply = form.text("propose_reply", "改期說明")
    return lambda: disaster.propose_date(
        session, actor, rid, proposed_date=date, instructors=names, reply=reply
    )


def _decline(form: Form, actor: Actor, session, rid: int):
    reply = form.text("decline_reply", "不予受理原因")
    return lambda: disaster.decline(session, actor, rid, reply)


def _agree(form: Form, actor: Actor, session, rid: int):
    return lambda: disaster.agree_date(session, actor, rid)


def _withdraw(form: Form, actor: Actor, session, rid: int):
    comment = form.optional("withdraw_comment")
    return lambda: disaster.withdraw(session, actor, rid, comment)


def _instructors(form: Form, actor: Actor, session, rid: int):
    names = form.lines("instructors")
    return lambda: disaster.set_instructors(session, actor, rid, names)


def _held(form: Form, actor: Actor, session, rid: int):
    held_on = form.date("held_on", "辦理日期")
    attendance = form.int("attendance", "實到人數", minimum=0)
    notes = form.optional("event_notes")
    return lambda: disaster.record_held(
        session, actor, rid, held_on=held_on, attendance=attendance, notes=notes
    )


for _name, _build in (
    ("accept", _accept),
    ("propose", _propose),
    ("decline", _decline),
    ("agree", _agree),
    ("withdraw", _withdraw),
    ("instructors", _instructors),
    ("held", _held),
):
    # Workflow error details name the JSON fields; these are the form's names for them.
    _aliases = {"notes": "event_notes", "reply": f"{_name}_reply", "comment": "withdraw_comment"}
    record_action("disaster-requests", "disaster", _name, _build, _disaster_page, _aliases)


# =========================================================================== 社會局
PROTECTION_FORMS = {"referrals": "referral_new.html", "care-visits": "care_visit_new.html"}


def _protection_new(request, session, actor, kind: str, form: Form | None = None, status=200):
    return _new_form(
        request, session, actor, PROTECTION_FORMS[kind], PROTECTION_FILERS, form, status
    )


@forms.get("/services/protection/referrals/new", response_class=HTMLResponse)
def referral_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _signed_in(request, actor) or _protection_new(request, session, actor, "referrals")


@forms.get("/services/protection/care-visits/new", response_class=HTMLResponse)
def care_visit_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _signed_in(request, actor) or _protection_new(request, session, actor, "care-visits")


@forms.post(f"{ACT}/protection/referrals", dependencies=[CsrfChecked])
def referral_file(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    data = {
        "kind": form.choice("kind", "通報類別"),
        "community_id": form.id("community_id", "社區", required=actor.role is Role.community),
        "subject_name": form.text("subject_name", "當事人姓名或稱呼"),
        "subject_age": form.optional("subject_age"),
        "subject_address": form.text("subject_address", "地址"),
        "contact_phone": form.optional("contact_phone"),
        "observed_on": form.date("observed_on", "發現日期", required=False),
        "description": form.text("description", "情形說明"),
        "immediate_danger": form.flag("immediate_danger"),
        "reporter_name": form.optional("reporter_name"),
    }
    return submit(
        session,
        form,
        lambda: protection.file_referral(session, actor, data, via="page"),
        lambda r: f"/services/protection/referrals/{r['id']}",
        lambda f, s: _protection_new(request, session, actor, "referrals", f, s),
    )


@forms.post(f"{ACT}/protection/care-visits", dependencies=[CsrfChecked])
def care_visit_file(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    data = {
        "community_id": form.id("community_id", "社區", required=actor.role is Role.community),
        "family_name": form.text("family_name", "家庭稱呼"),
        "address": form.text("address", "地址"),
        "visited_on": form.date("visited_on", "訪視日期"),
        "visitors": form.text("visitors", "訪視人員"),
        "situation": form.text("situation", "訪視情形"),
        "resources_offered": form.text("resources_offered"),
        "needs_follow_up": form.flag("needs_follow_up"),
    }
    return submit(
        session,
        form,
        lambda: protection.file_care_visit(session, actor, data, via="page"),
        lambda r: f"/services/protection/care-visits/{r['id']}",
        lambda f, s: _protection_new(request, session, actor, "care-visits", f, s),
    )


PROTECTION_MOVES = {
    ("referrals", "receive"): lambda s, a, i, f: protection.receive_referral(
        s, a, i, f.optional("case_ref")
    ),
    ("referrals", "close"): lambda s, a, i, f: protection.close_referral(s, a, i),
    ("care-visits", "receive"): lambda s, a, i, f: protection.receive_care_visit(s, a, i),
    ("care-visits", "close"): lambda s, a, i, f: protection.close_care_visit(s, a, i),
}


@forms.post(f"{ACT}/protection/{{kind}}/{{record_id}}/{{move}}", dependencies=[CsrfChecked])
def protection_move(
    kind: str,
    record_id: int,
    move: str,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    form: FormDep,
) -> Response:
    """Social affairs receives or closes a referral or a care visit."""
    run = PROTECTION_MOVES.get((kind, move))
    if run is None:
        raise NotFound("沒有這個頁面。", detail=f"protection {kind} {move}")
    template = "referral.html" if kind == "referrals" else "care_visit.html"
    read = protection.get_referral if kind == "referrals" else protection.get_care_visit

    def again(f: Form, status: int) -> Response:
        item = read(session, actor, record_id, via="page")
        return render(request, template, actor, status_code=status, item=item, **_context(f, move))

    return submit(
        session,
        form,
        lambda: run(session, actor, record_id, form),
        lambda _: f"/services/protection/{kind}/{record_id}",
        again,
    )


# =========================================================================== 宣導
def _promotion_new(request, session, actor, form: Form | None = None, status: int = 200):
    return _new_form(request, session, actor, "promotion_new.html", promotion.WRITERS, form, status)


@forms.get("/services/promotion-events/new", response_class=HTMLResponse)
def promotion_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _signed_in(request, actor) or _promotion_new(request, session, actor)


@forms.post(f"{ACT}/promotion-events", dependencies=[CsrfChecked])
def promotion_create(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    data = {
        "community_id": form.id("community_id", "社區"),
        "topic": form.choice("topic", "宣導主題"),
        "occasion": form.choice("occasion", "宣導場合"),
        "held_on": form.date("held_on", "宣導日期"),
        "title": form.text("title", "宣導名稱"),
        "audience": form.text("audience", "宣導對象"),
        "attendance": form.int("attendance", "參加人數", required=False, minimum=0) or 0,
        "speaker_unit": form.text("speaker_unit", "宣導單位"),
        "speaker_name": form.optional("speaker_name"),
        "notes": form.text("notes"),
    }
    return submit(
        session,
        form,
        lambda: promotion.create(session, actor, data),
        lambda r: f"/services/promotion-events/{r.id}",
        lambda f, s: _promotion_new(request, session, actor, f, s),
    )


# =========================================================================== 「e話」
def _bulletin_new(request, session, actor, form: Form | None = None, status: int = 200):
    require_role(actor, *(COMMUNITY_BULLETIN_EDITORS | DISTRICT_BULLETIN_EDITORS))
    communities = _communities(session, actor) if actor.role in COMMUNITY_BULLETIN_EDITORS else []
    districts = _districts(session, actor) if actor.role in DISTRICT_BULLETIN_EDITORS else []
    last_month = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return render(
        request,
        "bulletin_new.html",
        actor,
        status_code=status,
        communities=communities,
        districts=districts,
        default_month=last_month.strftime("%Y-%m"),
        **_context(form, "new"),
    )


@forms.get("/services/bulletins/new", response_class=HTMLResponse)
def bulletin_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _signed_in(request, actor) or _bulletin_new(request, session, actor)


@forms.post(f"{ACT}/bulletins", dependencies=[CsrfChecked])
def bulletin_generate(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    scope = form.text("scope") or BulletinScope.community.value
    month = form.text("month", "月份")
    if month and not re.fullmatch(r"\d{4}-\d{2}", month):
        form.errors["month"] = "月份格式不正確（例如 2026-03）。"
    community_id = form.id("community_id", "社區", required=scope == "community")
    district_id = form.id("district_id", "行政區", required=scope == "district")
    return submit(
        session,
        form,
        lambda: bulletins.create_issue(
            session,
            actor,
            scope=scope,
            month=f"{month}-01",
            community_id=community_id,
            district_id=district_id,
        ),
        lambda issue: f"/services/bulletins/{issue.id}/edit",
        lambda f, s: _bulletin_new(request, session, actor, f, s),
    )


def _bulletin_edit(request, session, actor, issue_id, form: Form | None = None, status=200):
    require_signed_in(actor)
    issue = bulletins.get(session, actor, issue_id)
    if not issue.get("editable"):
        # Published (archived) or not the caller's to edit: the printable page says which.
        return RedirectResponse(f"/services/bulletins/{issue_id}", status_code=303)
    if form is None:
        form_values = Typed.of(title=issue["title"], version=issue["version"], **issue["texts"])
        context = {"values": form_values}
    else:
        context = _context(form, "edit")
    return render(
        request,
        "bulletin_edit.html",
        actor,
        status_code=status,
        issue=issue,
        text_keys=bulletins.TEXT_KEYS,
        **context,
    )


@forms.get("/services/bulletins/{issue_id}/edit", response_class=HTMLResponse)
def bulletin_edit(
    issue_id: int, request: Request, session: SessionDep, actor: ActorDep
) -> Response:
    return _signed_in(request, actor) or _bulletin_edit(request, session, actor, issue_id)


@forms.post(f"{ACT}/bulletins/{{issue_id}}", dependencies=[CsrfChecked])
def bulletin_save(
    issue_id: int, request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    version = form.int("version", "版本")
    data = {
        "title": form.text("title", "標題"),
        "texts": {key: form.typed.get(key) for key in bulletins.TEXT_KEYS},
    }
    after = form.text("then")
    return submit(
        session,
        form,
        lambda: bulletins.update_issue(session, actor, issue_id, version, data),
        lambda _: (
            f"/services/bulletins/{issue_id}"
            if after == "preview"
            else f"/services/bulletins/{issue_id}/edit"
        ),
        lambda f, s: _bulletin_edit(request, session, actor, issue_id, f, s),
        {key: key for key in bulletins.TEXT_KEYS},
    )


@forms.post(f"{ACT}/bulletins/{{issue_id}}/{{move}}", dependencies=[CsrfChecked])
def bulletin_move(
    issue_id: int,
    move: str,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    form: FormDep,
) -> Response:
    """Regenerate a draft's figures from the data, or publish it to the public archive."""
    run = {"regenerate": bulletins.regenerate, "publish": bulletins.publish}.get(move)
    if run is None:
        raise NotFound("沒有這個頁面。", detail=f"bulletin {move}")
    target = "/edit" if move == "regenerate" else ""
    return submit(
        session,
        form,
        lambda: run(session, actor, issue_id),
        lambda _: f"/services/bulletins/{issue_id}{target}",
        lambda f, s: _bulletin_edit(request, session, actor, issue_id, f, s),
    )


# =========================================================================== 守望相助隊
def equipment(form: Form, key: str = "equipment") -> list[dict]:
    """「反光背心 10」 one item a line: a name and an optional quantity (default 1)."""
    out = []
    for line in form.text(key).splitlines():
        line = line.strip()
        if not line:
            continue
        match = re.fullmatch(r"(.+?)[\s×xX*]*(\d+)?\s*(?:件|支|個|台|頂|組|套)?", line)
        name, qty = (match.group(1), match.group(2)) if match else (line, None)
        out.append({"item": name.strip(), "quantity": int(qty) if qty else 1})
    return out


def _team_new(request, session, actor, form: Form | None = None, status: int = 200):
    return _new_form(
        request, session, actor, "watch_team_new.html", watch_teams.WRITERS, form, status
    )


@forms.get("/services/watch-teams/new", response_class=HTMLResponse)
def watch_team_new(request: Request, session: SessionDep, actor: ActorDep) -> Response:
    return _signed_in(request, actor) or _team_new(request, session, actor)


@forms.post(f"{ACT}/watch-teams", dependencies=[CsrfChecked])
def watch_team_create(
    request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    data = {
        "community_id": form.id("community_id", "社區"),
        "name": form.text("name", "隊名"),
        "founded_on": form.date("founded_on", "成立日期", required=False),
        "leader_name": form.optional("leader_name"),
        "phone": form.optional("phone"),
        "base_address": form.optional("base_address"),
        "equipment": equipment(form),
    }
    return submit(
        session,
        form,
        lambda: watch_teams.create_team(session, actor, data),
        lambda t: f"/services/watch-teams/{t.id}",
        lambda f, s: _team_new(request, session, actor, f, s),
        {"item": "equipment", "quantity": "equipment"},
    )


def _team_page(request, session, actor, team_id: int, form: Form, name: str, status: int):
    team = watch_teams.team_detail(session, actor, team_id)
    return render(
        request, "watch_team.html", actor, status_code=status, team=team, **_context(form, name)
    )


def _member(form: Form, actor: Actor, session, team_id: int):
    data = {
        "name": form.text("member_name", "姓名"),
        "phone": form.optional("member_phone"),
        "position": form.optional("position"),
        "joined_on": form.date("joined_on", "加入日期", required=False),
        "protection_trained": form.flag("protection_trained"),
        "disaster_trained": form.flag("disaster_trained"),
    }
    return lambda: watch_teams.add_member(session, actor, team_id, data)


def _remove_member(form: Form, actor: Actor, session, team_id: int):
    member_id = form.id("member_id", "隊員")
    return lambda: watch_teams.remove_member(session, actor, team_id, member_id)


def _shift(form: Form, actor: Actor, session, team_id: int):
    days = [int(d) for d in form.many("weekdays") if d.isdigit()]
    if not days:
        form.errors["weekdays"] = "請勾選巡守日。"
    data = {
        "weekdays": days,
        "start_time": form.time("shift_start", "開始時間"),
        "end_time": form.time("shift_end", "結束時間"),
        "min_members": form.int("min_members", "每班最少人數", required=False, minimum=1),
        "note": form.optional("shift_note"),
    }
    return lambda: watch_teams.add_shift(session, actor, team_id, data)


def _remove_shift(form: Form, actor: Actor, session, team_id: int):
    shift_id = form.id("shift_id", "班表")
    return lambda: watch_teams.remove_shift(session, actor, team_id, shift_id)


def _equipment_edit(form: Form, actor: Actor, session, team_id: int):
    version = form.int("version", "版本")
    items = equipment(form)
    return lambda: watch_teams.update_team(session, actor, team_id, version, {"equipment": items})


def _patrol(form: Form, actor: Actor, session, team_id: int):
    day = form.date("patrol_date", "巡守日期")
    start = form.time("patrol_start", "開始時間")
    end = form.time("patrol_end", "結束時間")
    started = ended = None
    if day and start and end:
        started = dt.datetime.combine(day, start, LOCAL)
        # A night patrol ends after midnight: an end before the start is the next morning.
        ended = dt.datetime.combine(day + dt.timedelta(days=end <= start), end, LOCAL)
    observations = []
    for i in range(3):
        text = form.text(f"obs_{i}")
        if not text:
            continue
        lon, lat = form.text(f"obs_{i}_lon"), form.text(f"obs_{i}_lat")
        location = None
        if lon and lat:
            try:
                location = {"type": "Point", "coordinates": [float(lon), float(lat)]}
            except ValueError:
                form.errors[f"obs_{i}_lat"] = "經緯度格式不正確（例如 121.4627、25.0116）。"
        observations.append(
            {
                "description": text,
                "category": form.optional(f"obs_{i}_category"),
                "severity": form.int(f"obs_{i}_severity", "嚴重程度", required=False) or 3,
                "location": location,
            }
        )
    data = {
        "started_at": started,
        "ended_at": ended,
        "members_present": form.int("members_present", "出勤人數", minimum=1),
        "member_names": form.optional("member_names"),
        "notes": form.text("patrol_notes"),
        "observations": observations,
    }
    return lambda: watch_teams.add_patrol_log(session, actor, team_id, data)


for _name, _build, _aliases in (
    ("members", _member, {"name": "member_name", "phone": "member_phone"}),
    ("members/remove", _remove_member, None),
    (
        "shifts",
        _shift,
        {"weekdays": "weekdays", "shift": "shift_start", "min_members": "min_members"},
    ),
    ("shifts/remove", _remove_shift, None),
    ("equipment", _equipment_edit, {"item": "equipment", "quantity": "equipment"}),
    (
        "patrol-logs",
        _patrol,
        {"times": "patrol_start", "patrol": "patrol_end", "members_present": "members_present"},
    ),
):
    record_action("watch-teams", "watch_team", _name, _build, _team_page, _aliases)


@forms.post(f"{ACT}/patrol-observations/{{observation_id}}/hazard", dependencies=[CsrfChecked])
def observation_hazard(
    observation_id: int, request: Request, session: SessionDep, actor: ActorDep, form: FormDep
) -> Response:
    """A patrol observation becomes a hazard on the community's safety map."""
    log_id = form.id("log_id", "巡守紀錄")
    overrides: dict[str, Any] = {}
    if form.text("category"):
        overrides["category"] = form.text("category")
    if form.text("title"):
        overrides["title"] = form.text("title")
    if form.text("lon") or form.text("lat"):
        overrides["geometry"] = form.point("問題點位置")

    def again(f: Form, status: int) -> Response:
        log = watch_teams.get_patrol_log(session, actor, log_id)
        return render(
            request,
            "patrol_log.html",
            actor,
            status_code=status,
            log=log,
            **_context(f, f"obs-{observation_id}"),
        )

    return submit(
        session,
        form,
        lambda: watch_teams.promote_observation(session, actor, observation_id, overrides),
        lambda _: f"/services/patrol-logs/{log_id}",
        again,
        {"geometry": "lat", "place": "lat"},
    )
