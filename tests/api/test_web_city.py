"""The city police bureau's pages over HTTP: evaluation scoring sheets, ranking, awards and
certificates, the rubric (page and JSON API), staff rewards and the exports, plus the purge
of old idempotency keys. Real PostGIS, each test rolled back."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select, text

from geo.enums import ApplicationStatus, HazardStatus, Role, TimeOfDay
from geo.enums_services import ProtectionKind
from geo.errors import InvalidInput
from geo.models import STORAGE_SRID, Application, AuditLog, Hazard, ProgramYear
from geo.models_services import ProtectionReferral
from geo.models_workflow import IdempotencyKey, RosterMember, ScoreSheet
from tests.factories import make_community, make_precinct, make_station, make_user
from workflow import evaluation_service as service
from workflow import idempotency
from workflow.access import Actor
from workflow.evaluation import load_rubric
from workflow.settings import default_settings

from .conftest import login
from .test_pages import _sign_in

YEAR = 2093
SECRET = "機密保護個案王小明"


def _csrf(client, path):
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


@pytest.fixture
def world(db):
    """Two precincts with a nominated subsidised community each, two counsellors on the
    year's panel, a city officer, and a protection referral that must never leak."""
    p1, p2 = make_precinct(db), make_precinct(db)
    station = make_station(db, precinct=p1)
    c1 = make_community(db, precinct=p1, name="甲測試社區", station_id=station.id)
    c2 = make_community(db, precinct=p2, name="=乙測試社區")  # a formula-looking name
    db.add(ProgramYear(year=YEAR, quota=33, settings=default_settings().model_dump(mode="json")))
    db.flush()
    a1 = Application(year=YEAR, community_id=c1.id, status=ApplicationStatus.completed, plan={})
    a2 = Application(year=YEAR, community_id=c2.id, status=ApplicationStatus.in_progress, plan={})
    db.add_all([a1, a2])
    db.flush()
    users = {
        "city": make_user(db, role=Role.city_police, username="wc-city"),
        "c1": make_user(db, role=Role.counselling, username="wc-c1", display_name="委員甲"),
        "c2": make_user(db, role=Role.counselling, username="wc-c2", display_name="委員乙"),
        "outsider": make_user(db, role=Role.counselling, username="wc-out"),
        "precinct": make_user(db, role=Role.precinct, username="wc-p1", precinct_id=p1.id),
        "community": make_user(
            db, role=Role.community, username="wc-comm", organisation_id=c1.organisation_id
        ),
    }
    for i, key in enumerate(("c1", "c2")):
        db.add(
            RosterMember(
                year=YEAR, roster="counselling_team", unit="輔導團隊", team_role="委員",
                name=users[key].display_name, user_id=users[key].id, sort_order=i,
            )
        )  # fmt: skip
    noms = []
    for application, precinct in ((a1, p1), (a2, p2)):
        actor = Actor(user_id=None, role=Role.precinct, precinct_id=precinct.id)
        noms.append(
            service.nominate(
                db, actor, YEAR, service.NominationIn(application_id=application.id,
                                                      preliminary_score=Decimal(90)),
            )
        )  # fmt: skip
    db.add(
        Hazard(
            community_id=c1.id, category="poor_lighting", severity=3,
            time_of_day=TimeOfDay.night, status=HazardStatus.open, title="路燈不亮",
            geom=from_shape(to_shape(c1.geom).representative_point(), srid=STORAGE_SRID),
        )
    )  # fmt: skip
    db.add(
        ProtectionReferral(
            kind=ProtectionKind.domestic_violence,
            filed_by=users["community"].id,
            filer_role="community",
            community_id=c1.id,
            subject_name=SECRET,
            subject_address="新北市板橋區秘密路 1 號",
            description=f"{SECRET}的通報內容",
        )
    )
    db.flush()
    return {"c1": c1, "c2": c2, "users": users, "noms": noms, "station": station}


def _full(total: int) -> dict[str, Decimal]:
    rubric = load_rubric()
    scores = {
        c.code: (c.weight * Decimal(total) / 100).quantize(Decimal("0.01")) for c in rubric.criteria
    }
    scores[rubric.criteria[0].code] += Decimal(total) - sum(scores.values())
    return scores  # fmt: skip


def _score(db, world, scorer: str, nom: int, total: int) -> None:
    service.save_sheet(
        db,
        Actor.from_user(world["users"][scorer]),
        world["noms"][nom]["id"],
        service.SheetIn(scores=_full(total)),
    )


def _sheet_form(client, nomination_id: int, values: dict[str, str], action: str):
    path = f"/app/evaluation/sheets/{nomination_id}"
    data = {"csrf": _csrf(client, path), "action": action, **values}
    return client.post(path, data=data, follow_redirects=False)


# --------------------------------------------------------------------------- access
@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/app/evaluation", {"city", "c1"}),
        ("/app/evaluation/rubric", {"city"}),
        ("/app/rewards", {"city"}),
        ("/app/exports", {"city"}),
        ("/app/exports/rewards.csv", {"city"}),
    ],
)
def test_pages_open_only_for_their_roles(client, world, path, allowed):
    assert client.get(path, follow_redirects=False).status_code == 303  # signed out → sign in
    for who in ("city", "c1", "precinct", "community"):
        client.cookies.clear()
        assert _sign_in(client, world["users"][who].username).status_code == 303
        page = client.get(f"{path}?year={YEAR}", headers={"Accept": "text/html"})
        assert page.status_code == (200 if who in allowed else 403), (who, page.text[:300])
        if page.status_code == 403:
            assert "不屬於您的角色" in page.text


def test_home_shows_sheets_waiting_for_the_counsellor_and_the_city(client, world, db):
    _sign_in(client, "wc-c1")
    home = client.get("/app").text
    assert "待評分的評鑑表" in home and "/app/evaluation" in home
    assert "評鑑評分表" in home  # the counselling role's link
    client.cookies.clear()
    _sign_in(client, "wc-city")
    home = client.get("/app").text
    assert "待評分的評鑑表" in home
    for href in ("/app/evaluation", "/app/rewards", "/app/exports"):
        assert f'href="{href}"' in home


# --------------------------------------------------------------------------- scoring
def test_sheet_rejects_out_of_range_scores_and_keeps_what_was_typed(client, world, db):
    _sign_in(client, "wc-c1")
    nom = world["noms"][0]["id"]
    rubric = load_rubric()
    first, second = rubric.criteria[0], rubric.criteria[1]
    values = {f"score_{c.code}": str(c.weight) for c in rubric.criteria}
    values[f"score_{first.code}"] = str(first.weight + 5)
    values[f"score_{second.code}"] = "好"
    values[f"comment_{second.code}"] = "會議紀錄完整"
    values["comment"] = "整體表現良好"
    r = _sheet_form(client, nom, values, "submit")
    assert r.status_code == 400
    assert f"「{first.name}」的分數須介於 0 至 {first.weight} 分" in r.text
    assert f"「{second.name}」的分數須為數字" in r.text
    assert f'value="{first.weight + 5}"' in r.text and 'value="好"' in r.text
    assert "會議紀錄完整" in r.text and "整體表現良好" in r.text
    assert db.scalar(select(func.count()).select_from(ScoreSheet)) == 0  # nothing stored
    # A post without the page's CSRF field is refused.
    r = client.post(f"/app/evaluation/sheets/{nom}", data={**values, "action": "draft"})
    assert r.status_code == 403 and "表單已過期" in r.text


def test_draft_then_submit_and_progress(client, world, db):
    _sign_in(client, "wc-c1")
    nom = world["noms"][0]["id"]
    rubric = load_rubric()
    first = rubric.criteria[0]
    # A draft may be partial; a submitted sheet may not.
    r = _sheet_form(client, nom, {f"score_{first.code}": "8.5"}, "draft")
    assert r.status_code == 303 and "saved=draft" in r.headers["location"]
    page = client.get(f"/app/evaluation?year={YEAR}&saved=draft").text
    assert "評分表草稿已儲存" in page and "草稿" in page
    r = _sheet_form(client, nom, {f"score_{first.code}": "8.5"}, "submit")
    assert r.status_code == 400 and "請為「" in r.text and 'value="8.5"' in r.text
    values = {f"score_{c.code}": str(c.weight) for c in rubric.criteria}
    r = _sheet_form(client, nom, values, "submit")
    assert r.status_code == 303, r.text
    sheet = db.scalar(select(ScoreSheet).where(ScoreSheet.nomination_id == nom))
    assert sheet.submitted_at is not None and len(sheet.items) == len(rubric.criteria)
    page = client.get(f"/app/evaluation?year={YEAR}")
    assert "已送出" in page.text and "未評分" in page.text  # 委員乙 not yet
    assert 'id="ranking"' not in page.text  # not everyone has scored


def test_required_comment_from_the_rubric(client, world, db):
    program = db.get(ProgramYear, YEAR)
    rubric = load_rubric().model_dump(mode="json")
    rubric["criteria"][2]["comment_required"] = True
    program.settings = {**program.settings, "rubric": rubric}
    db.flush()
    name = rubric["criteria"][2]["name"]
    _sign_in(client, "wc-c1")
    values = {f"score_{c['code']}": str(c["weight"]) for c in rubric["criteria"]}
    r = _sheet_form(client, world["noms"][0]["id"], values, "submit")
    assert r.status_code == 400 and f"評分表規定「{name}」須填寫評語" in r.text
    assert "（必填）" in r.text
    # The JSON API holds the same rule.
    api = login(client, "wc-c1")
    r = client.put(
        f"/api/nominations/{world['noms'][0]['id']}/sheet",
        json={"scores": {k: float(v) for k, v in _full(90).items()}},
        headers=api,
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "comment_required"


def test_outsider_counsellor_cannot_score(client, world):
    _sign_in(client, "wc-out")
    page = client.get(f"/app/evaluation/sheets/{world['noms'][0]['id']}")
    assert page.status_code == 200 and "不在本年度專業輔導團隊評審名單" in page.text
    assert 'id="submit-sheet"' not in page.text


def test_ranking_awards_and_certificates(client, world, db):
    for scorer in ("c1", "c2"):
        _score(db, world, scorer, 0, 92)
        _score(db, world, scorer, 1, 86)
    _sign_in(client, "wc-city")
    page = client.get(f"/app/evaluation?year={YEAR}")
    assert 'id="ranking"' in page.text
    ranking = page.text[page.text.index('id="ranking"') :]
    assert ranking.index("甲測試社區") < ranking.index("乙測試社區")  # 92 before 86
    assert "優等" in page.text
    # An amount outside the tier's range is refused beside the field; the typed value stays.
    path = f"/app/evaluation?year={YEAR}"
    c1 = world["c1"].id
    r = client.post(
        "/app/evaluation/finalise",
        data={"csrf": _csrf(client, path), "year": str(YEAR), f"amount_{c1}": "999999999",
              f"amount_{world['c2'].id}": "40000"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 400 and "的獎勵金須在" in r.text and 'value="999999999"' in r.text
    assert client.get(f"/api/program-years/{YEAR}/evaluation/certificates", headers=login(client, "wc-city")).json() == []  # fmt: skip
    r = client.post(
        "/app/evaluation/finalise",
        data={"csrf": _csrf(client, path), "year": str(YEAR)},
        follow_redirects=False,
    )
    assert r.status_code == 400 and "請填寫「甲測試社區」的獎勵金" in r.text
    tiers = service.award_tiers(db, YEAR)
    first = next(t for t in tiers.values() if t.rank_from == 1)
    second = next(t for t in tiers.values() if t.rank_from <= 2 <= t.rank_to)
    r = client.post(
        "/app/evaluation/finalise",
        data={"csrf": _csrf(client, path), "year": str(YEAR),
              f"amount_{c1}": str(first.amount_min), f"amount_{world['c2'].id}": str(second.amount_min)},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "評鑑結果已確認並公布" in page
    assert f"/api/program-years/{YEAR}/evaluation/certificates/{c1}.html" in page
    cert = client.get(f"/api/program-years/{YEAR}/evaluation/certificates/{c1}.html")
    assert cert.status_code == 200 and "甲測試社區" in cert.text
    # Published: sheets are closed.
    client.cookies.clear()
    _sign_in(client, "wc-c1")
    sheet = client.get(f"/app/evaluation/sheets/{world['noms'][0]['id']}").text
    assert "評鑑結果已公布" in sheet and 'id="submit-sheet"' not in sheet


# --------------------------------------------------------------------------- rubric
def test_rubric_api_edits_audits_and_locks(client, world, db):
    city = login(client, "wc-city")
    url = f"/api/program-years/{YEAR}/rubric"
    current = client.get(url, headers=city).json()
    assert current["locked"] is False and sum(c["weight"] for c in current["criteria"]) == 100
    items = [
        {"code": c["code"], "name": c["name"], "weight": c["weight"]} for c in current["criteria"]
    ]
    items[0]["weight"] += 5
    r = client.put(url, json={"criteria": items}, headers=city)
    assert r.status_code == 400 and "合計須為 100 分" in r.json()["error"]["message"]
    items[1]["weight"] -= 5
    items[1]["comment_required"] = True
    items.append({"code": "patrol_extra", "name": "巡守創新", "weight": 5})
    items[2]["weight"] -= 5
    r = client.put(url, json={"criteria": items}, headers=city)
    assert r.status_code == 200, r.text
    assert r.json()["criteria"][-1]["name"] == "巡守創新"
    assert r.json()["criteria"][1]["comment_required"] is True
    log = db.scalar(select(AuditLog).where(AuditLog.action == "evaluation.rubric_update"))
    assert log.entity_id == str(YEAR) and log.actor_id == world["users"]["city"].id
    assert log.detail["after"][-1]["code"] == "patrol_extra"
    # Counsellors may read it, not change it.
    assert (
        client.put(url, json={"criteria": items}, headers=login(client, "wc-c1")).status_code == 403
    )
    # Once a sheet is submitted it is locked, with a clear zh-TW message.
    scores = {i["code"]: i["weight"] for i in items}
    r = client.put(
        f"/api/nominations/{world['noms'][0]['id']}/sheet",
        json={"scores": scores, "comments": {items[1]["code"]: "說明"}},
        headers=login(client, "wc-c1"),
    )
    assert r.status_code == 200, r.text
    r = client.put(url, json={"criteria": items}, headers=city)
    assert r.status_code == 409 and r.json()["error"]["code"] == "rubric_locked"
    assert "不能再修改" in r.json()["error"]["message"]


def test_an_edited_rubric_survives_a_settings_change(client, world, db):
    city = login(client, "wc-city")
    url = f"/api/program-years/{YEAR}/rubric"
    items = [
        {"code": c["code"], "name": c["name"], "weight": c["weight"]}
        for c in client.get(url, headers=city).json()["criteria"]
    ]
    items[0]["name"] = "組織運作（修訂）"
    assert client.put(url, json={"criteria": items}, headers=city).status_code == 200
    r = client.patch(f"/api/program-years/{YEAR}", json={"settings": {"quota": 25}}, headers=city)
    assert r.status_code == 200, r.text
    assert client.get(url, headers=city).json()["criteria"][0]["name"] == "組織運作（修訂）"


def test_rubric_page_form(client, world, db):
    _sign_in(client, "wc-city")
    path = f"/app/evaluation/rubric?year={YEAR}"
    page = client.get(path)
    assert page.status_code == 200 and 'id="rubric-form"' in page.text
    rubric = load_rubric()
    n = len(rubric.criteria)
    data = {"csrf": _csrf(client, path), "year": str(YEAR), "rows": str(n)}
    for i, c in enumerate(rubric.criteria):
        data |= {f"code_{i}": c.code, f"name_{i}": c.name, f"weight_{i}": str(c.weight)}
    data[f"name_{n}"] = "新增的項目"  # a new item without code and points
    r = client.post("/app/evaluation/rubric", data=data, follow_redirects=False)
    assert r.status_code == 400
    assert "代碼須為英文小寫" in r.text and "配分須為 1 至 100 的整數" in r.text
    assert 'value="新增的項目"' in r.text
    # Take 5 points from the first item for the new one: saved.
    data |= {f"code_{n}": "new_item", f"weight_{n}": "5", f"required_{n}": "on"}
    data[f"weight_{0}"] = str(rubric.criteria[0].weight - 5)
    r = client.post("/app/evaluation/rubric", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    saved = service.rubric_for(db.get(ProgramYear, YEAR))
    assert saved.criteria[-1].code == "new_item" and saved.criteria[-1].comment_required
    # A total other than 100 is refused as a whole.
    data[f"weight_{0}"] = "1"
    r = client.post("/app/evaluation/rubric", data=data, follow_redirects=False)
    assert r.status_code == 400 and "各項配分合計須為 100 分" in r.text
    # Locked after a submitted sheet: the page says so and the form is gone.
    service.save_sheet(
        db,
        Actor.from_user(world["users"]["c1"]),
        world["noms"][0]["id"],
        service.SheetIn(
            scores={c.code: c.weight for c in saved.criteria}, comments={"new_item": "佳"}
        ),
    )
    page = client.get(path).text
    assert 'id="locked"' in page and 'id="rubric-form"' not in page
    data[f"weight_{0}"] = str(rubric.criteria[0].weight - 5)
    r = client.post("/app/evaluation/rubric", data=data, follow_redirects=False)
    assert r.status_code == 409 and "評分項目與配分不能再修改" in r.text


# --------------------------------------------------------------------------- rewards, exports
def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_rewards_page_adjust_and_confirm(client, world, db):
    _sign_in(client, "wc-city")
    path = f"/app/rewards?year={YEAR}"
    page = client.get(path)
    assert page.status_code == 200 and "敘獎表" in page.text
    r = client.post(
        "/app/rewards/headcounts",
        data={
            "csrf": _csrf(client, path),
            "year": str(YEAR),
            "unit": "",
            "post": "",
            "persons": "-3",
        },
    )
    assert r.status_code == 400 and "請選擇單位" in r.text and "人數須為 0 至 1000" in r.text
    assert 'value="-3"' in r.text
    # 甲 closed its claims (completed) in the station's beat: 警勤區員警 擇優半數 of 5 → 3.
    unit = f"station:{world['station'].id}"
    assert f'value="{unit}"' in r.text
    r = client.post(
        "/app/rewards/headcounts",
        data={"csrf": _csrf(client, path), "year": str(YEAR), "unit": unit,
              "post": "beat_officer", "persons": "5"},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "人數已更新" in page and "擇優半數（無條件進位）3 人" in page
    r = client.post(
        "/app/rewards/confirm",
        data={"csrf": _csrf(client, path), "year": str(YEAR)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"]).text
    assert "敘獎表已確認" in page and 'id="confirmed"' in page
    assert db.scalar(select(func.count()).where(AuditLog.action == "rewards.confirm")) == 1
    rows = _csv(client.get(f"/app/exports/rewards.csv?year={YEAR}"))
    assert rows[0] == ["單位", "單位類別", "條款", "職務", "人數", "獎度", "依據"]
    station_rows = [r for r in rows[1:] if r[1] == "分駐（派出）所"]
    assert {r[3] for r in station_rows} >= {"警勤區員警", "承辦人員"}
    beat = next(r for r in station_rows if r[3] == "警勤區員警")
    assert beat[4] == "3" and beat[5] == "嘉獎一次" and "甲測試社區" in beat[6]
    # Adjusted after the confirmation: the page asks to confirm again.
    client.post(
        "/app/rewards/headcounts",
        data={"csrf": _csrf(client, path), "year": str(YEAR), "unit": unit,
              "post": "beat_officer", "persons": "7"},
    )  # fmt: skip
    assert "確認後資料已有變動" in client.get(path).text


def test_exports_never_contain_protection_records(client, world, db):
    for scorer in ("c1", "c2"):
        _score(db, world, scorer, 0, 92)
        _score(db, world, scorer, 1, 86)
    _sign_in(client, "wc-city")
    page = client.get(f"/app/exports?year={YEAR}")
    assert page.status_code == 200
    for name in ("applications", "claims", "evaluation", "rewards"):
        assert f"/app/exports/{name}.csv?year={YEAR}" in page.text
    seen = {}
    for name in ("applications", "claims", "evaluation", "rewards"):
        r = client.get(f"/app/exports/{name}.csv?year={YEAR}")
        rows = _csv(r)
        seen[name] = rows
        assert SECRET not in r.content.decode("utf-8-sig")
        assert "秘密路" not in r.content.decode("utf-8-sig")
    assert seen["applications"][0][:3] == ["申請案編號", "年度", "社區"]
    assert {r[2] for r in seen["applications"][1:]} == {"甲測試社區", "'=乙測試社區"}
    assert "尚未申請核銷" in {r[6] for r in seen["claims"][1:]}
    assert seen["evaluation"][0][0] == "名次" and seen["evaluation"][1][1] == "甲測試社區"
    # The community's safety map (GeoPackage through the existing export API).
    r = client.get(
        f"/app/exports/community?community_id={world['c1'].id}&format=gpkg",
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == f"/api/communities/{world['c1'].id}/export?format=gpkg"
    gpkg = client.get(r.headers["location"])
    assert gpkg.status_code == 200, gpkg.text
    assert gpkg.status_code == 200 and gpkg.content[:15] == b"SQLite format 3"
    assert SECRET.encode() not in gpkg.content and "秘密路".encode() not in gpkg.content
    # Unknown exports are 404, not a crash.
    assert client.get(f"/app/exports/protection.csv?year={YEAR}").status_code == 404


# --------------------------------------------------------------------------- idempotency
def test_old_idempotency_keys_are_purged(db, world):
    actor = Actor.from_user(world["users"]["city"])
    idempotency.run(db, actor, "fresh-key", "test", {"a": 1}, lambda: {"ok": True})
    db.add(
        IdempotencyKey(
            owner="user:1", key="old-key", scope="test", fingerprint="x" * 64, status_code=200,
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=8),
        )
    )  # fmt: skip
    db.flush()
    assert idempotency.purge(db) == 1
    keys = set(db.scalars(select(IdempotencyKey.key)))
    assert "old-key" not in keys and "fresh-key" in keys
    assert idempotency.purge(db, older_than=dt.timedelta(0)) >= 0  # nothing older than now
    with pytest.raises(InvalidInput) as refused:
        idempotency.purge(db, older_than=dt.timedelta(days=-1))
    assert "保留期間" in refused.value.message


def test_keys_are_purged_opportunistically_when_a_key_is_stored(db, world, monkeypatch):
    db.add(
        IdempotencyKey(
            owner="user:1", key="stale", scope="test", fingerprint="x" * 64, status_code=200,
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30),
        )
    )  # fmt: skip
    db.flush()
    monkeypatch.setattr(idempotency, "_last_purge", None)
    actor = Actor.from_user(world["users"]["city"])
    idempotency.run(db, actor, "k1", "test", {}, lambda: {"ok": 1})
    assert "stale" not in set(db.scalars(select(IdempotencyKey.key)))
    # Within the hour no second purge runs (cheap on every request after the first).
    db.add(
        IdempotencyKey(
            owner="user:1", key="stale2", scope="test", fingerprint="x" * 64, status_code=200,
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=30),
        )
    )  # fmt: skip
    db.flush()
    idempotency.run(db, actor, "k2", "test", {}, lambda: {"ok": 2})
    assert "stale2" in set(db.scalars(select(IdempotencyKey.key)))


def test_purge_keys_command(db_settings, monkeypatch):
    from typer.testing import CliRunner

    from cli.main import app
    from tests.conftest import fresh_database

    url = fresh_database(db_settings, "purge_keys")
    monkeypatch.setenv("DATABASE_URL", url)
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO idempotency_keys (owner, key, scope, fingerprint, status_code, created_at)"
                    " VALUES ('user:1', 'old', 's', 'f', 200, now() - interval '9 days'),"
                    " ('user:1', 'new', 's', 'f', 200, now())"
                )
            )
        helped = CliRunner().invoke(app, ["year", "purge-keys", "--help"])
        assert helped.exit_code == 0 and "Usage" in helped.output and "--days" in helped.output
        result = CliRunner().invoke(app, ["year", "purge-keys", "--days", "7"])
        assert result.exit_code == 0, result.output
        assert "已刪除 1 筆" in result.output
        with engine.connect() as conn:
            assert conn.execute(text("SELECT key FROM idempotency_keys")).scalars().all() == ["new"]
    finally:
        engine.dispose()


def test_pending_sheets_with_and_without_a_panel(db, world):
    city = Actor.from_user(world["users"]["city"])
    c1 = Actor.from_user(world["users"]["c1"])
    assert service.pending_sheets(db, city, YEAR) == 4  # 2 nominees × 2 panel members
    assert service.pending_sheets(db, c1, YEAR) == 2
    _score(db, world, "c1", 0, 90)
    assert service.pending_sheets(db, city, YEAR) == 3
    assert service.pending_sheets(db, c1, YEAR) == 1
    assert service.pending_sheets(db, Actor.from_user(world["users"]["outsider"]), YEAR) == 0
    # Without a roster of accounts, nominees with no submitted sheet are what waits.
    db.execute(text("DELETE FROM roster_members WHERE year = :y"), {"y": YEAR})
    assert service.pending_sheets(db, city, YEAR) == 1
