"""The community organisation's pages over HTTP (issue #7, item 2): walk audits, camera
proposals, blocks and adopters, patrol routes, monthly reports, expense claims, export.

Each page: a signed-out visitor goes to the sign-in page, a role the page is not for gets
403, the page lists the caller's community's records and never another community's."""

from __future__ import annotations

import datetime as dt

import pytest
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, Point, box

from geo.enums import ApplicationStatus, CameraOwner, CameraStatus, OrganisationKind, Role
from geo.enums_workflow import ClaimStatus, Progress, WorkItem
from geo.models import (
    STORAGE_SRID,
    Adopter,
    Application,
    Camera,
    PatrolBlock,
    PatrolRoute,
    ProgramYear,
    SafetyAudit,
    block_adoptions,
)
from geo.models_workflow import ClaimItem, ExpenseClaim, MonthlyReport, MonthlyReportItem
from tests.factories import make_community, make_precinct, make_user
from workflow.settings import default_settings

from .conftest import login
from .test_pages import _sign_in

LAYER_PAGES = ["/app/audits", "/app/cameras", "/app/blocks", "/app/routes", "/app/export"]
FILING_PAGES = ["/app/reports", "/app/claims"]
SCORES = dict(
    lighting=3, openness=2, visibility=2, people=1, security=1,
    walk_path=2, transport=3, gender_usage=2, feeling=1,
)  # fmt: skip


def _records(db, community, tag: str, year: int) -> Application:
    """One record of every kind in ``community``, each named with ``tag``."""
    centre = to_shape(community.geom).centroid
    x, y = centre.x, centre.y
    line = from_shape(LineString([(x - 60, y), (x + 60, y)]), srid=STORAGE_SRID)
    for period in ("day", "night"):
        db.add(
            SafetyAudit(
                community_id=community.id,
                place_name=f"{tag}巷道",
                period=period,
                audited_on=dt.date(year, 9, 1),
                geom=line,
                **{k: (v if period == "day" else max(0, v - 1)) for k, v in SCORES.items()},
            )
        )
    db.add(
        Camera(
            community_id=community.id,
            precinct_id=community.precinct_id,
            status=CameraStatus.proposed,
            owner=CameraOwner.community,
            geom=from_shape(Point(x, y), srid=STORAGE_SRID),
            bearing_deg=90,
            fov_deg=60,
            range_m=40,
            name=f"{tag}路口",
        )
    )
    block = PatrolBlock(
        community_id=community.id,
        name=f"{tag}區塊",
        geom=from_shape(box(x - 50, y - 50, x + 50, y + 50), srid=STORAGE_SRID),
    )
    adopter = Adopter(
        community_id=community.id, name=f"{tag}國小", kind=OrganisationKind.school, guards=2
    )
    db.add_all([block, adopter])
    db.add(
        PatrolRoute(
            community_id=community.id,
            team_name=f"{tag}守望隊",
            name="第 1 巡守路線",
            schedule={"days": [1, 3], "start": "20:00", "end": "22:00"},
            geom=line,
        )
    )
    db.flush()
    db.execute(block_adoptions.insert().values(block_id=block.id, adopter_id=adopter.id))
    application = Application(
        year=year,
        community_id=community.id,
        status=ApplicationStatus.in_progress,
        plan={},
        budget_total=100_000,
    )
    db.add(application)
    db.flush()
    report = MonthlyReport(
        application_id=application.id,
        month=dt.date(year, 1, 1),
        summary=f"{tag}一月摘要",
        submitted_at=dt.datetime(year, 2, 5, tzinfo=dt.UTC),  # on time: due on 10 February
    )
    report.items = [MonthlyReportItem(item=WorkItem.meetings, progress=Progress.done, percent=100)]
    claim = ExpenseClaim(
        application_id=application.id, title=f"{tag}第一期核銷", status=ClaimStatus.submitted
    )
    claim.items = [ClaimItem(line_no=1, description=f"{tag}會議餐盒", amount=12_000)]
    db.add_all([report, claim])
    db.flush()
    return application


@pytest.fixture
def world(db):
    """Two precincts with a community each, every kind of record in both, and users."""
    year = dt.date.today().year
    if db.get(ProgramYear, year) is None:
        db.add(
            ProgramYear(year=year, quota=33, settings=default_settings().model_dump(mode="json"))
        )
        db.flush()
    p1, p2 = make_precinct(db), make_precinct(db)
    c1, c2 = make_community(db, precinct=p1), make_community(db, precinct=p2)
    a1 = _records(db, c1, "甲社區", year)
    a2 = _records(db, c2, "乙社區", year)
    users = {
        "community": make_user(
            db, role=Role.community, username="wc-comm", organisation_id=c1.organisation_id
        ),
        "precinct": make_user(db, role=Role.precinct, username="wc-pol", precinct_id=p1.id),
        "leader": make_user(db, role=Role.leader, username="wc-lead"),
    }
    return {"c1": c1, "c2": c2, "a1": a1, "a2": a2, "year": year, "users": users}


@pytest.mark.parametrize("path", LAYER_PAGES + FILING_PAGES)
def test_signed_out_visitors_go_to_sign_in(client, path):
    r = client.get(path, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"


@pytest.mark.parametrize(
    "who,path",
    [("leader", p) for p in LAYER_PAGES] + [("precinct", p) for p in FILING_PAGES],
)
def test_other_roles_get_403(client, world, who, path):
    _sign_in(client, {"leader": "wc-lead", "precinct": "wc-pol"}[who])
    r = client.get(path, headers={"Accept": "text/html"})
    assert r.status_code == 403
    assert "這個頁面不屬於您的角色可使用的功能" in r.text


# What each page shows of community 甲 (and must never show of community 乙).
SHOWS = {
    "/app/audits": ("婦幼安全檢測", "甲社區巷道", "乙社區巷道"),
    "/app/cameras": ("監視器建議設置", "甲社區路口", "乙社區路口"),
    "/app/blocks": ("治安區塊與認養單位", "甲社區區塊", "乙社區區塊"),
    "/app/routes": ("巡守路線", "甲社區守望隊", "乙社區守望隊"),
    "/app/reports": ("管考月報", "甲社區一月摘要", "乙社區一月摘要"),
    "/app/claims": ("經費核銷", "甲社區第一期核銷", "乙社區第一期核銷"),
}


@pytest.mark.parametrize("path", list(SHOWS))
def test_the_community_sees_its_records_and_no_others(client, world, path):
    _sign_in(client, "wc-comm")
    heading, mine, theirs = SHOWS[path]
    page = client.get(path)
    assert page.status_code == 200, page.text
    assert heading in page.text and mine in page.text
    assert theirs not in page.text
    # Asking for the other community by id does not show it either.
    other = client.get(f"{path}?community={world['c2'].id}")
    assert other.status_code == 200 and theirs not in other.text and mine in other.text
    # Scripts and styles are served here, never from a CDN (the basemap's tiles may be remote).
    assert 'src="http' not in page.text and 'stylesheet" href="http' not in page.text
    assert 'name="viewport"' in page.text


@pytest.mark.parametrize("path", ["/app/audits", "/app/cameras", "/app/blocks", "/app/routes"])
def test_the_precinct_sees_its_own_communities_only(client, world, path):
    _sign_in(client, "wc-pol")
    _heading, mine, theirs = SHOWS[path]
    page = client.get(f"{path}?community={world['c1'].id}")
    assert page.status_code == 200 and mine in page.text and theirs not in page.text
    assert client.get(f"{path}?community={world['c2'].id}").text.count(theirs) == 0


def test_audits_compare_day_and_night_and_start_a_reaudit(client, world, db):
    _sign_in(client, "wc-comm")
    c1 = world["c1"]
    day = db.query(SafetyAudit).filter_by(community_id=c1.id, period="day").one()
    page = client.get(f"/app/audits?community={c1.id}&compare={day.id}")
    assert "日夜比較" in page.text and 'id="comparison"' in page.text
    # The score is the database's: 1 + 9 x 17/27 = 6.7 in the day, 1 + 9 x 8/27 = 3.7 at night.
    assert ">6.7<" in page.text and ">3.7<" in page.text
    # The night scores one lower on every parameter with a score above 0.
    assert "<td>照明</td><td>3</td><td>2</td><td>-1</td>" in page.text
    reaudit = client.get(f"/app/audits?community={c1.id}&reaudit={day.id}")
    assert "複查：甲社區巷道" in reaudit.text
    assert f'id="a-follow" value="{day.id}"' in reaudit.text
    # Nine parameters, each with its four explained levels, in zh-TW.
    assert reaudit.text.count('data-param="') == 9
    assert "0：沒有照明，一片漆黑" in reaudit.text and "3：非常安心" in reaudit.text
    # Another community's audit cannot be compared or re-audited from this page.
    theirs = db.query(SafetyAudit).filter_by(community_id=world["c2"].id, period="day").one()
    leak = client.get(f"/app/audits?compare={theirs.id}&reaudit={theirs.id}")
    assert "乙社區巷道" not in leak.text and 'id="comparison"' not in leak.text


def test_blocks_list_adopters_and_adoptions(client, world):
    _sign_in(client, "wc-comm")
    page = client.get("/app/blocks")
    assert "甲社區國小（2 人" in page.text  # the block's adopter, with its guards
    assert "乙社區國小" not in page.text


def test_reports_show_each_month_and_file_one(client, world, db):
    _sign_in(client, "wc-comm")
    year, app = world["year"], world["a1"]
    page = client.get("/app/reports")
    assert f'data-month="{year}-01-01" data-state="filed"' in page.text
    today = dt.date.today()
    if today.month > 2:  # February's report was due on 10 March
        assert f'data-month="{year}-02-01" data-state="overdue"' in page.text
    if today.month < 12:
        assert f'data-month="{year}-12-01" data-state="future"' in page.text
    assert f'data-application="{app.id}"' in page.text
    # Filing through the API the form calls moves the month to filed.
    h = login(client, "wc-comm")
    month = today.replace(day=1)
    r = client.post(
        f"/api/applications/{app.id}/reports",
        headers=h,
        json={"month": month.isoformat(), "items": [{"item": "meetings", "progress": "done"}]},
    )
    assert r.status_code == 201, r.text
    again = client.get("/app/reports")
    assert f'data-month="{month.isoformat()}" data-state="filed"' in again.text


def test_reports_before_approval_say_none_are_due(client, world, db):
    world["a1"].status = ApplicationStatus.submitted
    db.flush()
    _sign_in(client, "wc-comm")
    page = client.get("/app/reports")
    assert "核定補助後才需要每月填報" in page.text and "report-form" not in page.text


def test_claims_show_totals_against_the_subsidy(client, world):
    _sign_in(client, "wc-comm")
    page = client.get("/app/claims")
    app = world["a1"]
    assert f'id="budget-{app.id}">100,000<' in page.text
    assert f'id="claimed-{app.id}">12,000<' in page.text
    assert f'id="remaining-{app.id}">88,000<' in page.text
    assert "甲社區會議餐盒" in page.text and "未上傳" in page.text
    assert "claim-form" in page.text  # a subsidised application takes new claims


def test_export_page_links_the_communitys_files(client, world):
    _sign_in(client, "wc-comm")
    c1 = world["c1"]
    page = client.get("/app/export")
    for fmt in ("gpkg", "kml", "kmz"):
        assert f"/api/communities/{c1.id}/export?format={fmt}" in page.text
    assert f"/api/communities/{world['c2'].id}/export" not in page.text
    assert 'id="import-form"' in page.text and "路燈不亮" in page.text


def test_home_links_every_community_page(client, world):
    _sign_in(client, "wc-comm")
    home = client.get("/app")
    for path in LAYER_PAGES + FILING_PAGES:
        assert f'href="{path}"' in home.text
