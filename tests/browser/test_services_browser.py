"""The plan's other services walked in a real browser, from the pages only (no /docs), against
the real server on the demo data: a household's anti-theft request filed by its community and
handled by the station (assign, checklist visit with a photo); a community's disaster-prevention
request accepted and recorded by the fire bureau; a volunteer's protection referral received by
social affairs (after which the volunteer no longer reads it); a bulletin generated, edited,
published and read in the public archive. On a desktop and a 390 px phone, with screenshots.
"""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Person
from tests.conftest import fresh_database
from tests.live import serve, token

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
TODAY = dt.date.today()
RATINGS = {
    "doors": "fair",
    "windows": "poor",
    "locks": "poor",
    "lighting": "fair",
    "sightlines": "good",
    "alarms": "absent",
}


@pytest.fixture(scope="module")
def live(db_settings, tmp_path_factory):
    with serve(fresh_database(db_settings, "services_web"), tmp_path_factory, demo=True) as base:
        yield base


def api(live, username):
    return {"Authorization": f"Bearer {token(live, username)}"}


@pytest.fixture(scope="module")
def home_point(live) -> tuple[float, float]:
    """A door in the demo station's beat: where the demo's own consultations are."""
    r = httpx.get(f"{live}/api/consultations", headers=api(live, "demo-station"))
    lon, lat = r.json()["items"][0]["location"]["coordinates"]
    return lon, lat


def fits(page) -> None:
    """No horizontal scroll on the page (wide tables scroll inside themselves)."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_demo_services_are_loaded_and_scoped(live):
    """The demo's services data, and its protection records under the same rules as real ones."""
    station = httpx.get(f"{live}/api/consultations", headers=api(live, "demo-station")).json()
    assert station["total"] >= 6
    assert any(c["repeat_victim"] for c in station["items"])
    assert all("示範" in c["address"] for c in station["items"])
    other = httpx.get(f"{live}/api/consultations", headers=api(live, "demo-precinct2")).json()
    assert not {c["id"] for c in other["items"]} & {c["id"] for c in station["items"]}
    social = httpx.get(f"{live}/api/protection/referrals", headers=api(live, "demo-social"))
    assert social.json()["total"] >= 2
    for who in ("demo-station", "demo-precinct", "demo-city", "demo-fire", "demo-leader",
                "demo-admin", "demo-counsel"):  # fmt: skip
        r = httpx.get(f"{live}/services/protection", headers=api(live, who))
        assert "兒童甲" not in r.text and "住戶乙" not in r.text, who
    public = httpx.get(f"{live}/services/bulletins")
    assert "已發布" in public.text
    # Home pages point each role at its services and what waits for it.
    fire = httpx.get(f"{live}/app", cookies={"safemap_session": token(live, "demo-fire")})
    assert "/services/disaster-requests" in fire.text and "待回覆的防災宣導申請" in fire.text
    social_home = httpx.get(f"{live}/app", cookies={"safemap_session": token(live, "demo-social")})
    assert "待受理的婦幼保護通報" in social_home.text


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_household_request_to_station_visit(browser, live, home_point, viewport):
    lon, lat = home_point
    household = f"{viewport}住戶（示範）"
    community = Person(browser, live, "demo-community", viewport)
    page = community.page
    community.go("/app")
    page.click("text=防竊諮詢申請")
    page.click("text=新增防竊諮詢申請")
    page.select_option("#f-reason", "burgled")
    page.fill("#f-household_name", household)
    page.fill("#f-address", f"新北市板橋區示範路 {len(viewport)} 號")
    page.click("button[type=submit]")
    # Missing place and burglary date: zh-TW messages, what was typed kept.
    expect(page.locator(".field-error", has_text="請在地圖上點選住家位置")).to_be_visible()
    expect(page.locator(".field-error", has_text="請填寫失竊日期")).to_be_visible()
    assert page.input_value("#f-household_name") == household
    page.fill("#f-burgled_on", (TODAY - dt.timedelta(days=1)).isoformat())
    page.fill("#f-lat", f"{lat:.6f}")
    page.fill("#f-lon", f"{lon:.6f}")
    fits(page)
    community.shot("consultation-request")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live}/services/consultations")
    case_id = page.locator("table tr:nth-child(2) td:first-child").inner_text().strip()
    assert household not in page.content()  # the community keeps a receipt, not the household
    community.close()

    station = Person(browser, live, "demo-station", viewport)
    page = station.page
    station.go("/app")
    page.click("text=防竊達人")
    page.click(f"a[href='/services/consultations/{case_id}']")
    expect(page.locator("h1")).to_contain_text(f"第 {case_id} 號")
    page.fill("#f-consultant_name", "防竊顧問（瀏覽器）")
    page.fill("#f-scheduled_for", TODAY.isoformat())
    page.click("#assign button[type=submit]")
    expect(page.locator("h1")).to_contain_text("已指派防竊顧問")
    page.fill("#f-visited_on", TODAY.isoformat())
    for item, rating in RATINGS.items():
        if item != "alarms":
            page.check(f"input[name=rating_{item}][value={rating}]")
    page.fill("#f-advice", "更換防撬鎖並加裝感應燈")
    page.click("#visit button[type=submit]")
    expect(page.locator(".field-error", has_text="警報與監視設備")).to_be_visible()
    assert page.input_value("#f-advice") == "更換防撬鎖並加裝感應燈"
    page.check("input[name=rating_alarms][value=absent]")
    page.fill("#f-follow_up_on", (TODAY + dt.timedelta(days=30)).isoformat())
    page.set_input_files("#f-photo", {"name": "door.png", "mimeType": "image/png", "buffer": PNG})
    page.click("#visit button[type=submit]")
    expect(page.locator("h1")).to_contain_text("已實地勘查")
    expect(page.locator("text=更換防撬鎖並加裝感應燈").first).to_be_visible()
    assert page.locator("img.photo").count() == 1
    fits(page)
    station.shot("consultation-visited")
    station.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_community_request_to_fire_bureau_event(browser, live, viewport):
    community = Person(browser, live, "demo-community", viewport)
    page = community.page
    community.go("/app")
    page.click("text=防災宣導申請")
    page.click("text=線上申請防災宣導")
    page.check("input[name=topics][value=first_aid_cpr]")
    page.fill("#f-content", f"{viewport} CPR 教學")
    page.fill("#f-requested_date", (TODAY + dt.timedelta(days=10)).isoformat())
    page.fill("#f-start_time", "14:00")
    page.fill("#f-place", "社區活動中心")
    page.fill("#f-expected_attendance", "0")
    page.fill("#f-contact_name", "林幹事")
    page.fill("#f-contact_phone", "02-2960-0000")
    page.click("button[type=submit]")
    expect(page.locator(".field-error", has_text="預估參加人數須為 1 以上")).to_be_visible()
    assert page.input_value("#f-content") == f"{viewport} CPR 教學"
    page.fill("#f-expected_attendance", "40")
    assert page.input_value("#f-contact_name") == "林幹事"
    # Leave the number field (in headless Chromium a click straight from a focused number
    # field after a full-page screenshot can be swallowed; a person tabs or taps away).
    page.press("#f-expected_attendance", "Tab")
    fits(page)
    community.shot("disaster-request")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/services/disaster-requests/\d+$"))
    path = page.url.split(live, 1)[1]
    community.close()

    fire = Person(browser, live, "demo-fire", viewport)
    page = fire.page
    fire.go("/app")
    page.click("text=防災宣導申請案件")
    page.click(f"a[href='{path}']")
    page.fill("#f-accept_instructors", "王教官\n李教官")
    page.click("#accept button[type=submit]")
    expect(page.locator("h1")).to_contain_text("已核派教官")
    expect(page.locator("text=王教官、李教官").first).to_be_visible()
    page.fill("#f-held_on", TODAY.isoformat())
    page.fill("#f-attendance", "37")
    page.click("#held button[type=submit]")
    expect(page.locator("h1")).to_contain_text("已辦理")
    expect(page.locator("text=實到 37 人").first).to_be_visible()
    fits(page)
    fire.shot("disaster-held")
    fire.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_volunteer_referral_received_by_social_affairs(browser, live, viewport):
    name = f"瀏覽器當事人{viewport}（示範）"
    volunteer = Person(browser, live, "demo-community", viewport)
    page = volunteer.page
    volunteer.go("/app")
    page.click("text=婦幼保護通報與關懷訪視")
    page.click("text=通報疑似家暴／兒少保護事件")
    page.select_option("#f-kind", "domestic_violence")
    page.fill("#f-subject_name", name)
    page.fill("#f-subject_address", "示範巷 9 號")
    page.fill("#f-observed_on", TODAY.isoformat())
    page.fill("#f-description", "夜間常聽到爭吵與求救聲")
    fits(page)
    volunteer.shot("referral-form")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/services/protection/referrals/\d+$"))
    path = page.url.split(live, 1)[1]
    expect(page.locator("text=" + name).first).to_be_visible()

    social = Person(browser, live, "demo-social", viewport)
    spage = social.page
    social.go("/app")
    spage.click("text=婦幼保護通報與關懷訪視")
    spage.click(f"a[href='{path}']")
    spage.fill("#f-case_ref", f"社-{viewport}")
    spage.click("#received button[type=submit]")
    expect(spage.locator("h1")).to_contain_text("社會局已受理")
    fits(spage)
    social.shot("referral-received")
    social.close()

    # Received: the volunteer's own submission is no longer theirs to read.
    volunteer.go(path)
    assert name not in page.content()
    volunteer.close()


@pytest.mark.parametrize(("viewport", "months_ago"), [("desktop", 2), ("phone", 3)])
def test_bulletin_generate_edit_publish_archive(browser, live, viewport, months_ago):
    month = TODAY.replace(day=1)
    for _ in range(months_ago):
        month = (month - dt.timedelta(days=1)).replace(day=1)
    editor = Person(browser, live, "demo-community", viewport)
    page = editor.page
    editor.go("/app")
    page.click("text=社區治安「e話」")
    page.click("text=產生新一期")
    page.fill("#f-month", month.strftime("%Y-%m"))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/services/bulletins/\d+/edit$"))
    title = f"{viewport} 的「e話」（示範）"
    page.fill("#f-title", title)
    page.fill("#f-notes", f"{viewport}：本月守望相助隊招募新隊員")
    page.click("button[value=preview]")
    page.wait_for_url(re.compile(r"/services/bulletins/\d+$"))
    issue_path = page.url.split(live, 1)[1]
    expect(page.locator("text=草稿：尚未發布").first).to_be_visible()
    page.click("text=編修與發布")
    fits(page)
    editor.shot("bulletin-edit")
    page.click("#publish button[type=submit]")
    page.wait_for_url(f"{live}{issue_path}")
    expect(page.locator("text=本月守望相助隊招募新隊員").first).to_be_visible()
    editor.close()

    resident = Person(browser, live, None, viewport)
    page = resident.page
    resident.go("/services/bulletins")
    page.click(f"text={title}")
    expect(page.locator("text=本月守望相助隊招募新隊員").first).to_be_visible()
    fits(page)
    resident.shot("bulletin-public")
    resident.close()
