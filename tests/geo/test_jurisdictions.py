"""Precinct jurisdictions from the CSV the city keeps, and police stations."""

import pytest
from sqlalchemy import func, select

from geo.errors import ImportFileError, ImportMissingColumns
from geo.jurisdictions import import_jurisdictions, import_stations, read_csv
from geo.models import PoliceStation, Precinct, precinct_villages
from tests.factories import make_district, make_village


@pytest.fixture
def two_districts(db):
    d1, d2 = make_district(db), make_district(db)
    v1 = [make_village(db, d1) for _ in range(4)]
    v2 = [make_village(db, d2) for _ in range(2)]
    return d1, d2, v1, v2


def _assignment(db):
    rows = db.execute(
        select(precinct_villages.c.village_id, Precinct.name).join(
            Precinct, Precinct.id == precinct_villages.c.precinct_id
        )
    ).all()
    return dict(rows)


def test_whole_districts_and_a_split_district(db, two_districts):
    d1, d2, v1, v2 = two_districts
    rows = [
        {"PRECINCT": "甲分局", "TOWNCODE": d1.code},
        {"PRECINCT": "乙分局", "TOWNCODE": d1.code},
        {"PRECINCT": "乙分局", "DISTRICT": d2.name},
    ] + [
        {"PRECINCT": "甲分局" if i < 2 else "乙分局", "VILLCODE": v.code} for i, v in enumerate(v1)
    ]
    report = import_jurisdictions(db, rows)
    a = _assignment(db)
    assert [a[v.id] for v in v1] == ["甲分局", "甲分局", "乙分局", "乙分局"]
    assert all(a[v.id] == "乙分局" for v in v2)
    assert report.precincts_created == 2 and report.villages_changed == 6
    # the same file again changes nothing
    again = import_jurisdictions(db, rows)
    assert again.villages_changed == 0 and again.precincts_created == 0


def test_a_shared_district_without_village_rows_is_refused(db, two_districts):
    d1, *_ = two_districts
    before = _assignment(db)
    with pytest.raises(ImportFileError) as info:
        import_jurisdictions(
            db,
            [
                {"PRECINCT": "甲分局", "TOWNCODE": d1.code},
                {"PRECINCT": "乙分局", "TOWNCODE": d1.code},
            ],
        )
    assert "共管" in info.value.message
    assert _assignment(db) == before


def test_unknown_codes_and_missing_columns_are_refused(db, two_districts):
    with pytest.raises(ImportFileError) as info:
        import_jurisdictions(db, [{"PRECINCT": "甲分局", "VILLCODE": "00000000000"}])
    assert "00000000000" in info.value.message
    with pytest.raises(ImportMissingColumns):
        import_jurisdictions(db, [{"NAME": "x"}])


def test_csv_in_big5_and_utf8_with_bom(tmp_path, db, two_districts):
    d1, d2, *_ = two_districts
    text = f"precinct,TOWNCODE\n甲分局,{d1.code}\n乙分局,{d2.code}\n"
    (tmp_path / "big5.csv").write_bytes(text.encode("cp950"))
    (tmp_path / "bom.csv").write_bytes(text.encode("utf-8-sig"))
    assert read_csv(tmp_path / "big5.csv") == read_csv(tmp_path / "bom.csv")
    assert read_csv(tmp_path / "bom.csv")[0] == {"PRECINCT": "甲分局", "TOWNCODE": d1.code}
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ImportFileError):
        read_csv(tmp_path / "empty.csv")


def test_stations_upsert(db, two_districts):
    d1, *_ = two_districts
    import_jurisdictions(db, [{"PRECINCT": "甲分局", "TOWNCODE": d1.code}])
    rows = [
        {"PRECINCT": "甲分局", "STATION": "後埔派出所", "STATION_TYPE": "police_station(派出所)"},
        {
            "PRECINCT": "甲分局",
            "STATION": "浮洲分駐所",
            "STATION_TYPE": "分駐所",
            "LON": "121.45",
            "LAT": "25.0",
        },
    ]
    assert import_stations(db, rows) == (2, 0)
    assert import_stations(db, rows) == (0, 2)
    kinds = dict(db.execute(select(PoliceStation.name, PoliceStation.station_type)).all())
    assert kinds["後埔派出所"] == "派出所" and kinds["浮洲分駐所"] == "分駐所"
    assert db.scalar(select(func.count()).where(PoliceStation.geom.is_not(None))) == 1
    with pytest.raises(ImportFileError):
        import_stations(db, [{"PRECINCT": "沒有這個分局", "STATION": "x"}])
