"""The city police bureau's pages in a real browser (Debian's Chromium under Playwright) on
the demo data: a counsellor fills a scoring sheet (a wrong score first: a zh-TW message and
everything typed kept), the ranking appears once the panel has scored, and the city opens
the staff rewards and the exports and downloads a CSV Excel can read. Desktop and a 390 px
phone; screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Person
from tests.conftest import fresh_database
from tests.live import serve, token

SUBSIDISED = ("approved", "in_progress", "completed")


@pytest.fixture(scope="module")
def live(db_settings, tmp_path_factory):
    with serve(fresh_database(db_settings, "web_city"), tmp_path_factory, demo=True) as base:
        yield base


def _h(base: str, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(base, username)}"}


@pytest.fixture(scope="module")
def nominee(live):
    """The demo year has no nominee yet: 板橋分局 nominates one of its subsidised
    communities and the two other counsellors of the panel score it, through the API."""
    city = _h(live, "demo-city")
    year = max(y["year"] for y in httpx.get(f"{live}/api/program-years", headers=city).json())
    precinct = _h(live, "demo-precinct")
    items = httpx.get(f"{live}/api/applications", params={"year": year}, headers=precinct).json()[
        "items"
    ]
    application = next(a for a in items if a["status"] in SUBSIDISED)
    r = httpx.post(
        f"{live}/api/program-years/{year}/evaluation/nominations",
        json={"application_id": application["id"], "preliminary_score": 88, "reason": "示範推薦"},
        headers=precinct,
    )
    assert r.status_code == 201, r.text
    nomination = r.json()
    rubric = httpx.get(f"{live}/api/program-years/{year}/rubric", headers=city).json()
    for scorer in ("demo-counsel2", "demo-counsel3"):
        scores = {c["code"]: c["weight"] * 0.9 for c in rubric["criteria"]}
        r = httpx.put(
            f"{live}/api/nominations/{nomination['id']}/sheet",
            json={"scores": scores},
            headers=_h(live, scorer),
        )
        assert r.status_code == 200, r.text
    return {"year": year, "nomination": nomination, "rubric": rubric}


def _no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_counsellor_scores_and_the_ranking_appears(browser, live, nominee, viewport):
    counsel = Person(browser, live, "demo-counsel", viewport)
    page = counsel.page
    expect(page.locator("a", has_text="待評分的評鑑表")).to_be_visible()
    counsel.go("/app/evaluation")
    community = nominee["nomination"]["community"]
    row = page.locator(f"#progress tr[data-nomination='{nominee['nomination']['id']}']")
    expect(row).to_contain_text(community)
    counsel.shot("evaluation")
    row.locator("a").click()
    page.wait_for_selector("#sheet-form")
    _no_sideways_scroll(page)

    criteria = nominee["rubric"]["criteria"]
    first = criteria[0]
    page.fill(f"#score_{first['code']}", str(first["weight"] + 7))  # over the item's maximum
    for c in criteria[1:]:
        page.fill(f"#score_{c['code']}", str(c["weight"]))
    page.fill(f"#comment_{criteria[1]['code']}", f"{viewport} 會議紀錄完整")
    page.fill("#comment", f"{viewport} 整體表現良好")
    page.click("#submit-sheet")
    error = page.locator(".field-error", has_text=f"「{first['name']}」的分數須介於 0 至")
    expect(error).to_be_visible()
    assert page.input_value(f"#score_{first['code']}") == str(first["weight"] + 7)
    assert page.input_value(f"#score_{criteria[-1]['code']}") == str(criteria[-1]["weight"])
    assert page.input_value(f"#comment_{criteria[1]['code']}") == f"{viewport} 會議紀錄完整"
    assert page.input_value("#comment") == f"{viewport} 整體表現良好"
    counsel.shot("sheet-error")

    page.fill(f"#score_{first['code']}", str(first["weight"] - 1))
    page.click("#submit-sheet")
    page.wait_for_url("**/app/evaluation?*saved=submitted*")
    expect(page.locator("#msg")).to_contain_text("評分表已送出")
    ranking = page.locator("#ranking")
    expect(ranking).to_be_visible()
    expect(ranking.locator(f"tr:has-text('{community}') td").first).to_have_text("1")
    _no_sideways_scroll(page)
    counsel.shot("ranking")
    counsel.close()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_city_opens_rewards_and_exports_and_downloads_a_csv(
    browser, live, nominee, viewport, tmp_path
):
    city = Person(browser, live, "demo-city", viewport)
    page = city.page
    page.click("a[href='/app/rewards']")
    page.wait_for_selector("h1:has-text('敘獎')")
    expect(page.locator("#rewards, #rewards-empty").first).to_be_visible()
    _no_sideways_scroll(page)
    city.shot("rewards")

    # Last year's evaluation was published in the demo: ranking and printable certificates.
    years = sorted(
        y["year"]
        for y in httpx.get(f"{live}/api/program-years", headers=_h(live, "demo-city")).json()
    )
    city.go(f"/app/evaluation?year={years[0]}")
    expect(page.locator("#ranking")).to_be_visible()
    certificate = page.locator("#certificate-list a").first
    expect(certificate).to_have_text("列印證書")
    response = page.request.get(live + certificate.get_attribute("href"))
    assert response.status == 200 and "證書" in response.text()
    _no_sideways_scroll(page)
    city.shot("evaluation-published")

    city.go("/app/exports")
    for name in ("applications", "claims", "evaluation", "rewards"):
        expect(page.locator(f"a[data-export='{name}']")).to_be_visible()
    expect(page.locator("#map-export select#community_id")).to_be_attached()
    _no_sideways_scroll(page)
    city.shot("exports")
    with page.expect_download() as info:
        page.click("a[data-export='evaluation']")
    path = Path(tmp_path) / "evaluation.csv"
    info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel shows the Chinese
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("名次,社區,分局,初選成績,複評平均")
    assert nominee["nomination"]["community"] in text
    city.close()
