"""Per-year program settings: the plan's numbers as data, with the plan's values as defaults.

The defaults live in ``data/reference/program_defaults.json`` (from 新北市政府加速推動社區
治安營造工作執行計畫, 2020 revision); each program year stores its own copy, which the city
may change without a code release.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from geo.enums import LabelledEnum


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


class Post(LabelledEnum):
    """Posts section 玖 rewards, labelled as the plan names them."""

    beat_officer = ("beat_officer", "警勤區員警")
    case_officer = ("case_officer", "承辦人員")
    assistant = ("assistant", "協辦")
    station_chief = ("station_chief", "所長")
    deputy_station_chief = ("deputy_station_chief", "副所長")
    section_chief = ("section_chief", "組長")
    unit_chief = ("unit_chief", "股長")


class PostAward(BaseModel):
    """A post a clause rewards: 嘉獎 per person for each award unit, and how many people."""

    post: Post
    commendations: int = Field(default=1, ge=1, description="嘉獎 per person per award unit")
    persons: int | None = Field(
        default=1, ge=1, description="fixed by the plan (協辦1人); None: the unit's headcount"
    )
    share: float = Field(default=1.0, gt=0, le=1, description="of the headcount (擇優半數: 0.5)")


def _posts(*items: tuple[Post, int, int | None, float]) -> list[PostAward]:
    return [PostAward(post=p, commendations=c, persons=n, share=s) for p, c, n, s in items]


class RewardRules(BaseModel):
    """Staff commendations (section 玖): which posts earn how many 嘉獎 for what.

    The four numbers kept from the first version are community (or village) counts per award,
    as the plan writes them: 「治安社區數1個」 (station), 「數2個」 (precinct), 「數6個」
    (bureau), 「輔導1處未曾申請本項補助之里社區」. Where the plan is loose the reading is a
    setting with the reading's value as default; ``workflow.rewards`` quotes each clause.
    """

    station_commendations: int = Field(
        default=1, ge=1, description="communities per award, station (玖一(一)「數1個」)"
    )
    precinct_commendations: int = Field(
        default=2, ge=1, description="communities per award, precinct (玖一(二)1「數2個」)"
    )
    bureau_commendations: int = Field(
        default=6, ge=1, description="communities per award, bureau (玖一(三)「數6個」)"
    )
    new_village_bonus: int = Field(
        default=1, ge=1, description="never-applied villages per award (玖一(二)2「1處」)"
    )
    commendations_per_merit: int = Field(default=3, ge=1, description="嘉獎 that make one 記功")
    # 「警勤區員警(擇優半數)、業務承辦人、正(副)所長各予嘉獎一次」
    station_posts: list[PostAward] = Field(
        default_factory=lambda: _posts(
            (Post.beat_officer, 1, None, 0.5),
            (Post.case_officer, 1, 1, 1.0),
            (Post.station_chief, 1, 1, 1.0),
            (Post.deputy_station_chief, 1, None, 1.0),
        )
    )
    # 「辦理本項業務之承辦人員、協辦1人、組長各予嘉獎一次」; 防災社區輔導機關比照辦理.
    precinct_posts: list[PostAward] = Field(
        default_factory=lambda: _posts(
            (Post.case_officer, 1, 1, 1.0),
            (Post.assistant, 1, 1, 1.0),
            (Post.section_chief, 1, 1, 1.0),
        )
    )
    # 「承辦人員、組長各予嘉獎二次、協辦2人各予嘉獎一次」
    new_village_posts: list[PostAward] = Field(
        default_factory=lambda: _posts(
            (Post.case_officer, 2, 1, 1.0),
            (Post.section_chief, 2, 1, 1.0),
            (Post.assistant, 1, 2, 1.0),
        )
    )
    # 「承辦人員(協辦1人)、股長各予嘉獎一次」
    bureau_posts: list[PostAward] = Field(
        default_factory=lambda: _posts(
            (Post.case_officer, 1, 1, 1.0),
            (Post.assistant, 1, 1, 1.0),
            (Post.unit_chief, 1, 1, 1.0),
        )
    )
    share_rounding: Literal["up", "down"] = Field(
        default="up", description="擇優半數 of an odd headcount: round up (one officer is rewarded)"
    )
    merit_remainder_kept: bool = Field(
        default=True, description="after the 記功 conversion, left-over 嘉獎 are still awarded"
    )
    new_village_multiplies: bool = Field(default=True, description="each further village counts")
    new_village_converts: bool = Field(default=True, description="三嘉獎折記功 in 玖一(二)2 too")
    new_village_requires_closure: bool = Field(
        default=False, description="玖一(二)2 says 「參與」, not 「完成核銷程序」"
    )
    bureau_multiplies: bool = Field(
        default=False, description="玖一(三) has no 「以倍數計算」: one award on reaching 6"
    )
    evaluation_staff_reward_ranks: int = Field(
        default=8, ge=0, description="玖二「前8名『優質治安社區』」: staff rewarded per 附件9"
    )


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
    evaluation_decimals: int = Field(
        default=2, ge=0, le=4, description="averages rounded half-up to this many decimals"
    )
    selection_district_floor: int = Field(
        default=1, ge=0, description="selection advice: applications kept per district that applied"
    )

    @model_validator(mode="after")
    def _consistent(self) -> ProgramSettings:
        if self.quality_count > self.certified_count:
            raise ValueError("quality_count > certified_count")
        # A rank must fall in one tier at most, or its award would be ambiguous.
        tiers = sorted(self.award_tiers, key=lambda t: t.rank_from)
        for a, b in pairwise(tiers):
            if b.rank_from <= a.rank_to:
                raise ValueError(f"award tiers overlap: {a.name} / {b.name}")
        return self


def default_settings() -> ProgramSettings:
    from data import reference_text

    raw = reference_text("program_defaults.json")
    return ProgramSettings.model_validate(json.loads(raw))
