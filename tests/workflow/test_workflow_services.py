"""The workflow services against real PostGIS: transition extras (keys, attachments, the next
actor told), seats given up and refilled, first-time applicants, the window, files, claims
within the budget, nominations per precinct, dates as the forms write them."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from geo.enums import ApplicationStatus as S
from geo.enums import Role
from geo.enums_workflow import WorkItem
from geo.errors import InvalidInput
from geo.models import Application, Community, ProgramYear
from geo.models_workflow import Notification
from tests.factories import make_community, make_precinct, make_user, make_village
from workflow import applications, claims, evaluation_service, files, forms, monitoring
from workflow.access import Actor
from workflow.errors import ApplicationWindowClosed
from workflow.idempotency import IdempotencyKeyReused
from workflow.roc import roc_date, roc_month
from workflow.settings import default_settings
from workflow.states import QuotaExceeded, transition

YEAR = 2096
PDF = b"%PDF-1.7\n%%EOF\n"


def _year(db, quota=33, **kw):
    db.add(
        ProgramYear(
            year=YEAR, quota=quota, settings=default_settings().model_dump(mode="json"), **kw
        )
    )
    db.flush()


def _app(db, community, status=S.draft):
    app = Application(year=YEAR, community_id=community.id, status=status, plan={}, budget_total=0)
    db.add(app)
    db.flush()
    return app


def actor(role, community=None, user=None):
    if user is not None:
        return Actor.from_user(user)
    return Actor(
        user_id=None,
        role=role,
        precinct_id=community.precinct_id if community else None,
        organisation_id=community.organisation_id if community else None,
    )


def test_a_transition_with_an_idempotency_key_happens_once(db):
    _year(db)
    c = make_community(db)
    app = _app(db, c)
    org = actor(Role.community, c)
    first = transition(db, app, S.submitted, org, idempotency_key="k-1")
    transition(db, app, S.withdrawn, org)
    again = transition(db, app, S.submitted, org, idempotency_key="k-1")
    assert again.id == first.id and app.status is S.withdrawn
    with pytest.raises(IdempotencyKeyReused):
        transition(db, app, S.submitted, org, idempotency_key="k-1", comment="另一個請求")


def test_attachments_are_kept_with_the_audit_row_and_must_belong_to_the_application(db):
    _year(db)
    c, other = make_community(db), make_community(db)
    app, other_app = _app(db, c, S.submitted), _app(db, other)
    precinct = actor(Role.precinct, c)
    f = files.add_file(db, precinct, app.id, "attachment", "意見.pdf", PDF)
    foreign = files.add_file(db, actor(Role.city_police), other_app.id, "attachment", "x.pdf", PDF)
    with pytest.raises(InvalidInput):
        transition(db, app, S.returned, precinct, attachments=[foreign["id"]])
    event = transition(db, app, S.returned, precinct, attachments=[f["id"]], comment="請補正")
    assert event.attachments[0]["filename"] == "意見.pdf" and event.attachments[0]["id"] == f["id"]


def test_the_next_actor_is_notified(db):
    _year(db)
    p = make_precinct(db)
    c = make_community(db, precinct=p)
    org_user = make_user(db, role=Role.community, organisation_id=c.organisation_id)
    mine = make_user(db, role=Role.precinct, precinct_id=p.id)
    stranger = make_user(db, role=Role.precinct)
    city = make_user(db, role=Role.city_police)
    app = _app(db, c)

    def told(user):
        return db.scalars(select(Notification.kind).where(Notification.user_id == user.id)).all()

    transition(db, app, S.submitted, actor(Role.community, user=org_user))
    assert told(mine) == ["application_submitted"] and told(stranger) == [] and told(org_user) == []
    transition(db, app, S.forwarded, actor(Role.precinct, user=mine))
    assert "application_forwarded" in told(city)
    # The city returns it to the community: the precinct, skipped, is told as well.
    transition(db, app, S.returned, actor(Role.city_police, user=city))
    assert "application_returned" in told(org_user) and "application_returned" in told(mine)


def test_a_seat_given_up_goes_to_an_application_not_selected(db):
    _year(db, quota=1)
    city = actor(Role.city_police)
    a, b = (_app(db, make_community(db), S.forwarded) for _ in range(2))
    transition(db, a, S.approved, city)
    transition(db, b, S.not_selected, city)
    with pytest.raises(QuotaExceeded):
        transition(db, b, S.approved, city)
    transition(db, a, S.withdrawn, actor(Role.community, db.get(Community, a.community_id)))
    transition(db, b, S.approved, city, comment="備取遞補")
    assert (a.status, b.status) == (S.withdrawn, S.approved)


def test_a_first_time_applicant_gets_a_community_from_its_villages(db):
    _year(db)
    village = make_village(db)
    precinct = make_precinct(db, villages=[village])
    user = make_user(db, role=Role.community)
    body = applications.ApplicationCreate(
        year=YEAR, community_name="新社區", village_codes=[village.code], summary="首次申請"
    )
    out = applications.create_application(db, actor(Role.community, user=user), body)
    community = db.get(Community, out["community"]["id"])
    assert community.name == "新社區" and community.precinct_id == precinct.id
    assert out["form"]["village_codes"] == [village.code] and out["status"] == "draft"
    assert db.scalar(select(func.ST_Area(Community.geom)).where(Community.id == community.id)) > 0


def test_applications_outside_the_window_are_refused(db):
    _year(db, application_closes=dt.date.today() - dt.timedelta(days=1))
    c = make_community(db)
    body = applications.ApplicationCreate(year=YEAR, community_id=c.id)
    with pytest.raises(ApplicationWindowClosed) as info:
        applications.create_application(db, actor(Role.community, c), body)
    assert "截止" in info.value.message and "民國" in info.value.message


def test_files_are_recognised_by_their_bytes():
    assert files.sniff(PDF) == "application/pdf"
    assert files.sniff(b"\x89PNG\r\n\x1a\nxxxx") == "image/png"
    assert files.sniff(b"\xff\xd8\xff\xe0....") == "image/jpeg"
    assert files.sniff(b"PK\x03\x04 word/document.xml") is not None
    assert files.sniff(b"PK\x03\x04 random.bin") is None
    assert files.sniff(b"MZ\x90\x00 an executable") is None


def test_claims_cannot_pass_the_approved_budget(db):
    _year(db)
    c = make_community(db)
    app = _app(db, c, S.in_progress)
    app.budget_total = 10_000
    org = actor(Role.community, c)
    receipt = files.add_file(db, org, app.id, "receipt", "r.pdf", PDF)["id"]
    claim = claims.create_claim(
        db,
        org,
        app.id,
        claims.ClaimIn(
            title="超支",
            items=[claims.ClaimItemIn(description="x", amount=12_000, receipt_file_id=receipt)],
        ),
    )
    with pytest.raises(InvalidInput) as info:
        claims.move_claim(db, org, claim["id"], claims.ClaimMoveIn(to="submitted"))
    assert "超過核定經費" in info.value.message


def test_the_nomination_limit_is_a_setting(db):
    settings = default_settings().model_copy(update={"nominations_per_precinct": 2})
    db.add(ProgramYear(year=YEAR, quota=33, settings=settings.model_dump(mode="json")))
    p = make_precinct(db)
    apps = [_app(db, make_community(db, precinct=p), S.completed) for _ in range(3)]
    pol = Actor(user_id=None, role=Role.precinct, precinct_id=p.id)
    for a in apps[:2]:
        evaluation_service.nominate(
            db,
            pol,
            YEAR,
            evaluation_service.NominationIn(application_id=a.id, preliminary_score=85),
        )
    from workflow.evaluation import TooManyNominations

    with pytest.raises(TooManyNominations):
        evaluation_service.nominate(
            db,
            pol,
            YEAR,
            evaluation_service.NominationIn(application_id=apps[2].id, preliminary_score=85),
        )


def test_reports_fall_due_on_the_setting_day_of_the_next_month():
    assert monitoring.due_date(dt.date(2026, 12, 1), 10) == dt.date(2027, 1, 10)
    assert roc_date(dt.date(2026, 3, 2)) == "民國 115 年 3 月 2 日"
    assert roc_month(dt.date(2026, 3, 1)) == "115 年 3 月"


def test_a_document_exports_as_a_worksheet():
    doc = forms.Document(
        code="附件2",
        title="測試名冊",
        filename="t",
        sections=[forms.Section("", columns=["編號", "社區"], rows=[[1, "甲"], [2, "乙"]])],
    )
    ws = load_workbook(io.BytesIO(forms.xlsx(doc))).active
    values = [r for r in ws.iter_rows(values_only=True)]
    assert values[0][0] == "附件2　測試名冊"
    assert ("編號", "社區") in values and (1, "甲") in values and (2, "乙") in values


def test_every_work_item_of_the_plan_has_a_label():
    assert len(WorkItem) == 10
    assert all(item.label for item in WorkItem)
