"""Per-year program settings: the plan's numbers as data, with the plan's values as defaults.

The defaults live in ``data/reference/program_defaults.json`` (from 新北市政府加速推動社區
治安營造工作執行計畫, 2020 revision); each program year stores its own copy, which the city
may change without a code release.
"""

from __future__ import annotations

import json

from pydantic import BaseModel, Field, model_validator


class AwardTier(BaseModel):
    """An award tier: ranks ``rank_from``–``rank_to`` receive between the two amounts (NT$)."""

    name: str
    rank_from: int = Field(ge=1)
    rank_to: int = Field(ge=1)
    amount_min: int | None = Field(default=None, ge=0)
    amount_max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> AwardTier:
        if self.rank_to < self.rank_from:
            raise ValueError("rank_to < rank_from")
        if (
            self.amount_min is not None
            and self.amount_max is not None
            and self.amount_max < self.amount_min
        ):
            raise ValueError("amount_max < amount_min")
        return self


class RewardRules(BaseModel):
    """Staff commendations (section 玖): 嘉獎 per counselled community with closed expenses."""

    station_commendations: int = 1
    precinct_commendations: int = 2
    bureau_commendations: int = 6
    new_village_bonus: int = 1
    commendations_per_merit: int = 3


class ProgramSettings(BaseModel):
    """Everything about a program year that the plan states as a number."""

    quota: int = Field(ge=0, description="communities subsidised a year (principle: 33)")
    subsidies_per_community: int = Field(default=1, ge=1)
    evaluation_threshold: float = Field(ge=0, le=100, description="both rounds must reach it")
    nominations_per_precinct: int = Field(default=1, ge=1)
    certified_count: int = Field(ge=0)
    quality_count: int = Field(ge=0, description="top ranks named 優質治安社區")
    award_tiers: list[AwardTier]
    monthly_report_day: int = Field(
        default=10, ge=1, le=28, description="report due by this day of the next month"
    )
    rewards: RewardRules = Field(default_factory=RewardRules)

    @model_validator(mode="after")
    def _consistent(self) -> ProgramSettings:
        if self.quality_count > self.certified_count:
            raise ValueError("quality_count > certified_count")
        return self


def default_settings() -> ProgramSettings:
    from data import reference_text

    raw = reference_text("program_defaults.json")
    return ProgramSettings.model_validate(json.loads(raw))
