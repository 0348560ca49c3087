"""Evaluation (plan 捌): rubric, sheets, calibration, thresholds, ranking, certification, tiers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from workflow.evaluation import (
    DuplicateNomination,
    DuplicateSheet,
    IncompleteSheet,
    InvalidRubric,
    Nomination,
    NotNominated,
    Outcome,
    ScoreOutOfRange,
    ScorerNotOnPanel,
    ScoreSheet,
    TooManyNominations,
    UnknownCriterion,
    amount_label,
    check_sheet,
    evaluate,
    load_rubric,
)
from workflow.settings import AwardTier, ProgramSettings, default_settings

RUBRIC = load_rubric()
SETTINGS = default_settings()
SCORERS = (1, 2, 3)
D = Decimal


def scores(total, *, shift: str | float = 0) -> dict[str, Decimal]:
    """A complete sheet adding up to ``total``: every criterion at the same share of its weight,
    then ``shift`` points moved from 創新 to 治安會議與安全檢測地圖 (the first tie-break)."""
    share = D(str(total)) / 100
    out = {c.code: c.weight * share for c in RUBRIC.criteria}
    out["meeting_map"] += D(str(shift))
    out["innovation"] -= D(str(shift))
    return out


def nominee(cid: int, preliminary=85, precinct: int | None = None) -> Nomination:
    return Nomination(cid, precinct or cid, preliminary, f"社區{cid}", f"分局{precinct or cid}")


def sheets_for(cid: int, totals, **kw) -> list[ScoreSheet]:
    return [ScoreSheet(s, cid, scores(t, **kw)) for s, t in zip(SCORERS, totals, strict=True)]


# --------------------------------------------------------------------------- the rubric
def test_reference_rubric_holds_the_plans_items_and_weights_sum_to_100():
    assert sum(c.weight for c in RUBRIC.criteria) == 100
    names = "、".join(c.name for c in RUBRIC.criteria)
    for item in ("組織運作", "治安會議", "安全檢測", "守望相助", "錄影監視", "區塊認養"):
        assert item in names
    for item in ("宣導", "防災", "婦幼", "經費", "創新"):
        assert item in names
    assert [b.label for b in RUBRIC.bands] == ["優", "良", "可", "待加強"]
    assert all(c.plan_ref and len(c.descriptors) == 4 for c in RUBRIC.criteria)
    assert RUBRIC.tie_break_criteria == ["meeting_map", "organisation"]


def test_bands_and_descriptors():
    assert RUBRIC.band("cctv", 9.5).label == "優"
    assert RUBRIC.band("cctv", 8).label == "良"
    assert RUBRIC.band("cctv", 7).label == "可"
    assert RUBRIC.band("cctv", 6.9).label == "待加強"
    assert RUBRIC.descriptor("cctv", 0) == "未規劃錄影監視系統。"


@pytest.mark.parametrize(
    "change",
    [
        lambda r: r["criteria"][0].update(weight=11),  # sums to 101
        lambda r: r["criteria"][1].update(code="organisation"),  # duplicate code
        lambda r: r["criteria"][2]["descriptors"].pop("weak"),  # a band without descriptor
        lambda r: r.update(tie_break_criteria=["nope"]),
        lambda r: r["bands"].pop(),  # no band starts at 0
        lambda r: r.pop("criteria"),
    ],
)
def test_bad_rubrics_are_refused(change):
    raw = RUBRIC.model_dump()
    change(raw)
    with pytest.raises(InvalidRubric) as e:
        load_rubric(raw)
    assert e.value.code == "rubric_invalid"
    assert e.value.message == "評分表設定有誤。"


# --------------------------------------------------------------------------- sheets
@pytest.mark.parametrize("bad", [-1, 10.5, float("nan"), "abc", True])
def test_score_outside_the_criterion_is_refused(bad):
    sheet = ScoreSheet(1, 1, {**scores(90), "cctv": bad})
    with pytest.raises(ScoreOutOfRange) as e:
        check_sheet(RUBRIC, sheet)
    assert e.value.code == "score_out_of_range"
    assert "錄影監視系統" in e.value.message


def test_unknown_criterion_and_incomplete_sheet():
    with pytest.raises(UnknownCriterion) as e:
        check_sheet(RUBRIC, ScoreSheet(1, 1, {**scores(90), "parking": 3}))
    assert e.value.code == "criterion_unknown"
    partial = ScoreSheet(1, 1, {"cctv": 8, "watch_team": 9})
    with pytest.raises(IncompleteSheet) as e:
        check_sheet(RUBRIC, partial)
    assert "組織運作與居民參與" in e.value.message
    assert check_sheet(RUBRIC, partial, complete=False) == {"cctv": 8, "watch_team": 9}


def test_one_sheet_per_scorer_and_nominee():
    sheets = [*sheets_for(1, [90, 90, 90]), ScoreSheet(2, 1, scores(85), "王委員")]
    with pytest.raises(DuplicateSheet) as e:
        evaluate(RUBRIC, [nominee(1)], sheets, SETTINGS)
    assert e.value.code == "sheet_duplicate"
    assert "王委員" in e.value.message


def test_only_nominated_communities_are_scored():
    with pytest.raises(NotNominated) as e:
        evaluate(RUBRIC, [nominee(1)], sheets_for(2, [90, 90, 90]), SETTINGS)
    assert e.value.code == "not_nominated"


def test_scorers_must_be_on_the_panel():
    with pytest.raises(ScorerNotOnPanel):
        evaluate(RUBRIC, [nominee(1)], sheets_for(1, [90, 90, 90]), SETTINGS, panel=[1, 2])


# --------------------------------------------------------------------------- nominations
def test_each_precinct_nominates_one():
    """捌、一「由本府警察局所屬各分局辦理遴(初)選 1 個治安社區」"""
    two = [nominee(1, precinct=7), nominee(2, precinct=7)]
    with pytest.raises(TooManyNominations) as e:
        evaluate(RUBRIC, two, [], SETTINGS)
    assert e.value.code == "nominations_exceeded"
    assert "分局7已推薦 2 個社區，每分局以 1 個為限" in e.value.message
    roomy = SETTINGS.model_copy(update={"nominations_per_precinct": 2})
    assert len(evaluate(RUBRIC, two, [], roomy).entries) == 2
    with pytest.raises(DuplicateNomination):
        evaluate(RUBRIC, [nominee(1, precinct=7), nominee(1, precinct=8)], [], SETTINGS)
    with pytest.raises(ScoreOutOfRange):
        evaluate(RUBRIC, [nominee(1, preliminary=101)], [], SETTINGS)


# --------------------------------------------------------------------------- thresholds
def test_both_rounds_must_reach_80():
    """捌、三「(初、複評成績須達 80 分以上)」: 80 itself passes, both rounds are checked."""
    noms = [nominee(1, 80), nominee(2, 79.5), nominee(3, 90), nominee(4, 95)]
    sheets = [
        *sheets_for(1, [80, 80, 80]),
        *sheets_for(2, [95, 95, 95]),
        *sheets_for(3, [79, 80, 80.5]),  # 79.83
        *sheets_for(4, [79.99, 80, 80]),  # 79.9966… → 80.00 as published
    ]
    result = evaluate(RUBRIC, noms, sheets, SETTINGS)
    r = {e.nomination.community_id: e for e in result.entries}
    assert r[1].eligible and r[1].review_average == D("80.00")
    assert r[2].reasons == ("初選成績 79.5 分未達 80 分",)
    assert r[3].reasons == ("複評平均 79.83 分未達 80 分",)
    assert r[4].review_average == D("80.00") and r[4].eligible
    assert [e.nomination.community_id for e in result.ranked] == [4, 1]
    assert r[2].outcome is Outcome.below_threshold and r[2].rank is None
    assert r[2].outcome_label == "未達門檻"


def test_a_nominee_missing_a_scorer_is_not_ranked():
    sheets = [*sheets_for(1, [90, 90, 90]), *sheets_for(2, [95, 95, 95])[:2]]
    result = evaluate(RUBRIC, [nominee(1), nominee(2)], sheets, SETTINGS)
    second = result.by_community(2)
    assert second.reasons == ("尚缺 1 位評審委員評分",)
    assert second.outcome_label == "評分未齊"
    none = evaluate(RUBRIC, [nominee(1), nominee(3)], sheets_for(1, [90, 90, 90]), SETTINGS)
    assert none.by_community(3).reasons == ("尚無複評評分",)


# --------------------------------------------------------------------------- ranking
def test_ties_are_broken_by_preliminary_then_the_named_criteria():
    noms = [nominee(1, 85), nominee(2, 88), nominee(3, 85), nominee(4, 85)]
    sheets = [
        *sheets_for(1, [90, 90, 90]),
        *sheets_for(2, [90, 90, 90]),
        *sheets_for(3, [90, 90, 90], shift=1),
        *sheets_for(4, [91, 89, 90]),
    ]
    ranked = evaluate(RUBRIC, noms, sheets, SETTINGS).ranked
    assert [e.nomination.community_id for e in ranked] == [2, 3, 1, 4]
    assert ranked[0].tie_break is None
    assert ranked[1].tie_break == (
        "與第 1 名「社區2」複評平均同為 90.00 分，依初選成績較高者在前（88 比 85）。"
    )
    assert ranked[2].tie_break == (
        "與第 2 名「社區3」複評平均同為 90.00 分，"
        "依「治安會議與安全檢測地圖」項目平均較高者在前（14.50 比 13.50）。"
    )
    # 1 and 4 are equal on every key: ordered by id, and flagged for the panel.
    assert ranked[3].unresolved_tie and ranked[2].unresolved_tie
    assert "須由評審會議決定名次" in ranked[3].tie_break
    assert not ranked[1].unresolved_tie


# --------------------------------------------------------------------------- calibration
def test_calibration_makes_leniency_and_spread_visible():
    noms = [nominee(i) for i in (1, 2, 3)]
    # Panel means 85, 88, 94. Scorer 1 gives 84, 85, 89 (3 below, and a narrow spread);
    # scorer 2 one below throughout; scorer 3 gives 87, 92, 100 (4 above).
    sheets = [
        *sheets_for(1, [84, 84, 87]),
        *sheets_for(2, [85, 87, 92]),
        *sheets_for(3, [89, 93, 100]),
    ]
    cal = {c.scorer_id: c for c in evaluate(RUBRIC, noms, sheets, SETTINGS).calibration}
    assert (cal[1].mean, cal[1].panel_mean, cal[1].offset) == (D("86.00"), D("89.00"), D("-3.00"))
    assert cal[1].label == "評分偏嚴（平均低於評審團 3.00 分）"
    assert cal[2].offset == D("-1.00") and cal[2].label == "與評審團一致"
    assert cal[3].offset == D("4.00") and cal[3].label == "評分偏寬（平均高於評審團 4.00 分）"
    # Spread: scorer 1 separates the nominees less than the panel does, scorer 3 more.
    assert (cal[1].spread, cal[1].panel_spread) == (D("2.16"), D("3.74"))
    assert cal[3].spread == D("5.35")
    # Per criterion: 4 points over 100 is 0.4 on a criterion weighing 10.
    assert cal[3].criterion_offsets["cctv"] == D("0.40")
    assert cal[3].sheets == 3


# --------------------------------------------------------------------------- tiers, labels
def test_amount_labels_follow_the_plan():
    tiers = SETTINGS.award_tiers
    assert [amount_label(t) for t in tiers] == [
        "新臺幣 4–6 萬元",
        "新臺幣 2–4 萬元",
        "新臺幣 1–2 萬元",
        "酌發獎勵金",
    ]
    assert amount_label(AwardTier(name="x", rank_from=1, rank_to=1, amount_min=15000)) == (
        "新臺幣 1.5 萬元以上"
    )


def test_counts_and_tiers_come_from_the_years_settings():
    custom = SETTINGS.model_copy(
        update={
            "certified_count": 3,
            "quality_count": 1,
            "award_tiers": [AwardTier(name="特優", rank_from=1, rank_to=1, amount_min=80000)],
        }
    )
    noms = [nominee(i) for i in range(1, 6)]
    sheets = [s for i in range(1, 6) for s in sheets_for(i, [90 + i] * 3)]
    result = evaluate(RUBRIC, noms, sheets, custom)
    assert [e.nomination.community_id for e in result.certified] == [5, 4, 3]
    assert [e.nomination.community_id for e in result.quality] == [5]
    assert result.ranked[0].tier_label == "特優：新臺幣 8 萬元以上"
    assert result.ranked[1].tier is None


def test_overlapping_tiers_are_refused():
    raw = SETTINGS.model_dump()
    raw["award_tiers"][1]["rank_from"] = 2
    with pytest.raises(ValidationError):
        ProgramSettings.model_validate(raw)


# --------------------------------------------------------------------------- a whole year
def test_a_whole_evaluation_year():
    """16 precincts nominate one community each; 3 scorers; the plan's thresholds, ranking,
    certification (12, top 6 優質治安社區) and tiers with their amounts (捌、二、三)."""
    # Per precinct: (初選, the three scorers' totals). Scorer 3 gives 2–3 points more than the others.
    table = {
        1: (92, [94, 95, 97]),  # 95.33
        2: (90, [93, 93, 96]),  # 94.00
        3: (88, [92, 92, 95]),  # 93.00
        4: (91, [90, 91, 93]),  # 91.33
        5: (86, [89, 90, 92]),  # 90.33  } tie at 90.33: 初選 89 ranks 6 above 5
        6: (89, [89, 90, 92]),  # 90.33  }
        7: (85, [88, 88, 91]),  # 89.00
        8: (84, [87, 88, 90]),  # 88.33
        9: (83, [86, 87, 89]),  # 87.33
        10: (82, [85, 86, 88]),  # 86.33
        11: (81, [84, 85, 87]),  # 85.33
        12: (80, [83, 84, 86]),  # 84.33
        13: (85, [82, 82, 85]),  # 83.00
        14: (81, [80, 81, 83]),  # 81.33
        15: (78, [90, 91, 93]),  # 初選 below 80
        16: (88, [78, 79, 81]),  # 複評 79.33
    }
    noms = [nominee(p, pre, precinct=p) for p, (pre, _) in table.items()]
    sheets = [s for p, (_, totals) in table.items() for s in sheets_for(p, totals)]
    result = evaluate(RUBRIC, noms, sheets, SETTINGS, scorer_names={3: "李委員"})

    order = [e.nomination.community_id for e in result.ranked]
    assert order == [1, 2, 3, 4, 6, 5, 7, 8, 9, 10, 11, 12, 13, 14]
    by = {e.nomination.community_id: e for e in result.entries}
    assert by[1].review_average == D("95.33")
    assert by[5].tie_break == (
        "與第 5 名「社區6」複評平均同為 90.33 分，依初選成績較高者在前（89 比 86）。"
    )
    assert not result.unresolved_ties

    # Certification: the best 12; the top 6 are 優質治安社區.
    assert [e.nomination.community_id for e in result.certified] == order[:12]
    assert [e.nomination.community_id for e in result.quality] == [1, 2, 3, 4, 6, 5]
    assert by[6].outcome_label == "優質治安社區" and by[6].certificate_title == "優質治安社區"
    assert by[7].outcome_label == "通過認證" and by[7].certificate_title == "治安社區認證"
    assert by[13].outcome_label == "未獲認證" and by[13].certificate_title is None

    # Tiers: 優等 1–2 (4–6 萬) and 3–4 (2–4 萬), 甲等 5–6 (1–2 萬), 成長組 7–16.
    tiers = [(e.rank, e.tier_label) for e in result.ranked]
    assert tiers[:6] == [
        (1, "優等（第1–2名）：新臺幣 4–6 萬元"),
        (2, "優等（第1–2名）：新臺幣 4–6 萬元"),
        (3, "優等（第3–4名）：新臺幣 2–4 萬元"),
        (4, "優等（第3–4名）：新臺幣 2–4 萬元"),
        (5, "甲等：新臺幣 1–2 萬元"),
        (6, "甲等：新臺幣 1–2 萬元"),
    ]
    assert {label for _, label in tiers[6:]} == {"成長組：酌發獎勵金"}
    # 成長組 reaches rank 16, past the 12 certified: ranks 13 and 14 are awarded, not certified.
    assert by[14].rank == 14 and by[14].tier.name == "成長組" and not by[14].certified

    # Both rounds must reach 80.
    assert by[15].reasons == ("初選成績 78 分未達 80 分",)
    assert by[16].reasons == ("複評平均 79.33 分未達 80 分",)
    assert [e.nomination.community_id for e in result.entries[-2:]] == [15, 16]

    # The lenient scorer shows.
    cal = {c.scorer_id: c for c in result.calibration}
    assert cal[3].scorer_name == "李委員"
    # 12 nominees scored (a, a+1, a+3) and 4 scored (a, a, a+3): (12 × 5/3 + 4 × 2) / 16.
    assert cal[3].offset == D("1.75") and cal[3].sheets == 16
    assert cal[1].offset == D("-1.25")
