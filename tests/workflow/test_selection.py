"""Selection advice: risk covered per NT$, a floor per district, always advice."""

from __future__ import annotations

import pytest

from workflow.selection import (
    ADVICE_NOTICE,
    Basis,
    Candidate,
    SelectionInputError,
    advise,
)
from workflow.settings import default_settings

SETTINGS = default_settings()


def app(aid, district, budget, risk, community=None) -> Candidate:
    return Candidate(aid, community or aid, f"社區{aid}", district, budget, risk)


def ids(advice, advised=True) -> list[int]:
    return [a.candidate.application_id for a in advice.items if a.advised is advised]


def test_within_the_quota_everyone_is_advised():
    pool = [app(1, "板橋區", 100_000, 10), app(2, "中和區", 100_000, 30)]
    advice = advise(pool, SETTINGS)
    assert advice.seats == 33
    assert ids(advice) == [2, 1]
    assert {a.basis for a in advice.items} == {Basis.within_quota}
    assert advice.items[0].reason == (
        "申請數未超過名額 33 個，建議依審查結果辦理；每萬元涵蓋風險 3.00（全市第 1 名）。"
    )


def test_advice_is_never_a_decision():
    advice = advise([app(1, "板橋區", 100_000, 10)], SETTINGS)
    assert advice.notice == ADVICE_NOTICE
    assert "不構成核定" in advice.notice


def test_ranked_by_risk_covered_per_nt_dollar():
    pool = [
        app(1, "板橋區", 200_000, 40),  # 2.00 per 10k
        app(2, "板橋區", 50_000, 15),  # 3.00
        app(3, "板橋區", 100_000, 25),  # 2.50
        app(4, "板橋區", 100_000, 5),  # 0.50
    ]
    advice = advise(pool, SETTINGS, seats=2)
    assert [a.candidate.application_id for a in advice.items] == [2, 3, 1, 4]
    assert ids(advice) == [2, 3]
    assert [a.merit_rank for a in advice.items] == [1, 2, 3, 4]
    assert advice.for_application(2).basis is Basis.cost_effectiveness
    assert advice.for_application(2).reason == "每萬元涵蓋風險 3.00（全市第 1 名），列入建議。"
    assert advice.for_application(1).basis is Basis.below_cut
    assert advice.for_application(1).reason.endswith("名額 2 個已滿，列於名額外。")


def test_equal_rates_favour_more_risk_covered_then_the_application_id():
    pool = [
        app(1, "板橋區", 100_000, 10),
        app(2, "板橋區", 200_000, 20),
        app(3, "板橋區", 200_000, 20),
    ]
    assert [a.candidate.application_id for a in advise(pool, SETTINGS, seats=1).items] == [2, 3, 1]


def test_every_district_that_applied_keeps_one_seat():
    pool = [
        app(1, "板橋區", 100_000, 50),
        app(2, "板橋區", 100_000, 40),
        app(3, "板橋區", 100_000, 30),
        app(4, "平溪區", 100_000, 2),
        app(5, "中和區", 100_000, 20),
    ]
    advice = advise(pool, SETTINGS, seats=4)
    assert ids(advice) == [1, 2, 5, 4]
    assert not advice.districts_left_out
    floor = advice.for_application(4)
    assert floor.basis is Basis.district_floor
    assert floor.reason == (
        "每萬元涵蓋風險 0.20（全市第 5 名）；為平溪區申請案中最佳者，依每區至少 1 案之區域保障列入建議。"
    )
    # 中和 is in the top 4 on its own rate; 板橋's third would have been, and is displaced.
    assert advice.for_application(5).basis is Basis.cost_effectiveness
    assert advice.for_application(3).basis is Basis.displaced
    assert "因保障其他行政區" in advice.for_application(3).reason
    # With 3 seats, 中和 needs the floor too and two of 板橋's are displaced.
    tight = advise(pool, SETTINGS, seats=3)
    assert ids(tight) == [1, 5, 4]
    assert tight.for_application(5).basis is Basis.district_floor
    assert [tight.for_application(i).basis for i in (2, 3)] == [Basis.displaced] * 2


def test_when_seats_are_fewer_than_districts_the_weakest_districts_are_named():
    pool = [
        app(1, "板橋區", 100_000, 50),
        app(2, "板橋區", 100_000, 45),
        app(3, "中和區", 100_000, 20),
        app(4, "平溪區", 100_000, 2),
    ]
    advice = advise(pool, SETTINGS, seats=2)
    assert ids(advice) == [1, 3]
    assert advice.districts_left_out == ("平溪區",)


def test_the_floor_is_a_setting():
    pool = [app(1, "板橋區", 100_000, 50), app(2, "板橋區", 100_000, 40)]
    pool += [app(3, "平溪區", 100_000, 2), app(4, "平溪區", 100_000, 1)]
    pure = advise(pool, SETTINGS.model_copy(update={"selection_district_floor": 0}), seats=2)
    assert ids(pure) == [1, 2]
    assert pure.districts_left_out == ("平溪區",)
    two = advise(pool, SETTINGS.model_copy(update={"selection_district_floor": 2}), seats=3)
    assert ids(two) == [1, 2, 3]
    assert "前 2 佳者之一" not in two.for_application(3).reason  # 3 made it on its own
    three = advise(
        [*pool, app(5, "板橋區", 100_000, 30)],
        SETTINGS.model_copy(update={"selection_district_floor": 2}),
        seats=4,
    )
    assert ids(three) == [1, 2, 3, 4]
    assert three.for_application(4).basis is Basis.district_floor
    assert "為平溪區申請案中前 2 佳者之一" in three.for_application(4).reason
    assert three.for_application(5).basis is Basis.displaced


def test_applications_without_a_risk_figure_go_last_for_the_reviewers():
    pool = [
        app(1, "板橋區", 100_000, None),
        app(2, "板橋區", 100_000, 1),
        app(3, "板橋區", 100_000, 9),
    ]
    advice = advise(pool, SETTINGS, seats=2)
    assert [a.candidate.application_id for a in advice.items] == [3, 2, 1]
    unknown = advice.for_application(1)
    assert unknown.merit_rank is None and not unknown.advised
    assert unknown.reason.startswith("無風險分析資料，無法計算每萬元涵蓋風險，請審查委員逕行判斷")


def test_a_community_is_advised_once_a_year():
    """計畫貳、三「每年補助 1 次」: a community's second application is not advised."""
    pool = [
        app(1, "板橋區", 100_000, 30, community=7),
        app(2, "板橋區", 100_000, 20, community=7),
        app(3, "板橋區", 100_000, 10),
    ]
    advice = advise(pool, SETTINGS, seats=2)
    assert ids(advice) == [1, 3]
    second = advice.for_application(2)
    assert second.basis is Basis.community_limit
    assert "每社區每年補助 1 次" in second.reason
    # Even when seats would allow it.
    assert not advise(pool, SETTINGS, seats=5).for_application(2).advised


def test_the_default_seats_are_the_years_quota():
    pool = [app(i, f"區{i % 29}", 100_000, i) for i in range(1, 41)]
    advice = advise(pool, SETTINGS)
    assert len(advice.advised) == 33
    assert [a.position for a in advice.items] == list(range(1, 41))


@pytest.mark.parametrize(
    "pool",
    [
        [app(1, "板橋區", 0, 1)],
        [app(1, "板橋區", 100_000, -1)],
        [app(1, "板橋區", 100_000, float("nan"))],
        [app(1, "板橋區", 100_000, 1), app(1, "中和區", 100_000, 2)],
    ],
)
def test_bad_inputs_are_domain_errors(pool):
    with pytest.raises(SelectionInputError) as e:
        advise(pool, SETTINGS)
    assert e.value.code == "selection_input_invalid"


def test_negative_seats_are_refused():
    with pytest.raises(SelectionInputError):
        advise([app(1, "板橋區", 100_000, 1)], SETTINGS, seats=-1)
