"""Selection advice (beyond the plan): which applications to favour when they exceed the quota.

Advice to the city's reviewers, never a decision: nothing here changes an application's state
(only ``workflow.states.transition()`` does, on a reviewer's action). The plan's own rules stay
in force: 「年度補助 33 個為原則，並視經費狀況酌以增減」 (``settings.quota``) and 「每年補助
1 次」 (``settings.subsidies_per_community``).

How the advice is built:

1. Each application's value is the risk its planned work covers per NT$: ``risk / budget``,
   shown per NT$10,000. ``risk`` comes from the caller (e.g. the hotspot and hazard weight
   inside the planned cameras, blocks and routes, from the analysis layer); an application
   with no risk figure (``None``: no analysis covers it yet) cannot be compared and goes after
   those that can, for the reviewers to judge. Ties: more risk covered first (a larger effect
   at the same rate), then the smaller budget, then the application id.
2. A community is advised at most ``subsidies_per_community`` times (its best applications).
3. District floor: the best ``selection_district_floor`` (1) applications of every district
   that applied are advised first, districts in order of their best application, so no
   district is left out as long as the seats allow; when they do not, the districts left
   out are named.
4. The remaining seats go to the best remaining applications.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from geo.enums import LabelledEnum
from geo.errors import InvalidInput

from .settings import ProgramSettings

ADVICE_NOTICE = "本建議僅供市府審查委員參考，不構成核定；是否補助仍依初審、複審程序由審查委員決定。"
PER = 10_000  # risk is shown per NT$10,000


class SelectionInputError(InvalidInput):
    code = "selection_input_invalid"
    message = "遴選建議的輸入資料有誤。"


class Basis(LabelledEnum):
    """Why an application is, or is not, on the advised list."""

    within_quota = ("within_quota", "申請數未超過名額")
    cost_effectiveness = ("cost_effectiveness", "風險效益")
    district_floor = ("district_floor", "區域保障")
    below_cut = ("below_cut", "名額外")
    displaced = ("displaced", "因區域保障列於名額外")
    community_limit = ("community_limit", "同一社區補助次數已滿")


@dataclass(frozen=True)
class Candidate:
    """An application the city is reviewing, with what its planned work covers."""

    application_id: int
    community_id: int
    community_name: str
    district: str
    budget: int  # NT$
    risk: float | None  # risk covered by the planned work; None when no analysis covers it

    @property
    def risk_per_10k(self) -> float | None:
        return None if self.risk is None else self.risk / self.budget * PER


@dataclass(frozen=True)
class Advice:
    """One application's place in the advice, and the reason in zh-TW."""

    position: int
    candidate: Candidate
    advised: bool
    basis: Basis
    merit_rank: int | None  # place by risk per NT$ among those with a risk figure
    reason: str


@dataclass(frozen=True)
class SelectionAdvice:
    """The ordered advice: advised applications first. Always advice, never a decision."""

    seats: int
    items: tuple[Advice, ...]
    districts_left_out: tuple[str, ...]
    notice: str = ADVICE_NOTICE

    @property
    def advised(self) -> list[Advice]:
        return [a for a in self.items if a.advised]

    def for_application(self, application_id: int) -> Advice:
        return next(a for a in self.items if a.candidate.application_id == application_id)


def _check(candidates: list[Candidate]) -> None:
    ids = [c.application_id for c in candidates]
    if len(set(ids)) != len(ids):
        raise SelectionInputError("申請案重複列入。", detail="duplicate application_id")
    for c in candidates:
        if c.budget <= 0:
            raise SelectionInputError(
                f"「{c.community_name}」的申請經費須大於 0 元。", detail=str(c.application_id)
            )
        if c.risk is not None and (math.isnan(c.risk) or math.isinf(c.risk) or c.risk < 0):
            raise SelectionInputError(
                f"「{c.community_name}」的風險值須為 0 以上的數值。", detail=str(c.application_id)
            )


def _merit_key(c: Candidate) -> tuple:
    known = c.risk is not None
    return (not known, -(c.risk_per_10k or 0), -(c.risk or 0), c.budget, c.application_id)


def advise(
    candidates: Iterable[Candidate], settings: ProgramSettings, *, seats: int | None = None
) -> SelectionAdvice:
    """Advice on which applications to subsidise; ``seats`` defaults to the year's quota."""
    pool = list(candidates)
    _check(pool)
    seats = settings.quota if seats is None else seats
    if seats < 0:
        raise SelectionInputError("名額不能為負數。", detail=str(seats))
    ordered = sorted(pool, key=_merit_key)
    merit_rank = {
        c.application_id: i + 1 for i, c in enumerate(c for c in ordered if c.risk is not None)
    }

    # 「每年補助1次」: beyond a community's allowance, an application cannot be advised.
    per_community: dict[int, int] = defaultdict(int)
    eligible, over_limit = [], []
    for c in ordered:
        per_community[c.community_id] += 1
        if per_community[c.community_id] <= settings.subsidies_per_community:
            eligible.append(c)
        else:
            over_limit.append(c)

    if len(eligible) <= seats:
        chosen = {c.application_id for c in eligible}
        floor_ids: set[int] = set()
        left_out: tuple[str, ...] = ()
    else:
        chosen, floor_ids, left_out = _choose(eligible, seats, settings.selection_district_floor)
    # Whether each would have been advised on risk per NT$ alone, to name the floor's effect.
    by_merit = {c.application_id for c in eligible[:seats]}

    items: list[Advice] = []
    advised_first = [c for c in eligible if c.application_id in chosen]
    rest = [c for c in eligible if c.application_id not in chosen]
    for c in advised_first + rest + over_limit:
        basis, reason = _reason(
            c,
            chosen=chosen,
            floor_ids=floor_ids,
            by_merit=by_merit,
            over_limit={o.application_id for o in over_limit},
            merit_rank=merit_rank,
            seats=seats,
            within=len(eligible) <= seats,
            settings=settings,
        )
        items.append(
            Advice(
                position=len(items) + 1,
                candidate=c,
                advised=c.application_id in chosen,
                basis=basis,
                merit_rank=merit_rank.get(c.application_id),
                reason=reason,
            )
        )
    return SelectionAdvice(seats, tuple(items), left_out)


def _choose(
    eligible: list[Candidate], seats: int, floor: int
) -> tuple[set[int], set[int], tuple[str, ...]]:
    by_district: dict[str, list[Candidate]] = defaultdict(list)
    for c in eligible:  # already in merit order, so each list is too
        by_district[c.district].append(c)
    # Districts in the order of their best application: when seats run out, the districts
    # with the weakest best application are the ones left out.
    districts = list(by_district)
    chosen: list[int] = []
    for round_ in range(floor):
        for d in districts:
            if len(chosen) < seats and round_ < len(by_district[d]):
                chosen.append(by_district[d][round_].application_id)
    floor_ids = set(chosen)
    for c in eligible:
        if len(chosen) >= seats:
            break
        if c.application_id not in floor_ids:
            chosen.append(c.application_id)
    picked = set(chosen)
    left_out = tuple(
        d for d in districts if not any(c.application_id in picked for c in by_district[d])
    )
    return picked, floor_ids, left_out


def _reason(
    c: Candidate,
    *,
    chosen: set[int],
    floor_ids: set[int],
    by_merit: set[int],
    over_limit: set[int],
    merit_rank: dict[int, int],
    seats: int,
    within: bool,
    settings: ProgramSettings,
) -> tuple[Basis, str]:
    aid = c.application_id
    if c.risk is None:
        value = "無風險分析資料，無法計算每萬元涵蓋風險，請審查委員逕行判斷"
    else:
        value = f"每萬元涵蓋風險 {c.risk_per_10k:.2f}（全市第 {merit_rank[aid]} 名）"
    if aid in over_limit:
        return (
            Basis.community_limit,
            f"{value}；「{c.community_name}」已有排序較前之申請案，每社區每年補助 "
            f"{settings.subsidies_per_community} 次，本案不列入建議。",
        )
    if within:
        return Basis.within_quota, f"申請數未超過名額 {seats} 個，建議依審查結果辦理；{value}。"
    if aid in chosen:
        if aid in floor_ids and aid not in by_merit:
            floor = settings.selection_district_floor
            best = "最佳者" if floor == 1 else f"前 {floor} 佳者之一"
            return (
                Basis.district_floor,
                f"{value}；為{c.district}申請案中{best}，依每區至少 {floor} 案之區域保障列入建議。",
            )
        return Basis.cost_effectiveness, f"{value}，列入建議。"
    if aid in by_merit:
        return Basis.displaced, f"{value}，依風險效益原可列入，因保障其他行政區而列於名額外。"
    return Basis.below_cut, f"{value}，名額 {seats} 個已滿，列於名額外。"
