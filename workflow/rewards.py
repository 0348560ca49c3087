"""Staff commendations (獎勵規定, plan 玖): who earns how many 嘉獎 and 記功, and why.

Plain Python over plain inputs: per year, each unit (派出所, 分局, 防災社區輔導機關, 警察局)
with the communities it counselled. The numbers are ``RewardRules`` settings; how each clause
is read:

玖、一、(一) 分駐(派出)所: 「每年度輔導接受補助之治安社區數1個，並完成核銷程序者，警勤區
員警(擇優半數)、業務承辦人、正(副)所長各予嘉獎一次，累積至記功一次後，其累計治安社區數
以倍數計算。」 Every ``station_commendations`` (1) subsidised community with completed expense
closure is one award unit worth 嘉獎一次 to each post. 「累積至記功一次後…以倍數計算」 is read
as: the 嘉獎 accumulate with the count of communities, and every ``commendations_per_merit``
(3) of them are given as one 記功 (3 → 記功一次, 6 → 記功二次); the remainder stays 嘉獎
(4 → 記功一次、嘉獎一次) unless ``merit_remainder_kept`` is off. 「擇優半數」: half of the
station's 警勤區員警 (the caller reports the headcount), an odd count rounded up by
``share_rounding`` so that a station with one beat officer still rewards him. 「正(副)所長」: the
head and each deputy (the deputy headcount as reported, since stations differ).

玖、一、(二)1 分局: 「每年度輔導曾接受補助之治安社區數2個，並審核(初審)…及完成核銷程序者，
辦理本項業務之承辦人員、協辦1人、組長各予嘉獎一次，累積至記功一次後，其累計治安社區數以
倍數計算；防災社區輔導機關比照辦理。」 Every ``precinct_commendations`` (2) such communities
make one unit; an odd one left over earns nothing. 「曾接受補助」 is read as the year's subsidy
(the one whose closure completed), not a subsidy of an earlier year; 「審核(初審)」 is the
community's ``reviewed`` flag. 「防災社區輔導機關比照辦理」: an agency counselling 防災社區 is
rewarded by the same numbers and posts, counting the communities flagged ``disaster``.

玖、一、(二)2: 「每年度輔導1處未曾申請本項補助之里社區，參與本府加速推動社區治安營造者，辦理
本項業務之承辦人員、組長各予嘉獎二次、協辦2人各予嘉獎一次。」 Per ``new_village_bonus`` (1)
such village community on the year's roster (「參與」: closure is not required unless
``new_village_requires_closure``); each further village counts again
(``new_village_multiplies``) and 三嘉獎折記功 applies as elsewhere (``new_village_converts``).
It is a bonus: the same community also counts under (二)1.

玖、一、(三) 警察局: 「每年度輔導接受補助之治安(防災)社區數6個，並審核(複審)…及完成核銷程序
者，承辦人員(協辦1人)、股長各予嘉獎一次。」 治安 and 防災 communities both count; the clause
has no 「以倍數計算」, so reaching ``bureau_commendations`` (6) earns one award a year
(``bureau_multiplies`` to count every 6).

玖、二: 「經本府社區治安專業輔導團隊擇優評鑑遴選出前8名「優質治安社區」後，針對相關單位工作
出力有功人員，由本府辦理獎勵(如獎勵基準表一附件9)。」 The plan says 8 here and 6 in 捌, so
the count is its own setting (``evaluation_staff_reward_ranks``); 附件9's numbers are not in the
plan's text, so ``evaluation_staff_rewards()`` lists the communities whose staff qualify and
counts nothing.

Awards are per clause (each is its own 獎勵案) and per year: nothing carries over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from geo.enums import LabelledEnum
from geo.errors import InvalidInput

from .settings import Post, PostAward, RewardRules


class RewardInputError(InvalidInput):
    code = "reward_input_invalid"
    message = "獎勵計算資料有誤。"


class UnitKind(LabelledEnum):
    station = ("station", "分駐（派出）所")
    precinct = ("precinct", "警察分局")
    disaster_agency = ("disaster_agency", "防災社區輔導機關")
    bureau = ("bureau", "警察局")


class Clause(LabelledEnum):
    """The clauses of 玖 that count commendations, labelled with their place in the plan."""

    station = ("station", "玖、一、(一) 分駐（派出）所輔導治安社區")
    precinct = ("precinct", "玖、一、(二)1 分局輔導治安社區")
    disaster = ("disaster", "玖、一、(二)1 防災社區輔導機關比照辦理")
    new_village = ("new_village", "玖、一、(二)2 輔導未曾申請本項補助之里社區")
    bureau = ("bureau", "玖、一、(三) 警察局輔導治安（防災）社區")


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class CounselledCommunity:
    """A community a unit counselled this year, with the facts the clauses ask about."""

    community_id: int
    name: str = ""
    subsidised: bool = True  # 接受補助: on the year's roster
    closure_completed: bool = False  # 完成核銷程序
    reviewed: bool = True  # the unit did the review its clause names: 初審 (分局) or 複審 (警察局)
    never_applied_village: bool = False  # 未曾申請本項補助之里社區
    disaster: bool = False  # 防災社區

    @property
    def label(self) -> str:
        return self.name or f"社區 {self.community_id}"


@dataclass(frozen=True)
class Unit:
    """A rewarded unit and the communities it counselled in the year."""

    unit_id: int | str
    name: str
    kind: UnitKind
    communities: tuple[CounselledCommunity, ...] = ()
    # People in the posts whose number the plan does not fix (警勤區員警, 副所長); a post
    # left out is reported per person, with its count open.
    headcounts: Mapping[Post, int] = field(default_factory=dict)


# --------------------------------------------------------------------------- results
_DIGITS = "零一二三四五六七八九"


def zh_number(n: int) -> str:
    """A count in Chinese numerals as award orders write it (嘉獎二次, 記功十二次)."""
    if n < 0:
        raise ValueError(n)
    if n < 10:
        return _DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else _DIGITS[tens]) + "十" + ("" if ones == 0 else _DIGITS[ones])
    return str(n)


@dataclass(frozen=True)
class Award:
    """記功 and 嘉獎 counts for one person."""

    merits: int = 0
    commendations: int = 0

    @property
    def label(self) -> str:
        parts = []
        if self.merits:
            parts.append(f"記功{zh_number(self.merits)}次")
        if self.commendations:
            parts.append(f"嘉獎{zh_number(self.commendations)}次")
        return "、".join(parts) or "無"

    def __bool__(self) -> bool:
        return bool(self.merits or self.commendations)


@dataclass(frozen=True)
class PostReward:
    """What each person in a post earns under one clause; ``persons`` is None when unreported."""

    post: Post
    persons: int | None
    award: Award
    explanation: str


@dataclass(frozen=True)
class ClauseReward:
    """One clause applied to one unit: the communities that count and the awards per post."""

    clause: Clause
    qualifying: tuple[CounselledCommunity, ...]
    award_units: int
    posts: tuple[PostReward, ...]
    explanation: str

    def post(self, post: Post) -> PostReward:
        return next(p for p in self.posts if p.post == post)


@dataclass(frozen=True)
class UnitReward:
    """A unit's commendations for the year, clause by clause."""

    unit: Unit
    clauses: tuple[ClauseReward, ...]

    def clause(self, clause: Clause) -> ClauseReward:
        return next(c for c in self.clauses if c.clause == clause)

    def award(self, clause: Clause, post: Post) -> Award:
        return self.clause(clause).post(post).award


# --------------------------------------------------------------------------- the rules
def to_merits(commendations: int, rules: RewardRules, *, converts: bool = True) -> Award:
    """嘉獎 given as 記功 where they reach ``commendations_per_merit`` (the plan's 3)."""
    per = rules.commendations_per_merit
    if not converts or commendations < per:
        return Award(0, commendations)
    merits, rest = divmod(commendations, per)
    return Award(merits, rest if rules.merit_remainder_kept else 0)


@dataclass(frozen=True)
class _Spec:
    clause: Clause
    per: int
    posts: list[PostAward]
    multiplies: bool
    converts: bool
    condition: str
    measure: str
    qualifies: Callable[[CounselledCommunity], bool]


def _closed(c: CounselledCommunity) -> bool:
    return c.subsidised and c.closure_completed


def _specs(kind: UnitKind, rules: RewardRules) -> list[_Spec]:
    precinct_like = dict(
        per=rules.precinct_commendations,
        posts=rules.precinct_posts,
        multiplies=True,
        converts=True,
        measure="個",
    )
    if kind is UnitKind.station:
        return [
            _Spec(
                Clause.station,
                rules.station_commendations,
                rules.station_posts,
                True,
                True,
                "接受補助並完成核銷程序之治安社區",
                "個",
                _closed,
            )
        ]
    if kind is UnitKind.precinct:
        return [
            _Spec(
                Clause.precinct,
                condition="接受補助、經分局初審並完成核銷程序之治安社區",
                qualifies=lambda c: _closed(c) and c.reviewed,
                **precinct_like,
            ),
            _Spec(
                Clause.new_village,
                rules.new_village_bonus,
                rules.new_village_posts,
                rules.new_village_multiplies,
                rules.new_village_converts,
                "參與本計畫之未曾申請本項補助之里社區"
                + ("（須完成核銷程序）" if rules.new_village_requires_closure else ""),
                "處",
                lambda c: (
                    c.never_applied_village
                    and c.subsidised
                    and (c.closure_completed or not rules.new_village_requires_closure)
                ),
            ),
        ]
    if kind is UnitKind.disaster_agency:
        return [
            _Spec(
                Clause.disaster,
                condition="接受補助、經審核並完成核銷程序之防災社區",
                qualifies=lambda c: _closed(c) and c.reviewed and c.disaster,
                **precinct_like,
            )
        ]
    return [
        _Spec(
            Clause.bureau,
            rules.bureau_commendations,
            rules.bureau_posts,
            rules.bureau_multiplies,
            True,
            "接受補助、經警察局複審並完成核銷程序之治安（防災）社區",
            "個",
            lambda c: _closed(c) and c.reviewed,
        )
    ]


def _persons(unit: Unit, post: PostAward, rules: RewardRules) -> tuple[int | None, str]:
    if post.persons is not None:
        return post.persons, f" {post.persons} 人"
    headcount = unit.headcounts.get(post.post)
    if headcount is None:
        return None, "（人數未提供）"
    if post.share == 1:
        return headcount, f" {headcount} 人"
    # Fraction, not float: 0.5 × 5 must be exactly 2.5 before it is rounded.
    exact = Fraction(str(post.share)) * headcount
    rounded = math.ceil(exact) if rules.share_rounding == "up" else math.floor(exact)
    how = "無條件進位" if rules.share_rounding == "up" else "無條件捨去"
    share = "半數" if post.share == 0.5 else f"{post.share:.0%}"
    return rounded, f" {headcount} 人擇優{share}（{how}）{rounded} 人"


def _apply(unit: Unit, spec: _Spec, rules: RewardRules) -> ClauseReward:
    qualifying = tuple(c for c in unit.communities if spec.qualifies(c))
    n = len(qualifying)
    units = n // spec.per if spec.multiplies else int(n >= spec.per)
    names = "、".join(c.label for c in qualifying)
    head = f"{spec.condition} {n} {spec.measure}" + (f"（{names}）" if names else "")
    if units == 0:
        explanation = f"{head}，未達 {spec.per} {spec.measure}，本款不予獎勵。"
    elif spec.multiplies:
        explanation = f"{head}；每 {spec.per} {spec.measure}獎勵一次，計 {units} 次。"
    else:
        explanation = f"{head}；已達 {spec.per} {spec.measure}，獎勵一次（本款未定以倍數計算）。"
    posts = []
    for post in spec.posts:
        persons, who = _persons(unit, post, rules)
        total = units * post.commendations
        award = to_merits(total, rules, converts=spec.converts)
        if not units:
            why = f"{post.post.label}：不予獎勵。"
        else:
            why = (
                f"{post.post.label}{who}，每次嘉獎{zh_number(post.commendations)}次"
                f" × {units} = 嘉獎{zh_number(total)}次"
            )
            if award.merits:
                why += (
                    f"；嘉獎{zh_number(rules.commendations_per_merit)}次折算記功一次"
                    "（累積至記功一次後，其累計治安社區數以倍數計算）"
                )
                dropped = total - award.merits * rules.commendations_per_merit
                if dropped and not award.commendations:
                    why += f"，餘嘉獎{zh_number(dropped)}次不另核給"
            why += f"：各{award.label}。"
        posts.append(PostReward(post.post, persons, award, why))
    return ClauseReward(spec.clause, qualifying, units, tuple(posts), explanation)


def compute_rewards(units: Iterable[Unit], rules: RewardRules) -> list[UnitReward]:
    """Each unit's commendations for the year under section 玖 (see the module docstring)."""
    out = []
    seen: set[tuple[UnitKind, int | str]] = set()
    for unit in units:
        if (unit.kind, unit.unit_id) in seen:
            raise RewardInputError(f"「{unit.name}」重複列入。", detail=str(unit.unit_id))
        seen.add((unit.kind, unit.unit_id))
        ids = [c.community_id for c in unit.communities]
        if len(set(ids)) != len(ids):
            raise RewardInputError(
                f"「{unit.name}」的輔導社區有重複。", detail=f"unit={unit.unit_id}"
            )
        if any(n < 0 for n in unit.headcounts.values()):
            raise RewardInputError(f"「{unit.name}」的人數不能為負數。", detail=str(unit.unit_id))
        clauses = tuple(_apply(unit, spec, rules) for spec in _specs(unit.kind, rules))
        out.append(UnitReward(unit, clauses))
    return out


# --------------------------------------------------------------------------- 玖、二
@dataclass(frozen=True)
class EvaluationStaffReward:
    """A community in the top ranks whose staff 玖、二 rewards under 附件9."""

    community_id: int
    rank: int
    explanation: str


def evaluation_staff_rewards(
    ranked: Iterable[tuple[int, int]], rules: RewardRules
) -> list[EvaluationStaffReward]:
    """From (community id, rank) pairs, the communities whose staff qualify under 玖、二."""
    top = rules.evaluation_staff_reward_ranks
    return [
        EvaluationStaffReward(
            community_id,
            rank,
            f"評鑑第 {rank} 名，列入前 {top} 名「優質治安社區」（計畫玖、二）："
            "相關機關、區公所及警察分局工作出力有功人員，依附件9獎勵基準表辦理獎勵。",
        )
        for community_id, rank in sorted(ranked, key=lambda p: p[1])
        if rank <= top
    ]
