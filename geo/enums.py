"""Vocabularies stored in the database, each with its zh-TW label defined once.

Pages, maps and messages read labels from here so a status or a role is named the same way
everywhere (netbox's choice sets).
"""

from __future__ import annotations

import enum


class LabelledEnum(enum.StrEnum):
    """A string enum whose members carry a zh-TW label."""

    def __new__(cls, value: str, label: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label  # type: ignore[attr-defined]
        return obj

    @classmethod
    def labels(cls) -> dict[str, str]:
        return {m.value: m.label for m in cls}  # type: ignore[attr-defined]


class Role(LabelledEnum):
    """Roles of PROGRAM.md; residents are anonymous and have no account."""

    community = ("community", "社區組織")
    station = ("station", "派出所")
    precinct = ("precinct", "警察分局")
    district_office = ("district_office", "區公所")
    city_police = ("city_police", "警察局")
    fire_bureau = ("fire_bureau", "消防局")
    social_affairs = ("social_affairs", "社會局")
    counselling = ("counselling", "專業輔導團隊／諮詢顧問")
    leader = ("leader", "市府長官")
    admin = ("admin", "系統管理者")


class OrganisationKind(LabelledEnum):
    community_association = ("community_association", "社區發展協會")
    village_office = ("village_office", "村里辦公處")
    ngo = ("ngo", "民間團體")
    agency = ("agency", "機關")
    school = ("school", "學校")
    company = ("company", "公司行號")
    government = ("government", "市府單位")


class HazardStatus(LabelledEnum):
    open = ("open", "待處理")
    assigned = ("assigned", "已分派")
    fixed = ("fixed", "已改善")
    dismissed = ("dismissed", "不處理")


class TimeOfDay(LabelledEnum):
    day = ("day", "白天")
    night = ("night", "夜間")
    both = ("both", "全天")


class CameraStatus(LabelledEnum):
    existing = ("existing", "既有")
    proposed = ("proposed", "建議設置")
    approved = ("approved", "已核准")
    installed = ("installed", "已裝設")
    rejected = ("rejected", "不予設置")


class CameraOwner(LabelledEnum):
    police = ("police", "警察機關")
    community = ("community", "社區")
    private = ("private", "私人")


class ApplicationStatus(LabelledEnum):
    """States of a yearly application; the allowed moves live in ``workflow.states``."""

    draft = ("draft", "草稿")
    submitted = ("submitted", "已送分局")
    returned = ("returned", "退回補正")
    rejected = ("rejected", "不予受理")
    forwarded = ("forwarded", "分局初審通過並轉報")
    approved = ("approved", "市府核定補助")
    not_selected = ("not_selected", "未獲核定")
    in_progress = ("in_progress", "執行中")
    completed = ("completed", "已結案")
    withdrawn = ("withdrawn", "申請撤回")
