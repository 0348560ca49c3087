"""Monthly trends for the city leaders' dashboard (issue #7, item 5) and the month-to-month
change of blind-spot runs for the precinct's list.

Each series is one SQL statement: the months come from ``generate_series`` so a month with
nothing in it is a zero (or, for blind spots, no value when no run covered the area that
month), and rows are counted by ``date_trunc('month', …)`` in Taipei time, the months people
in New Taipei mean.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from geo.enums import Role
from geo.errors import NotFound, PermissionDenied
from geo.models import AnalysisRun, District

from .access import Actor, require_signed_in
from .analysis import get_run

# Aggregates only (no places), yet still the city's internal figures: the dashboard's readers.
READERS = frozenset({Role.leader, Role.city_police, Role.admin})
TZ = "Asia/Taipei"

# The months of the window: naive first-of-month timestamps in Taipei time.
_MONTHS = "SELECT generate_series(CAST(:first AS timestamp), CAST(:last AS timestamp), interval '1 month') AS month"
# The window as instants, for range filters that can use the indexes.
_SINCE = f"(CAST(:first AS timestamp) AT TIME ZONE '{TZ}')"
_UNTIL = f"((CAST(:last AS timestamp) + interval '1 month') AT TIME ZONE '{TZ}')"
# A feature of a geometry layer lies in the district when its point on surface does (a dark
# alley crossing the boundary is counted once).
_IN_DISTRICT = (
    "EXISTS (SELECT 1 FROM districts d WHERE d.id = :district "
    "AND d.geom && {g} AND ST_Intersects(d.geom, ST_PointOnSurface({g})))"
)


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    values: list[int | None]


def _counted(table: str, column: str, where: str, geom: str | None, district: bool) -> str:
    """Rows of ``table`` per month of ``column`` (a timestamptz or a date)."""
    if column.endswith("_at"):  # timestamptz: months in Taipei time
        local = f"{column} AT TIME ZONE '{TZ}'"
        filters = [f"{column} >= {_SINCE}", f"{column} < {_UNTIL}", where]
    else:  # a calendar date is already local
        local = f"CAST({column} AS timestamp)"
        bounds = "CAST(:first AS date)", "CAST(:last AS date) + interval '1 month'"
        filters = [f"{column} >= {bounds[0]}", f"{column} < {bounds[1]}", where]
    if district:
        filters.append(_IN_DISTRICT.format(g=geom))
    return (
        f"WITH m AS ({_MONTHS}), c AS (SELECT date_trunc('month', {local}) AS month, count(*) AS n "
        f"FROM {table} WHERE {' AND '.join(filters)} GROUP BY 1) "
        "SELECT m.month, coalesce(c.n, 0) FROM m LEFT JOIN c USING (month) ORDER BY m.month"
    )


def _applications_sql(district: bool) -> str:
    # An application counts in the month of its first submission (returned and resubmitted
    # ones are not counted twice).
    where = (
        "JOIN communities cm ON cm.id = a.community_id AND cm.district_id = :district"
        if district
        else ""
    )
    return (
        f"WITH m AS ({_MONTHS}), firsts AS (SELECT e.application_id, min(e.at) AS at "
        "FROM application_events e WHERE e.to_status = 'submitted' GROUP BY e.application_id), "
        f"c AS (SELECT date_trunc('month', f.at AT TIME ZONE '{TZ}') AS month, count(*) AS n "
        f"FROM firsts f JOIN applications a ON a.id = f.application_id {where} "
        f"WHERE f.at >= {_SINCE} AND f.at < {_UNTIL} GROUP BY 1) "
        "SELECT m.month, coalesce(c.n, 0) FROM m LEFT JOIN c USING (month) ORDER BY m.month"
    )


def _blind_spots_sql(district: bool) -> str:
    # The month's latest run over the whole area (the city, or the district itself): a
    # precinct's run covers only part of a district and would understate it. No run → no value.
    scope = (
        "(r.scope_kind = 'city' OR (r.scope_kind = 'district' AND r.scope_id = :district))"
        if district
        else "r.scope_kind = 'city'"
    )
    count = (
        "(SELECT count(*) FROM blind_spots b WHERE b.run_id = l.id AND b.district_id = :district)"
        if district
        else "(SELECT count(*) FROM blind_spots b WHERE b.run_id = l.id)"
    )
    return (
        f"WITH m AS ({_MONTHS}), l AS (SELECT DISTINCT ON (1) "
        f"date_trunc('month', r.created_at AT TIME ZONE '{TZ}') AS month, r.id FROM analysis_runs r "
        f"WHERE r.kind = 'blind_spots' AND {scope} AND r.created_at >= {_SINCE} AND r.created_at < {_UNTIL} "
        "ORDER BY 1, r.created_at DESC, r.id DESC) "
        f"SELECT m.month, CASE WHEN l.id IS NOT NULL THEN {count} END "
        "FROM m LEFT JOIN l USING (month) ORDER BY m.month"
    )


def _series_sql(district: bool) -> list[tuple[str, str, str]]:
    return [
        ("hazards_reported", "問題點通報", _counted("hazards", "reported_at", "true", "geom", district)),
        ("hazards_fixed", "問題點改善", _counted("hazards", "fixed_at", "fixed_at IS NOT NULL", "geom", district)),
        (
            "cameras_installed",
            "監視器裝設",
            _counted("cameras", "installed_at", "status::text IN ('installed', 'existing')", "geom", district),
        ),
        ("incidents", "案件數", _counted("incidents", "occurred_at", "true", "geom", district)),
        ("blind_spots", "治安死角（分析結果）", _blind_spots_sql(district)),
        ("applications", "申請案送件", _applications_sql(district)),
    ]  # fmt: skip


def _month_floor(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _shift(month: dt.date, by: int) -> dt.date:
    n = month.year * 12 + month.month - 1 + by
    return dt.date(n // 12, n % 12 + 1, 1)


def monthly(
    session: Session,
    actor: Actor,
    *,
    district: str | None = None,
    months: int = 12,
    until: dt.date | None = None,
) -> dict:
    """The dashboard's series for the ``months`` months up to ``until``'s month, city-wide or
    for one district (code or name)."""
    require_signed_in(actor)
    if actor.role not in READERS:
        raise PermissionDenied(
            "逐月趨勢屬市府內部統計，您的角色不能查看。", detail=f"{actor.role} trends"
        )
    months = max(1, min(int(months), 60))
    last = _month_floor(until or dt.date.today())
    first = _shift(last, -(months - 1))
    district_row = None
    if district:
        district_row = session.execute(
            select(District.id, District.name).where(
                (District.code == district) | (District.name == district),
                District.retired_at.is_(None),
            )
        ).first()
        if district_row is None:
            raise NotFound(f"找不到行政區「{district}」。", detail=district)
    params = {"first": first, "last": last}
    if district_row is not None:
        params["district"] = district_row.id
    series = []
    for key, label, sql in _series_sql(district_row is not None):
        rows = session.execute(text(sql), params).all()
        series.append(Series(key, label, [None if n is None else int(n) for _, n in rows]))
    return {
        "months": [_shift(first, i) for i in range(months)],
        "district": district_row.name if district_row is not None else None,
        "series": {s.key: s for s in series},
    }


# --------------------------------------------------------------------------- blind spots
def previous_run(session: Session, actor: Actor, run: AnalysisRun) -> AnalysisRun | None:
    """The latest run of the same kind and area from a month before ``run``'s month."""
    start = run.created_at.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0
    )
    prev_id = session.scalar(
        select(AnalysisRun.id)
        .where(
            AnalysisRun.kind == run.kind,
            AnalysisRun.scope_kind == run.scope_kind,
            AnalysisRun.scope_id.is_(None)
            if run.scope_id is None
            else AnalysisRun.scope_id == run.scope_id,
            AnalysisRun.created_at < start,
        )
        .order_by(AnalysisRun.created_at.desc(), AnalysisRun.id.desc())
        .limit(1)
    )
    return get_run(session, actor, prev_id) if prev_id is not None else None


def blind_spot_change(session: Session, actor: Actor, run_id: int, previous_id: int) -> dict:
    """New, resolved and remaining blind spots between two runs the actor may read: a hazard
    is the same hazard; a grid cell is the same place when the other run's cell holds its
    centre (grids of runs over the same area line up)."""
    get_run(session, actor, run_id)
    get_run(session, actor, previous_id)
    same = (
        "x.source_kind = y.source_kind AND CASE WHEN x.source_kind = 'hazard' "
        "THEN x.source_id = y.source_id "
        "ELSE x.geom && y.geom AND ST_Intersects(y.geom, ST_PointOnSurface(x.geom)) END"
    )
    row = session.execute(
        text(
            f"""
            SELECT
              (SELECT count(*) FROM blind_spots x WHERE x.run_id = :new AND NOT EXISTS
                 (SELECT 1 FROM blind_spots y WHERE y.run_id = :old AND {same})),
              (SELECT count(*) FROM blind_spots x WHERE x.run_id = :old AND NOT EXISTS
                 (SELECT 1 FROM blind_spots y WHERE y.run_id = :new AND {same})),
              (SELECT count(*) FROM blind_spots x WHERE x.run_id = :new AND EXISTS
                 (SELECT 1 FROM blind_spots y WHERE y.run_id = :old AND {same}))
            """
        ),
        {"new": run_id, "old": previous_id},
    ).one()
    return {"new": int(row[0]), "resolved": int(row[1]), "remaining": int(row[2])}
