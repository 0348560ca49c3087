"""Precinct jurisdictions (sets of villages) and police stations, imported from the CSV files
the city keeps.

A jurisdiction row names a precinct and either a village (``VILLCODE``) or a whole district
(``TOWNCODE`` or the district's name). Village rows win over district rows, so a district
shared by two precincts (板橋區: 板橋分局 and 海山分局) is split by listing its villages.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from .errors import ImportEmpty, ImportFileError, ImportMissingColumns
from .models import AuditLog, District, PoliceStation, Precinct, Village, precinct_villages


@dataclass
class JurisdictionReport:
    precincts_created: int = 0
    villages_assigned: int = 0
    villages_changed: int = 0
    unassigned_villages: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """Rows of a CSV file in UTF-8 (with or without BOM) or Big5, with upper-cased headers."""
    p = Path(path)
    if not p.exists():
        raise ImportFileError(f"找不到檔案：{p}", detail=f"no such file {p}")
    raw = p.read_bytes()
    if not raw.strip():
        raise ImportEmpty("檔案是空的。", detail=f"{p}: empty")
    for encoding in ("utf-8-sig", "cp950"):
        try:
            content = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(
            "無法辨識檔案的文字編碼（請使用 UTF-8 或 Big5）。", detail=f"{p}: undecodable"
        )
    try:
        reader = csv.DictReader(io.StringIO(content))
        rows = [
            {(k or "").strip().upper(): (v or "").strip() for k, v in row.items() if k is not None}
            for row in reader
        ]
    except csv.Error as exc:
        raise ImportFileError("CSV 格式不正確。", detail=str(exc)) from exc
    if not rows:
        raise ImportEmpty("檔案中沒有任何資料列。", detail=f"{p}: no rows")
    return rows


def import_jurisdictions(
    session: Session, rows: Iterable[dict[str, str]], *, actor_id: int | None = None
) -> JurisdictionReport:
    """Assign villages to precincts from ``rows`` (see the module docstring); one transaction
    with the caller's session. Precincts are created by name when new."""
    rows = list(rows)
    if not rows:
        raise ImportEmpty("檔案中沒有任何資料列。")
    header = set(rows[0])
    if "PRECINCT" not in header or not header & {"VILLCODE", "TOWNCODE", "DISTRICT"}:
        raise ImportMissingColumns(
            "檔案需有 precinct 欄，以及 VILLCODE、TOWNCODE 或 district 其中一欄。",
            detail=f"columns {sorted(header)}",
        )
    villages = session.execute(
        select(Village.id, Village.code, District.code, District.name)
        .join(District, District.id == Village.district_id)
        .where(Village.retired_at.is_(None))
    ).all()
    if not villages:
        raise ImportEmpty(
            "資料庫中尚無村里界，請先執行 `safemap import boundaries`。", detail="no villages"
        )
    by_code = {code: vid for vid, code, _, _ in villages}
    by_district: dict[str, list[int]] = {}
    for vid, _, dcode, dname in villages:
        by_district.setdefault(dcode, []).append(vid)
        by_district.setdefault(dname, []).append(vid)

    village_level: dict[int, str] = {}
    district_level: dict[str, set[str]] = {}
    problems: list[str] = []
    for lineno, row in enumerate(rows, start=2):
        precinct = row.get("PRECINCT", "")
        if not precinct:
            problems.append(f"第 {lineno} 列缺少分局名稱")
            continue
        vcode = row.get("VILLCODE", "")
        dkey = row.get("TOWNCODE", "") or row.get("DISTRICT", "")
        if vcode:
            if vcode not in by_code:
                problems.append(f"第 {lineno} 列：找不到村里代碼 {vcode}")
            elif village_level.get(by_code[vcode], precinct) != precinct:
                problems.append(f"第 {lineno} 列：村里 {vcode} 同時列在兩個分局")
            else:
                village_level[by_code[vcode]] = precinct
        elif dkey:
            if dkey not in by_district:
                problems.append(f"第 {lineno} 列：找不到鄉鎮市區 {dkey}")
            else:
                district_level.setdefault(dkey, set()).add(precinct)
        else:
            problems.append(f"第 {lineno} 列缺少村里或鄉鎮市區")
    assignment: dict[int, str] = {}
    for dkey, precincts in district_level.items():
        open_villages = [v for v in by_district[dkey] if v not in village_level]
        if len(precincts) > 1 and open_villages:
            problems.append(
                f"{dkey} 由 {'、'.join(sorted(precincts))} 共管，請以 VILLCODE 逐里指定其中 {len(open_villages)} 個村里"
            )
            continue
        for v in open_villages:
            assignment[v] = next(iter(precincts))
    assignment.update(village_level)
    if problems:
        shown = "；".join(problems[:10]) + ("……" if len(problems) > 10 else "")
        raise ImportFileError(
            f"轄區檔有 {len(problems)} 處錯誤：{shown}", detail="; ".join(problems)
        )

    report = JurisdictionReport()
    names = sorted(set(assignment.values()))
    existing = dict(
        session.execute(select(Precinct.name, Precinct.id).where(Precinct.name.in_(names))).all()
    )
    for name in names:
        if name not in existing:
            p = Precinct(name=name)
            session.add(p)
            session.flush()
            existing[name] = p.id
            report.precincts_created += 1
    before = dict(
        session.execute(
            select(precinct_villages.c.village_id, precinct_villages.c.precinct_id)
        ).all()
    )
    wanted = {vid: existing[name] for vid, name in assignment.items()}
    changed = {vid: pid for vid, pid in wanted.items() if before.get(vid) != pid}
    if changed:
        session.execute(
            delete(precinct_villages).where(precinct_villages.c.village_id.in_(list(changed)))
        )
        session.execute(
            insert(precinct_villages),
            [{"village_id": v, "precinct_id": p} for v, p in changed.items()],
        )
    report.villages_assigned = len(wanted)
    report.villages_changed = len(changed)
    report.unassigned_villages = sorted(
        code for vid, code, _, _ in villages if vid not in wanted and vid not in before
    )
    if changed or report.precincts_created:
        session.add(
            AuditLog(
                actor_id=actor_id,
                action="import_jurisdictions",
                entity="precinct_villages",
                detail=report.as_dict(),
            )
        )
    session.flush()
    return report


def import_stations(
    session: Session, rows: Iterable[dict[str, str]], *, actor_id: int | None = None
) -> tuple[int, int]:
    """Upsert police stations from rows with ``precinct``, ``station`` and optionally
    ``station_type``, ``address``, ``lon``/``lat``. Returns (created, updated)."""
    rows = list(rows)
    if not rows or not {"PRECINCT", "STATION"} <= set(rows[0]):
        raise ImportMissingColumns(
            "派出所檔案需有 precinct 與 station 兩欄。", detail="missing columns"
        )
    precincts = dict(session.execute(select(Precinct.name, Precinct.id)).all())
    unknown = sorted({r["PRECINCT"] for r in rows if r.get("PRECINCT") not in precincts})
    if unknown:
        raise ImportFileError(
            f"找不到分局：{'、'.join(unknown)}（請先匯入轄區）。", detail=f"unknown {unknown}"
        )
    created = updated = 0
    for r in rows:
        values = {
            "precinct_id": precincts[r["PRECINCT"]],
            "name": r["STATION"],
            # e.g. "police_station(派出所)" or "派出所"
            "station_type": "分駐所" if "分駐所" in r.get("STATION_TYPE", "") else "派出所",
            "address": r.get("ADDRESS") or None,
        }
        if r.get("LON") and r.get("LAT"):
            try:
                lon, lat = float(r["LON"]), float(r["LAT"])
            except ValueError as exc:
                raise ImportFileError(
                    f"派出所 {r['STATION']} 的經緯度不是數字。", detail=str(exc)
                ) from exc
            values["geom"] = func.ST_Transform(
                func.ST_SetSRID(func.ST_MakePoint(lon, lat), 4326), 3826
            )
        stmt = insert(PoliceStation).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["precinct_id", "name"],
            set_={k: stmt.excluded[k] for k in values if k not in ("precinct_id", "name")},
        ).returning(text("(xmax = 0)"))
        if session.execute(stmt).scalar():
            created += 1
        else:
            updated += 1
    if created or updated:
        session.add(
            AuditLog(
                actor_id=actor_id,
                action="import_stations",
                entity="police_stations",
                detail={"created": created, "updated": updated},
            )
        )
    session.flush()
    return created, updated
