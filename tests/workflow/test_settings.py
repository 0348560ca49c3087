"""Per-year settings: the plan's numbers are data with the plan's values as defaults."""

import pytest
from pydantic import ValidationError

from workflow.settings import ProgramSettings, default_settings


def test_defaults_are_the_plans_numbers():
    s = default_settings()
    # 「年度補助 33 個為原則」
    assert s.quota == 33
    # 「每年補助 1 次」
    assert s.subsidies_per_community == 1
    # 初選與複評皆須達 80 分
    assert s.evaluation_threshold == 80
    assert (s.certified_count, s.quality_count) == (12, 6)
    tiers = [(t.rank_from, t.rank_to, t.amount_min, t.amount_max) for t in s.award_tiers]
    assert tiers == [
        (1, 2, 40000, 60000),
        (3, 4, 20000, 40000),
        (5, 6, 10000, 20000),
        (7, 16, None, None),
    ]
    assert (
        s.rewards.station_commendations,
        s.rewards.precinct_commendations,
        s.rewards.bureau_commendations,
    ) == (1, 2, 6)


def test_settings_are_validated():
    raw = default_settings().model_dump()
    with pytest.raises(ValidationError):
        ProgramSettings.model_validate({**raw, "quota": -1})
    with pytest.raises(ValidationError):
        ProgramSettings.model_validate({**raw, "quality_count": 20})
    with pytest.raises(ValidationError):
        ProgramSettings.model_validate(
            {**raw, "award_tiers": [{"name": "x", "rank_from": 3, "rank_to": 1}]}
        )
