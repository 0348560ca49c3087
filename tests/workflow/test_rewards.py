"""Staff commendations (plan 玖): one test per clause, each quoting the plan's wording."""

from __future__ import annotations

import pytest

from workflow.rewards import (
    Award,
    Clause,
    CounselledCommunity,
    RewardInputError,
    Unit,
    UnitKind,
    compute_rewards,
    evaluation_staff_rewards,
    to_merits,
    zh_number,
)
from workflow.settings import Post, RewardRules, default_settings

RULES = RewardRules()


def communities(ids, **flags) -> tuple[CounselledCommunity, ...]:
    flags = {"closure_completed": True, **flags}
    return tuple(CounselledCommunity(i, f"社區{i}", **flags) for i in ids)


def one(kind: UnitKind, cs, rules: RewardRules = RULES, **headcounts):
    unit = Unit(1, "測試單位", kind, tuple(cs), {Post(k): v for k, v in headcounts.items()})
    return compute_rewards([unit], rules)[0]


def award(kind, n, post, clause, rules=RULES) -> tuple[int, int]:
    a = one(kind, communities(range(n)), rules).award(clause, post)
    return a.merits, a.commendations


# --------------------------------------------------------------------------- 玖、一、(一)
def test_station_each_community_earns_each_post_one_commendation():
    """玖、一、(一)「每年度輔導接受補助之治安社區數1個，並完成核銷程序者，警勤區員警(擇優半數)、
    業務承辦人、正(副)所長各予嘉獎一次」"""
    r = one(UnitKind.station, communities([1]), beat_officer=2, deputy_station_chief=1)
    clause = r.clause(Clause.station)
    assert clause.award_units == 1
    assert {p.post: (p.persons, p.award) for p in clause.posts} == {
        Post.beat_officer: (1, Award(0, 1)),
        Post.case_officer: (1, Award(0, 1)),
        Post.station_chief: (1, Award(0, 1)),
        Post.deputy_station_chief: (1, Award(0, 1)),
    }
    assert all(p.award.label == "嘉獎一次" for p in clause.posts)


def test_station_counts_only_subsidised_communities_with_completed_closure():
    """玖、一、(一)「輔導接受補助之治安社區…並完成核銷程序者」: both conditions."""
    cs = (
        CounselledCommunity(1, closure_completed=False),
        CounselledCommunity(2, subsidised=False, closure_completed=True),
        CounselledCommunity(3, closure_completed=True),
    )
    clause = one(UnitKind.station, cs).clause(Clause.station)
    assert [c.community_id for c in clause.qualifying] == [3]
    assert clause.post(Post.case_officer).award == Award(0, 1)
    nothing = one(UnitKind.station, cs[:2]).clause(Clause.station)
    assert nothing.award_units == 0
    assert all(not p.award for p in nothing.posts)
    assert "不予獎勵" in nothing.explanation


@pytest.mark.parametrize(
    ("officers", "rounding", "rewarded"),
    [(6, "up", 3), (5, "up", 3), (5, "down", 2), (1, "up", 1), (1, "down", 0), (0, "up", 0)],
)
def test_station_rewards_the_best_half_of_beat_officers(officers, rounding, rewarded):
    """玖、一、(一)「警勤區員警(擇優半數)」: half the station's beat officers, odd counts by
    ``share_rounding`` (default up, so a station's only beat officer is rewarded)."""
    rules = RewardRules(share_rounding=rounding)
    r = one(UnitKind.station, communities([1]), rules, beat_officer=officers)
    post = r.clause(Clause.station).post(Post.beat_officer)
    assert post.persons == rewarded
    assert "擇優半數" in post.explanation


def test_station_beat_officers_unreported_leaves_the_count_open():
    """玖、一、(一)「警勤區員警(擇優半數)」: without a headcount the award per person still holds."""
    post = one(UnitKind.station, communities([1])).clause(Clause.station).post(Post.beat_officer)
    assert post.persons is None
    assert post.award == Award(0, 1)
    assert "人數未提供" in post.explanation


def test_station_head_and_each_deputy():
    """玖、一、(一)「正(副)所長各予嘉獎一次」: the head, and every deputy the station has."""
    clause = one(UnitKind.station, communities([1]), deputy_station_chief=2).clause(Clause.station)
    assert clause.post(Post.station_chief).persons == 1
    assert clause.post(Post.deputy_station_chief).persons == 2
    assert clause.post(Post.deputy_station_chief).award == Award(0, 1)


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, (0, 1)), (2, (0, 2)), (3, (1, 0)), (4, (1, 1)), (5, (1, 2)), (6, (2, 0)), (10, (3, 1))],
)
def test_station_three_commendations_make_a_merit_then_counts_multiply(n, expected):
    """玖、一、(一)「累積至記功一次後，其累計治安社區數以倍數計算」: 3 communities make 記功一次,
    6 make 記功二次, the rest stays 嘉獎."""
    assert award(UnitKind.station, n, Post.case_officer, Clause.station) == expected


def test_left_over_commendations_can_be_dropped_by_setting():
    """玖、一、(一)「累積至記功一次後，其累計治安社區數以倍數計算」, read strictly: only whole
    multiples count once a 記功 is reached (``merit_remainder_kept=False``)."""
    rules = RewardRules(merit_remainder_kept=False)
    assert award(UnitKind.station, 4, Post.case_officer, Clause.station, rules) == (1, 0)
    assert award(UnitKind.station, 2, Post.case_officer, Clause.station, rules) == (0, 2)
    post = one(UnitKind.station, communities(range(4)), rules).clause(Clause.station)
    assert "不另核給" in post.post(Post.case_officer).explanation


# --------------------------------------------------------------------------- 玖、一、(二)1
@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, (0, 0)), (2, (0, 1)), (3, (0, 1)), (4, (0, 2)), (6, (1, 0)), (8, (1, 1)), (12, (2, 0))],
)
def test_precinct_every_two_communities_earn_one_commendation(n, expected):
    """玖、一、(二)1「每年度輔導曾接受補助之治安社區數2個，並審核(初審)加速推動社區治安營造補助及
    完成核銷程序者，辦理本項業務之承辦人員、協辦1人、組長各予嘉獎一次，累積至記功一次後，其累計
    治安社區數以倍數計算」"""
    for post in (Post.case_officer, Post.assistant, Post.section_chief):
        assert award(UnitKind.precinct, n, post, Clause.precinct) == expected
    clause = one(UnitKind.precinct, communities(range(2))).clause(Clause.precinct)
    assert [(p.post, p.persons) for p in clause.posts] == [
        (Post.case_officer, 1),
        (Post.assistant, 1),
        (Post.section_chief, 1),
    ]


def test_precinct_counts_communities_it_reviewed_and_closed():
    """玖、一、(二)1「並審核(初審)…及完成核銷程序者」: not reviewed or not closed, not counted."""
    cs = (
        *communities([1, 2]),
        CounselledCommunity(3, closure_completed=True, reviewed=False),
        CounselledCommunity(4, closure_completed=False),
    )
    clause = one(UnitKind.precinct, cs).clause(Clause.precinct)
    assert [c.community_id for c in clause.qualifying] == [1, 2]
    assert clause.award_units == 1


def test_disaster_agency_is_rewarded_like_a_precinct():
    """玖、一、(二)1「防災社區輔導機關比照辦理」: the same numbers and posts, counting 防災社區."""
    cs = (*communities(range(4), disaster=True), *communities(range(10, 12)))
    r = one(UnitKind.disaster_agency, cs)
    assert [c.clause for c in r.clauses] == [Clause.disaster]
    clause = r.clause(Clause.disaster)
    assert len(clause.qualifying) == 4
    assert {p.post: p.award for p in clause.posts} == {
        Post.case_officer: Award(0, 2),
        Post.assistant: Award(0, 2),
        Post.section_chief: Award(0, 2),
    }
    six = one(UnitKind.disaster_agency, communities(range(6), disaster=True))
    assert six.award(Clause.disaster, Post.case_officer) == Award(1, 0)


# --------------------------------------------------------------------------- 玖、一、(二)2
def test_precinct_bonus_for_a_village_that_never_applied():
    """玖、一、(二)2「每年度輔導1處未曾申請本項補助之里社區，參與本府加速推動社區治安營造者，
    辦理本項業務之承辦人員、組長各予嘉獎二次、協辦2人各予嘉獎一次。」"""
    # 「參與」: on the roster; the clause does not ask for completed closure.
    cs = (CounselledCommunity(1, never_applied_village=True, closure_completed=False),)
    clause = one(UnitKind.precinct, cs).clause(Clause.new_village)
    assert {p.post: (p.persons, p.award.label) for p in clause.posts} == {
        Post.case_officer: (1, "嘉獎二次"),
        Post.section_chief: (1, "嘉獎二次"),
        Post.assistant: (2, "嘉獎一次"),
    }
    # A village that applied before, or one not on the roster, earns no bonus.
    assert not one(UnitKind.precinct, communities([1])).clause(Clause.new_village).award_units
    not_in = (CounselledCommunity(1, subsidised=False, never_applied_village=True),)
    assert not one(UnitKind.precinct, not_in).clause(Clause.new_village).award_units


def test_village_bonus_is_on_top_of_the_two_community_clause():
    """玖、一、(二)2 is a bonus: the village still counts under (二)1「治安社區數2個」."""
    cs = (*communities([1], never_applied_village=True), *communities([2]))
    r = one(UnitKind.precinct, cs)
    assert r.award(Clause.precinct, Post.case_officer) == Award(0, 1)
    assert r.award(Clause.new_village, Post.case_officer) == Award(0, 2)


def test_village_bonus_counts_each_village_and_settings_change_it():
    """玖、一、(二)2「每年度輔導1處…」: each village is one more bonus, and 三嘉獎折記功 applies;
    both readings, and 「參與」 without closure, are settings."""
    cs = communities([1, 2], never_applied_village=True)
    r = one(UnitKind.precinct, cs)
    assert r.award(Clause.new_village, Post.case_officer) == Award(1, 1)  # 嘉獎四次
    assert r.award(Clause.new_village, Post.assistant) == Award(0, 2)
    raw = one(UnitKind.precinct, cs, RewardRules(new_village_converts=False))
    assert raw.award(Clause.new_village, Post.case_officer) == Award(0, 4)
    once = one(UnitKind.precinct, cs, RewardRules(new_village_multiplies=False))
    assert once.award(Clause.new_village, Post.case_officer) == Award(0, 2)
    open_claims = communities([1], never_applied_village=True, closure_completed=False)
    strict = one(UnitKind.precinct, open_claims, RewardRules(new_village_requires_closure=True))
    assert not strict.clause(Clause.new_village).award_units


# --------------------------------------------------------------------------- 玖、一、(三)
@pytest.mark.parametrize(("n", "expected"), [(5, (0, 0)), (6, (0, 1)), (12, (0, 1)), (33, (0, 1))])
def test_bureau_six_communities_earn_one_commendation(n, expected):
    """玖、一、(三)「每年度輔導接受補助之治安(防災)社區數6個，並審核(複審)加速推動社區治安營造
    補助及完成核銷程序者，承辦人員(協辦1人)、股長各予嘉獎一次。」 No 「以倍數計算」 here: one
    award a year on reaching 6."""
    for post in (Post.case_officer, Post.assistant, Post.unit_chief):
        assert award(UnitKind.bureau, n, post, Clause.bureau) == expected
    clause = one(UnitKind.bureau, communities(range(n))).clause(Clause.bureau)
    assert clause.post(Post.assistant).persons == 1


def test_bureau_multiples_are_a_setting():
    """玖、一、(三)「…社區數6個…各予嘉獎一次」 counted per 6 when ``bureau_multiplies`` is set."""
    rules = RewardRules(bureau_multiplies=True)
    assert award(UnitKind.bureau, 12, Post.case_officer, Clause.bureau, rules) == (0, 2)
    assert award(UnitKind.bureau, 33, Post.unit_chief, Clause.bureau, rules) == (1, 2)


def test_bureau_counts_disaster_communities_it_reviewed():
    """玖、一、(三)「治安(防災)社區…並審核(複審)…及完成核銷程序者」"""
    cs = (
        *communities(range(3)),
        *communities(range(3, 6), disaster=True),
        CounselledCommunity(6, closure_completed=True, reviewed=False),
    )
    clause = one(UnitKind.bureau, cs).clause(Clause.bureau)
    assert len(clause.qualifying) == 6
    assert clause.post(Post.unit_chief).award == Award(0, 1)


# --------------------------------------------------------------------------- 玖、二
def test_evaluation_staff_are_rewarded_for_the_top_eight():
    """玖、二「經本府社區治安專業輔導團隊擇優評鑑遴選出前8名「優質治安社區」後，針對相關單位工作
    出力有功人員，由本府辦理獎勵(如獎勵基準表一附件9)。」"""
    ranked = [(100 + r, r) for r in range(12, 0, -1)]
    out = evaluation_staff_rewards(ranked, RULES)
    assert [(e.community_id, e.rank) for e in out] == [(100 + r, r) for r in range(1, 9)]
    assert "附件9" in out[0].explanation
    assert len(evaluation_staff_rewards(ranked, RewardRules(evaluation_staff_reward_ranks=6))) == 6


# --------------------------------------------------------------------------- settings, labels
def test_rules_are_the_reference_files_and_numbers_come_from_settings():
    """The plan's numbers are data: the reference file equals the defaults, and changing a
    number changes the result."""
    assert default_settings().rewards == RewardRules()
    rules = RewardRules(station_commendations=2, commendations_per_merit=2)
    assert award(UnitKind.station, 4, Post.case_officer, Clause.station, rules) == (1, 0)
    assert award(UnitKind.station, 3, Post.case_officer, Clause.station, rules) == (0, 1)


def test_conversion_and_labels():
    assert to_merits(7, RULES) == Award(2, 1)
    assert to_merits(7, RULES, converts=False) == Award(0, 7)
    assert Award(1, 2).label == "記功一次、嘉獎二次"
    assert Award().label == "無"
    assert [zh_number(n) for n in (0, 3, 10, 12, 20, 25)] == [
        "零",
        "三",
        "十",
        "十二",
        "二十",
        "二十五",
    ]
    assert Clause.precinct.label.startswith("玖、一、(二)1")


def test_explanations_show_how_each_count_was_reached():
    r = one(UnitKind.station, communities(range(4)), beat_officer=5)
    clause = r.clause(Clause.station)
    assert clause.explanation == (
        "接受補助並完成核銷程序之治安社區 4 個（社區0、社區1、社區2、社區3）；"
        "每 1 個獎勵一次，計 4 次。"
    )
    assert clause.post(Post.beat_officer).explanation == (
        "警勤區員警 5 人擇優半數（無條件進位）3 人，每次嘉獎一次 × 4 = 嘉獎四次；"
        "嘉獎三次折算記功一次（累積至記功一次後，其累計治安社區數以倍數計算）："
        "各記功一次、嘉獎一次。"
    )
    bureau = one(UnitKind.bureau, communities(range(8))).clause(Clause.bureau)
    assert "本款未定以倍數計算" in bureau.explanation


def test_bad_inputs_are_domain_errors():
    unit = Unit(1, "中和分局", UnitKind.precinct, communities([1]))
    with pytest.raises(RewardInputError) as e:
        compute_rewards([unit, unit], RULES)
    assert e.value.code == "reward_input_invalid"
    assert "重複" in e.value.message
    with pytest.raises(RewardInputError):
        compute_rewards([Unit(1, "x", UnitKind.precinct, communities([1, 1]))], RULES)
    with pytest.raises(RewardInputError):
        compute_rewards([Unit(1, "x", UnitKind.station, (), {Post.beat_officer: -1})], RULES)


# --------------------------------------------------------------------------- a whole year
def test_a_whole_program_year():
    """33 subsidised communities in three precincts, their stations, a fire brigade and the
    bureau; two claims not closed; three villages that never applied."""
    year = {
        i: CounselledCommunity(
            i,
            f"社區{i}",
            closure_completed=i not in (7, 33),
            never_applied_village=i in (1, 8, 9),
            disaster=i in (2, 9, 14, 15, 33),
        )
        for i in range(1, 34)
    }

    def pick(ids):
        return tuple(year[i] for i in ids)

    units = [
        Unit("A", "板橋分局", UnitKind.precinct, pick(range(1, 8))),
        Unit("B", "新店分局", UnitKind.precinct, pick(range(8, 13))),
        Unit("C", "中和分局", UnitKind.precinct, pick(range(13, 34))),
        Unit("A1", "江翠派出所", UnitKind.station, pick([1, 2, 3]), {Post.beat_officer: 4}),
        Unit("A2", "埔墘派出所", UnitKind.station, pick([4, 5, 6, 7]), {Post.beat_officer: 3}),
        Unit("B1", "新店派出所", UnitKind.station, pick([8, 9])),
        Unit("C1", "中和派出所", UnitKind.station, pick([13])),
        Unit("F", "消防局第三救災救護大隊", UnitKind.disaster_agency, pick(year)),
        Unit("P", "警察局", UnitKind.bureau, pick(year)),
    ]
    out = {u.unit.unit_id: u for u in compute_rewards(units, RULES)}

    def got(uid, clause, post=Post.case_officer):
        a = out[uid].award(clause, post)
        return a.merits, a.commendations

    # 板橋: 6 of 7 closed → 3 units → 記功一次; 1 new village → 嘉獎二次 / 協辦 2 人各一次.
    assert got("A", Clause.precinct) == (1, 0)
    assert got("A", Clause.new_village) == (0, 2)
    assert out["A"].clause(Clause.new_village).post(Post.assistant).persons == 2
    # 新店: 5 closed → 2 units; 2 new villages → 嘉獎四次 = 記功一次、嘉獎一次 (協辦 嘉獎二次).
    assert got("B", Clause.precinct) == (0, 2)
    assert got("B", Clause.new_village) == (1, 1)
    assert got("B", Clause.new_village, Post.assistant) == (0, 2)
    # 中和: 20 of 21 closed → 10 units → 記功三次、嘉獎一次; no new village.
    assert got("C", Clause.precinct) == (3, 1)
    assert got("C", Clause.new_village) == (0, 0)
    # Stations: 3 closed → 記功一次; 3 of 4 closed → 記功一次; 2 → 嘉獎二次; 1 → 嘉獎一次.
    assert got("A1", Clause.station) == (1, 0)
    assert out["A1"].clause(Clause.station).post(Post.beat_officer).persons == 2
    assert got("A2", Clause.station, Post.beat_officer) == (1, 0)
    assert out["A2"].clause(Clause.station).post(Post.beat_officer).persons == 2
    assert got("B1", Clause.station, Post.station_chief) == (0, 2)
    assert got("C1", Clause.station, Post.deputy_station_chief) == (0, 1)
    # Fire brigade: 防災 2, 9, 14, 15 closed (33 not) → 2 units → 嘉獎二次.
    assert got("F", Clause.disaster, Post.section_chief) == (0, 2)
    # Bureau: 31 closed ≥ 6 → 嘉獎一次, once.
    assert got("P", Clause.bureau, Post.unit_chief) == (0, 1)
    assert len(out["P"].clause(Clause.bureau).qualifying) == 31
