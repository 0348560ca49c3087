"""The yearly workflow with the demo accounts, over HTTP, on the demo data loaded through the
CLI as `make run` does: a new year applied for and approved, and the demo's own years
(monthly reports with gaps, claims, a claw-back, last year's published evaluation, rewards)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from api.app import create_app
from api.settings import AppSettings, AuthSettings
from cli.main import app as cli
from data.demo import demo_password
from tests.api.test_program_year import form
from tests.conftest import fresh_database

TODAY = dt.date.today()
NEW = 2027 if TODAY.year <= 2026 else TODAY.year + 1


@pytest.fixture(scope="module")
def demo(db_settings):
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("DATABASE_URL", fresh_database(db_settings, "demo_wf"))
        result = CliRunner().invoke(cli, ["demo", "load"])
        assert result.exit_code == 0, result.output
        app = create_app(AppSettings(environment="test", auth=AuthSettings(secret_key="d" * 40)))
        with TestClient(app) as client:
            tokens = {}

            def h(username: str) -> dict:
                if username not in tokens:
                    r = client.post(
                        "/api/auth/token", data={"username": username, "password": demo_password()}
                    )
                    assert r.status_code == 200, r.text
                    tokens[username] = {"Authorization": f"Bearer {r.json()['access_token']}"}
                return tokens[username]

            yield client, h
    finally:
        mp.undo()


def test_a_new_year_applied_for_reviewed_and_approved_by_the_demo_accounts(demo):
    client, h = demo
    r = client.post(
        "/api/program-years",
        json={
            "year": NEW,
            "application_opens": str(TODAY - dt.timedelta(days=1)),
            "application_closes": str(TODAY + dt.timedelta(days=60)),
        },
        headers=h("demo-city"),
    )
    assert r.status_code == 201, r.text
    mine = client.get("/api/communities", headers=h("demo-community")).json()["features"]
    village = mine[0]["properties"]["village_codes"][0]
    r = client.post(
        "/api/applications", json={"year": NEW, **form(village)}, headers=h("demo-community")
    )
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    assert r.json()["community"]["id"] == mine[0]["properties"]["id"]

    def move(who, to, expect=200):
        r = client.post(f"/api/applications/{app_id}/transitions", json={"to": to}, headers=h(who))
        assert r.status_code == expect, (who, to, r.text)
        return r.json()

    move("demo-community", "submitted")
    move("demo-precinct2", "forwarded", expect=404)  # 海山分局 cannot see a 板橋分局 case
    move("demo-leader", "forwarded", expect=409)  # leaders read only
    move("demo-counsel", "forwarded", expect=409)
    move("demo-precinct", "forwarded")
    move("demo-city", "approved")
    told = client.get("/api/notifications", headers=h("demo-community")).json()["items"]
    assert any("核定補助" in n["title"] for n in told)
    roster = client.get(f"/api/program-years/{NEW}/roster", headers=h("demo-leader")).json()
    assert roster["count"] == 1 and roster["items"][0]["precinct"] == "板橋分局"
    page = client.get(f"/api/applications/{app_id}/form.html", headers=h("demo-precinct"))
    assert page.status_code == 200 and "補助計畫申請表" in page.text
    ws = load_workbook(
        io.BytesIO(
            client.get(f"/api/program-years/{NEW}/forms/2.xlsx", headers=h("demo-city")).content
        )
    ).active
    assert f"{NEW - 1911} 年度" in ws["A1"].value


def test_the_demo_years_have_reports_claims_and_a_published_evaluation(demo):
    client, h = demo
    mine = client.get(
        "/api/program-years/2026/monitoring/overdue",
        params={"as_of": "2026-11-20"},
        headers=h("demo-precinct"),
    ).json()
    city = client.get(
        "/api/program-years/2026/monitoring/overdue",
        params={"as_of": "2026-11-20"},
        headers=h("demo-city"),
    ).json()
    assert city["count"] > 0 and {i["precinct"] for i in mine["items"]} <= {"板橋分局"}
    assert mine["count"] <= city["count"]
    progress = client.get(
        "/api/program-years/2026/monitoring/progress",
        params={"as_of": "2026-11-20"},
        headers=h("demo-city"),
    ).json()
    year = client.get("/api/program-years/2026", headers=h("demo-city")).json()
    assert progress["city"]["communities"] == year["subsidised"]
    assert progress["city"]["reports_overdue"] == city["count"]

    results = client.get(
        "/api/program-years/2025/evaluation/results", headers=h("demo-city")
    ).json()
    assert results["finalised"]
    ranks = [e["rank"] for e in results["entries"] if e["rank"] is not None]
    assert ranks == list(range(1, len(ranks) + 1))
    assert all(e["review_average"] >= 80 for e in results["entries"] if e["rank"])
    assert len({e["precinct"] for e in results["entries"]}) == len(results["entries"])
    certificates = client.get(
        "/api/program-years/2025/evaluation/certificates.html", headers=h("demo-leader")
    )
    assert certificates.status_code == 200 and "認證證書" in certificates.text
    assert len(client.get("/api/program-years/2025/clawbacks", headers=h("demo-city")).json()) == 1

    rewards = client.get("/api/program-years/2025/rewards", headers=h("demo-city")).json()
    bureau = next(u for u in rewards["units"] if u["kind"] == "bureau")["clauses"][0]
    # 玖、一、(三)「…治安(防災)社區數6個…」: 20 closed communities, one award a year
    assert len(bureau["qualifying"]) == 20 and bureau["award_units"] == 1
    own = client.get("/api/program-years/2025/rewards", headers=h("demo-precinct")).json()
    assert {u["kind"] for u in own["units"]} <= {"precinct", "station"}

    for code in "3456789":
        page = client.get(f"/api/program-years/2026/forms/{code}.html", headers=h("demo-district"))
        assert page.status_code == 200 and f"附件{code}" in page.text, code
    assert (
        "（示範）"
        in client.get("/api/program-years/2026/forms/4.html", headers=h("demo-city")).text
    )
