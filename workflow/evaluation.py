"""Evaluation (評鑑, plan 捌): rubric, score sheets, calibration, ranking, certification, awards.

Plain Python over plain inputs: the service that reads nominations and sheets from the
database calls ``evaluate()`` and stores or prints what it returns.

The plan (捌、評鑑考核):

- 「由本府警察局所屬各分局辦理遴(初)選 1 個治安社區，參與本府(複)評鑑」: one nomination
  per precinct (``settings.nominations_per_precinct``), carrying its 初選 score.
- 「由本府社區治安專業輔導團隊評鑑擇優遴選 12 個「治安社區」通過認證(前 6 名)成為「優質治安
  社區」」: ``settings.certified_count`` and ``settings.quality_count``.
- 「優等(第 1、2 名…第 3、4 名…)、甲等(第 5、6 名…)及成長組(第 7-16 名…)…(初、複評成績須
  達 80 分以上)」: ``settings.award_tiers`` and ``settings.evaluation_threshold``.
- 「評鑑規定由本府另訂之」: the items and weights are not in the plan; they are data
  (``data/reference/evaluation_rubric.json``), so the city's own rules replace them unchanged.

How the 複評 score is formed: every scorer on the panel fills one sheet per nominee; a sheet's
total is the sum of its criterion scores (each 0 to the criterion's weight, weights summing to
100); the 複評 score is the plain mean of the panel's totals, rounded half-up to
``settings.evaluation_decimals`` (2) decimals. The rounded figures are the published ones, so
thresholds and ties are judged on them. A nominee is ranked only when every panel member has
scored it: a mean over part of the panel would not be comparable with the others.

Ranking, highest first, with these tie-breaks in order:

1. the 複評 average: the evaluation the plan gives the counselling team;
2. the 初選 score: the plan's other required round, the precinct's own judgement;
3. the averages on the rubric's ``tie_break_criteria`` in order (by default 治安會議與安全檢測
   地圖, the method the plan puts at the centre in 參、二, then 組織運作與居民參與, the
   community ownership of 參、一);
4. the community id, only to make the order deterministic: such a tie is flagged
   (``NomineeResult.unresolved_tie``) for the panel to settle, never settled silently.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pydantic import BaseModel, Field, ValidationError, model_validator

from geo.enums import LabelledEnum
from geo.errors import InvalidInput

from .settings import AwardTier, ProgramSettings

RUBRIC_TOTAL = 100


# --------------------------------------------------------------------------- errors
class EvaluationInputError(InvalidInput):
    code = "evaluation_input_invalid"
    message = "評鑑資料有誤。"


class InvalidRubric(EvaluationInputError):
    code = "rubric_invalid"
    message = "評分表設定有誤。"


class UnknownCriterion(EvaluationInputError):
    code = "criterion_unknown"
    message = "評分表沒有這個評分項目。"


class ScoreOutOfRange(EvaluationInputError):
    code = "score_out_of_range"
    message = "分數超出該項配分範圍。"


class IncompleteSheet(EvaluationInputError):
    code = "sheet_incomplete"
    message = "評分表尚有項目未評分。"


class DuplicateSheet(EvaluationInputError):
    code = "sheet_duplicate"
    message = "同一位評審委員對同一社區只能有一份評分表。"


class ScorerNotOnPanel(EvaluationInputError):
    code = "scorer_not_on_panel"
    message = "此評審委員不在本年度評審名單內。"


class NotNominated(EvaluationInputError):
    code = "not_nominated"
    message = "此社區未經分局初選推薦，不能評分。"


class DuplicateNomination(EvaluationInputError):
    code = "nomination_duplicate"
    message = "此社區已經推薦。"


class TooManyNominations(EvaluationInputError):
    code = "nominations_exceeded"
    message = "分局推薦的社區數已達上限。"


# --------------------------------------------------------------------------- the rubric
class ScoreBand(BaseModel):
    """A band of a criterion's score (優/良/可/待加強), from ``min_ratio`` of its weight up."""

    code: str
    label: str
    min_ratio: float = Field(ge=0, le=1)


class Criterion(BaseModel):
    """One evaluated item: scored 0..``weight`` points, with a descriptor per band."""

    code: str
    name: str
    weight: int = Field(gt=0)
    plan_ref: str = ""
    descriptors: dict[str, str]
    # The city may ask scorers to justify an item in words: a sheet is not submitted without it.
    comment_required: bool = False


class Rubric(BaseModel):
    """The evaluation rubric: criteria whose weights sum to 100, bands, tie-break order."""

    name: str
    bands: list[ScoreBand]
    criteria: list[Criterion]
    tie_break_criteria: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Rubric:
        codes = [c.code for c in self.criteria]
        if not codes or len(set(codes)) != len(codes):
            raise ValueError("criteria codes must be present and unique")
        if sum(c.weight for c in self.criteria) != RUBRIC_TOTAL:
            raise ValueError(f"weights sum to {sum(c.weight for c in self.criteria)}, not 100")
        band_codes = [b.code for b in self.bands]
        if len(set(band_codes)) != len(band_codes) or not any(b.min_ratio == 0 for b in self.bands):
            raise ValueError("band codes must be unique and one band must start at 0")
        for c in self.criteria:
            if set(c.descriptors) != set(band_codes):
                raise ValueError(f"criterion {c.code}: descriptors must match the bands")
        unknown = set(self.tie_break_criteria) - set(codes)
        if unknown:
            raise ValueError(f"unknown tie-break criteria {sorted(unknown)}")
        return self

    def criterion(self, code: str) -> Criterion:
        for c in self.criteria:
            if c.code == code:
                return c
        raise UnknownCriterion(f"評分表沒有「{code}」這個評分項目。", detail=code)

    def band(self, code: str, score: float | Decimal) -> ScoreBand:
        """The band a score on criterion ``code`` falls in."""
        ratio = Decimal(str(score)) / self.criterion(code).weight
        fitting = [b for b in self.bands if Decimal(str(b.min_ratio)) <= ratio]
        return max(fitting, key=lambda b: b.min_ratio)

    def descriptor(self, code: str, score: float | Decimal) -> str:
        return self.criterion(code).descriptors[self.band(code, score).code]


def load_rubric(raw: Mapping | None = None) -> Rubric:
    """The rubric from ``raw`` (a year's stored copy), or the reference file by default."""
    if raw is None:
        from data import reference_text

        raw = json.loads(reference_text("evaluation_rubric.json"))
    try:
        return Rubric.model_validate(raw)
    except ValidationError as exc:
        raise InvalidRubric(detail=str(exc)) from exc


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class Nomination:
    """A precinct's 初選 nomination of one community, with its 初選 score (0–100)."""

    community_id: int
    precinct_id: int
    preliminary_score: float | Decimal
    community_name: str = ""
    precinct_name: str = ""

    @property
    def label(self) -> str:
        return self.community_name or f"社區 {self.community_id}"


@dataclass(frozen=True)
class ScoreSheet:
    """One scorer's 複評 sheet for one nominee: criterion code → points."""

    scorer_id: int
    community_id: int
    scores: Mapping[str, float | Decimal]
    scorer_name: str = ""


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise ScoreOutOfRange(f"{what}的分數格式有誤。", detail=repr(value))
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise ScoreOutOfRange(f"{what}的分數格式有誤。", detail=repr(value)) from exc
    if not d.is_finite():
        raise ScoreOutOfRange(f"{what}的分數格式有誤。", detail=repr(value))
    return d


def check_sheet(rubric: Rubric, sheet: ScoreSheet, *, complete: bool = True) -> dict[str, Decimal]:
    """The sheet's scores as Decimals, checked against the rubric (``complete=False`` for drafts)."""
    out: dict[str, Decimal] = {}
    for code, raw in sheet.scores.items():
        criterion = rubric.criterion(code)
        score = _decimal(raw, f"「{criterion.name}」")
        if not 0 <= score <= criterion.weight:
            raise ScoreOutOfRange(
                f"「{criterion.name}」的分數須介於 0 至 {criterion.weight} 分，收到 {score} 分。",
                detail=f"{code}={score} scorer={sheet.scorer_id} community={sheet.community_id}",
            )
        out[code] = score
    missing = [c.name for c in rubric.criteria if c.code not in out]
    if complete and missing:
        raise IncompleteSheet(
            f"評分表尚未評分的項目：{'、'.join(missing)}。",
            detail=f"scorer={sheet.scorer_id} community={sheet.community_id}",
        )
    return out


def check_nominations(
    nominations: Iterable[Nomination], settings: ProgramSettings
) -> dict[int, Nomination]:
    """Nominations by community id, checked: one per community, the per-precinct limit, 0–100."""
    by_community: dict[int, Nomination] = {}
    per_precinct: dict[int, list[Nomination]] = defaultdict(list)
    for n in nominations:
        if n.community_id in by_community:
            raise DuplicateNomination(f"「{n.label}」已經推薦過。", detail=str(n.community_id))
        score = _decimal(n.preliminary_score, f"「{n.label}」初選")
        if not 0 <= score <= RUBRIC_TOTAL:
            raise ScoreOutOfRange(
                f"「{n.label}」的初選成績須介於 0 至 100 分。", detail=f"{n.community_id}={score}"
            )
        by_community[n.community_id] = n
        per_precinct[n.precinct_id].append(n)
        limit = settings.nominations_per_precinct
        if len(per_precinct[n.precinct_id]) > limit:
            raise TooManyNominations(
                f"{n.precinct_name or '此分局'}已推薦 {len(per_precinct[n.precinct_id])} 個社區，"
                f"每分局以 {limit} 個為限。",
                detail=f"precinct={n.precinct_id}",
            )
    return by_community


def check_sheets(
    rubric: Rubric,
    nominations: Mapping[int, Nomination],
    sheets: Iterable[ScoreSheet],
    *,
    panel: Iterable[int] | None = None,
) -> dict[tuple[int, int], dict[str, Decimal]]:
    """Complete sheets keyed by (scorer, community): nominated, on the panel, one each."""
    panel_ids = None if panel is None else set(panel)
    out: dict[tuple[int, int], dict[str, Decimal]] = {}
    for sheet in sheets:
        who = sheet.scorer_name or f"評審委員 {sheet.scorer_id}"
        if sheet.community_id not in nominations:
            raise NotNominated(
                f"社區 {sheet.community_id} 未經分局初選推薦，{who}不能為其評分。",
                detail=f"community={sheet.community_id}",
            )
        if panel_ids is not None and sheet.scorer_id not in panel_ids:
            raise ScorerNotOnPanel(f"{who}不在本年度評審名單內。", detail=str(sheet.scorer_id))
        key = (sheet.scorer_id, sheet.community_id)
        if key in out:
            name = nominations[sheet.community_id].label
            raise DuplicateSheet(
                f"{who}對「{name}」已有一份評分表。", detail=f"scorer={key[0]} community={key[1]}"
            )
        out[key] = check_sheet(rubric, sheet)
    return out


# --------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class ScorerCalibration:
    """How one scorer's totals sit against the panel's, so leniency and spread are visible."""

    # ``offset``: mean of (scorer's total − panel mean of that nominee, scorer included) over
    # the nominees scored; positive is lenient. ``spread`` / ``panel_spread``: population
    # standard deviations of the scorer's totals and of the same nominees' panel means; a much
    # smaller spread means the scorer hardly separates the nominees.
    scorer_id: int
    scorer_name: str
    sheets: int
    mean: Decimal
    panel_mean: Decimal
    offset: Decimal
    spread: Decimal
    panel_spread: Decimal
    criterion_offsets: dict[str, Decimal]
    label: str


def _q(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _mean(values: Iterable[Decimal]) -> Decimal:
    values = list(values)
    return sum(values, Decimal(0)) / len(values)


def calibrate(
    rubric: Rubric,
    scored: Mapping[tuple[int, int], Mapping[str, Decimal]],
    *,
    names: Mapping[int, str] | None = None,
    decimals: int = 2,
    tolerance: Decimal = Decimal(3),
) -> list[ScorerCalibration]:
    """Per-scorer calibration from checked sheets; ``tolerance`` points of offset name a leaning."""
    names = names or {}
    by_nominee: dict[int, dict[int, Mapping[str, Decimal]]] = defaultdict(dict)
    for (scorer, community), scores in scored.items():
        by_nominee[community][scorer] = scores
    panel_total = {
        c: _mean(sum(s.values(), Decimal(0)) for s in sheets.values())
        for c, sheets in by_nominee.items()
    }
    panel_criterion = {
        c: {k.code: _mean(s[k.code] for s in sheets.values()) for k in rubric.criteria}
        for c, sheets in by_nominee.items()
    }
    out = []
    for scorer in sorted({s for s, _ in scored}):
        mine = {c: scores for (s, c), scores in scored.items() if s == scorer}
        totals = [sum(scores.values(), Decimal(0)) for scores in mine.values()]
        panel = [panel_total[c] for c in mine]
        offset = _mean(t - p for t, p in zip(totals, panel, strict=True))
        criterion_offsets = {
            k.code: _q(_mean(mine[c][k.code] - panel_criterion[c][k.code] for c in mine), decimals)
            for k in rubric.criteria
        }
        if offset >= tolerance:
            label = f"評分偏寬（平均高於評審團 {_q(offset, decimals)} 分）"
        elif offset <= -tolerance:
            label = f"評分偏嚴（平均低於評審團 {_q(-offset, decimals)} 分）"
        else:
            label = "與評審團一致"
        out.append(
            ScorerCalibration(
                scorer_id=scorer,
                scorer_name=names.get(scorer, ""),
                sheets=len(mine),
                mean=_q(_mean(totals), decimals),
                panel_mean=_q(_mean(panel), decimals),
                offset=_q(offset, decimals),
                spread=_q(statistics.pstdev(totals), decimals),
                panel_spread=_q(statistics.pstdev(panel), decimals),
                criterion_offsets=criterion_offsets,
                label=label,
            )
        )
    return out


# --------------------------------------------------------------------------- results
class Outcome(LabelledEnum):
    quality = ("quality", "優質治安社區")
    certified = ("certified", "通過認證")
    ranked = ("ranked", "未獲認證")
    below_threshold = ("below_threshold", "未達門檻")
    incomplete = ("incomplete", "評分未齊")


def amount_label(tier: AwardTier) -> str:
    """The tier's amount as the plan writes it (新臺幣 4–6 萬元), or 酌發獎勵金 when open."""
    if tier.amount_min is None and tier.amount_max is None:
        return "酌發獎勵金"

    def wan(n: int) -> str:
        return f"{n / 10000:g}"

    lo, hi = tier.amount_min, tier.amount_max
    if lo is not None and hi is not None:
        return f"新臺幣 {wan(lo)}–{wan(hi)} 萬元" if lo != hi else f"新臺幣 {wan(lo)} 萬元"
    return f"新臺幣 {wan(lo)} 萬元以上" if lo is not None else f"新臺幣 {wan(hi)} 萬元以內"


@dataclass(frozen=True)
class NomineeResult:
    """One nominee's evaluation: averages, eligibility, rank, certification and award tier."""

    nomination: Nomination
    preliminary: Decimal
    review_average: Decimal | None
    scorer_totals: dict[int, Decimal]
    criterion_averages: dict[str, Decimal]
    reasons: tuple[str, ...] = ()
    rank: int | None = None
    certified: bool = False
    quality: bool = False
    tier: AwardTier | None = None
    tie_break: str | None = None
    unresolved_tie: bool = False
    incomplete: bool = False

    @property
    def eligible(self) -> bool:
        return not self.reasons

    @property
    def outcome(self) -> Outcome:
        if self.quality:
            return Outcome.quality
        if self.certified:
            return Outcome.certified
        if self.rank is not None:
            return Outcome.ranked
        return Outcome.incomplete if self.incomplete else Outcome.below_threshold

    @property
    def outcome_label(self) -> str:
        return self.outcome.label

    @property
    def tier_label(self) -> str | None:
        return None if self.tier is None else f"{self.tier.name}：{amount_label(self.tier)}"

    @property
    def certificate_title(self) -> str | None:
        """What a printed certificate names the community, if it earns one."""
        if self.quality:
            return "優質治安社區"
        return "治安社區認證" if self.certified else None


@dataclass(frozen=True)
class EvaluationResult:
    """The year's evaluation: ranked nominees first, then the rest, and the panel calibration."""

    entries: tuple[NomineeResult, ...]
    calibration: tuple[ScorerCalibration, ...]
    threshold: Decimal

    @property
    def ranked(self) -> list[NomineeResult]:
        return [e for e in self.entries if e.rank is not None]

    @property
    def certified(self) -> list[NomineeResult]:
        return [e for e in self.entries if e.certified]

    @property
    def quality(self) -> list[NomineeResult]:
        return [e for e in self.entries if e.quality]

    @property
    def unresolved_ties(self) -> list[NomineeResult]:
        return [e for e in self.entries if e.unresolved_tie]

    def by_community(self, community_id: int) -> NomineeResult:
        return next(e for e in self.entries if e.nomination.community_id == community_id)


def _fmt(value: Decimal | float) -> str:
    d = Decimal(str(value))
    return f"{d.normalize():f}" if d == d.to_integral_value() else f"{d}"


def evaluate(
    rubric: Rubric,
    nominations: Iterable[Nomination],
    sheets: Iterable[ScoreSheet],
    settings: ProgramSettings,
    *,
    panel: Iterable[int] | None = None,
    scorer_names: Mapping[int, str] | None = None,
) -> EvaluationResult:
    """Score, check, rank, certify and award the nominees; ``panel`` defaults to all scorers."""
    noms = check_nominations(nominations, settings)
    panel_ids = None if panel is None else set(panel)
    scored = check_sheets(rubric, noms, sheets, panel=panel_ids)
    if panel_ids is None:
        panel_ids = {s for s, _ in scored}
    places = settings.evaluation_decimals
    threshold = Decimal(str(settings.evaluation_threshold))

    results: list[NomineeResult] = []
    for cid, nom in noms.items():
        mine = {s: scores for (s, c), scores in scored.items() if c == cid}
        totals = {s: sum(scores.values(), Decimal(0)) for s, scores in mine.items()}
        preliminary = _decimal(nom.preliminary_score, "初選")
        reasons = []
        missing = panel_ids - set(mine)
        if not mine:
            reasons.append("尚無複評評分")
        elif missing:
            reasons.append(f"尚缺 {len(missing)} 位評審委員評分")
        if preliminary < threshold:
            reasons.append(f"初選成績 {_fmt(preliminary)} 分未達 {_fmt(threshold)} 分")
        average = _q(_mean(totals.values()), places) if mine else None
        if average is not None and not missing and average < threshold:
            reasons.append(f"複評平均 {average} 分未達 {_fmt(threshold)} 分")
        results.append(
            NomineeResult(
                nomination=nom,
                preliminary=preliminary,
                review_average=average,
                scorer_totals=totals,
                criterion_averages={
                    k.code: _q(_mean(s[k.code] for s in mine.values()), places)
                    for k in rubric.criteria
                }
                if mine
                else {},
                reasons=tuple(reasons),
                incomplete=bool(missing) or not mine,
            )
        )

    ranked = _rank([r for r in results if r.eligible], rubric, settings)
    rest = sorted(
        (r for r in results if not r.eligible),
        key=lambda r: (r.nomination.precinct_id, r.nomination.community_id),
    )
    calibration = calibrate(rubric, scored, names=scorer_names, decimals=places)
    return EvaluationResult(tuple(ranked + rest), tuple(calibration), threshold)


def _rank(
    eligible: list[NomineeResult], rubric: Rubric, settings: ProgramSettings
) -> list[NomineeResult]:
    tie_codes = rubric.tie_break_criteria

    def key(r: NomineeResult) -> tuple:
        return (
            -r.review_average,
            -r.preliminary,
            *(-r.criterion_averages[c] for c in tie_codes),
            r.nomination.community_id,
        )

    basis_names = ["初選成績", *(f"「{rubric.criterion(c).name}」項目平均" for c in tie_codes)]
    ordered = sorted(eligible, key=key)
    out: list[NomineeResult] = []
    for i, r in enumerate(ordered):
        rank = i + 1
        note, unresolved = None, False
        if i and ordered[i - 1].review_average == r.review_average:
            above = ordered[i - 1]
            ka, kb = key(above)[1:-1], key(r)[1:-1]
            differing = next(
                (j for j, (a, b) in enumerate(zip(ka, kb, strict=True)) if a != b), None
            )
            if differing is None:
                unresolved = True
                note = (
                    f"與第 {rank - 1} 名「{above.nomination.label}」複評平均及各項比序均相同，"
                    "暫依社區編號排列，須由評審會議決定名次。"
                )
            else:
                note = (
                    f"與第 {rank - 1} 名「{above.nomination.label}」複評平均同為 "
                    f"{r.review_average} 分，依{basis_names[differing]}較高者在前"
                    f"（{_fmt(-ka[differing])} 比 {_fmt(-kb[differing])}）。"
                )
            if unresolved and not out[-1].unresolved_tie:
                out[-1] = replace(out[-1], unresolved_tie=True)
        tier = next((t for t in settings.award_tiers if t.rank_from <= rank <= t.rank_to), None)
        out.append(
            replace(
                r,
                rank=rank,
                certified=rank <= settings.certified_count,
                quality=rank <= settings.quality_count,
                tier=tier,
                tie_break=note,
                unresolved_tie=unresolved,
            )
        )
    return out
