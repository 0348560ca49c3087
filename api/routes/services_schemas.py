"""Request and response schemas of the plan's other services (kept apart from the ORM models).

Geometry comes in as GeoJSON in EPSG:4326 (geojson-pydantic) and is checked and reprojected
to EPSG:3826 by the services.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from geojson_pydantic import LineString, MultiLineString, Point
from pydantic import BaseModel, ConfigDict, Field

Name = Field(max_length=64)


class _In(BaseModel):
    # Unknown fields are refused, so a typo is an error rather than silently ignored.
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel):
    total: int
    limit: int
    offset: int


class Event(BaseModel):
    at: dt.datetime
    actor: str | None
    actor_role: str
    actor_role_label: str
    from_status: str | None
    to_status: str
    to_status_label: str
    comment: str | None


class Move(BaseModel):
    target: str
    label: str


class PointOut(BaseModel):
    type: str = "Point"
    coordinates: list[float]


# --------------------------------------------------------------------------- 防竊達人
class ConsultationCreate(_In):
    reason: str = Field("general", description="general（一般住戶）或 burgled（失竊住戶）")
    household_name: str = Field(max_length=64, description="申請人")
    phone: str | None = Field(None, max_length=32)
    address: str = Field(max_length=256)
    location: Point = Field(description="住家位置（EPSG:4326），僅警察機關可見")
    burgled_on: dt.date | None = None
    request_note: str | None = Field(None, max_length=2000)
    community_id: int | None = Field(None, description="代為申請的社區（社區組織必填）")


class ConsultationReceipt(BaseModel):
    id: int
    status: str
    status_label: str
    reason: str
    reason_label: str
    village: str
    requested_on: dt.date


class ConsultationAssign(_In):
    consultant_name: str = Field(max_length=64)
    consultant_user_id: int | None = None
    scheduled_for: dt.date | None = None
    comment: str | None = Field(None, max_length=500)


class ChecklistEntry(_In):
    rating: str = Field(description="good、fair、poor、absent 或 na")
    note: str = Field("", max_length=1000)


class ConsultationVisit(_In):
    visited_on: dt.date
    checklist: dict[str, ChecklistEntry] = Field(
        description="doors、windows、locks、lighting、sightlines、alarms 各一項"
    )
    advice: str = Field(max_length=5000)
    follow_up_on: dt.date | None = None
    comment: str | None = Field(None, max_length=500)


class ConsultationFollowUp(_In):
    followed_up_on: dt.date
    note: str = Field(max_length=2000)
    next_follow_up_on: dt.date | None = Field(None, description="仍需追蹤時的下次日期；不填即結案")


class Comment(_In):
    comment: str = Field(max_length=500)


class ConsultationPublic(BaseModel):
    id: int
    reason: str
    reason_label: str
    status: str
    status_label: str
    precinct_id: int
    station_id: int | None
    station: str | None
    district: str
    village: str
    community_id: int | None
    household_name: str
    phone: str | None
    address: str
    location: PointOut
    burgled_on: dt.date | None
    requested_on: dt.date
    request_note: str
    consultant_name: str | None
    consultant_user_id: int | None
    scheduled_for: dt.date | None
    visited_on: dt.date | None
    checklist: dict[str, Any]
    advice: str
    follow_up_on: dt.date | None
    followed_up_on: dt.date | None
    follow_up_note: str | None
    household_burglaries: int
    repeat_victim: bool
    version: int


class ConsultationReminder(ConsultationPublic):
    overdue_days: int


class PhotoPublic(BaseModel):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    caption: str | None
    uploaded_at: dt.datetime | None
    href: str


class ConsultationDetail(ConsultationPublic):
    photos: list[PhotoPublic]
    history: list[Event]
    moves: list[Move]


class ConsultationPage(Page):
    items: list[ConsultationPublic]


class ConsultationFigures(BaseModel):
    year: int | None
    total: int
    by_district: list[dict[str, Any]]
    by_village: list[dict[str, Any]]
    by_station: list[dict[str, Any]]


# --------------------------------------------------------------------------- 消防局
class DisasterRequestCreate(_In):
    community_id: int
    fire_unit: str | None = Field(None, max_length=64, description="受理單位，預設新北市政府消防局")
    topics: list[str] = Field(
        description="fire、earthquake、typhoon、first_aid_cpr、bleeding_control、home_safety"
    )
    content: str = Field(max_length=2000, description="宣導項目及內容")
    requested_date: dt.date
    start_time: dt.time
    end_time: dt.time | None = None
    place: str = Field(max_length=128)
    expected_attendance: int
    contact_name: str = Name
    contact_phone: str = Field(max_length=32)


class DisasterAccept(_In):
    instructors: list[str]
    reply: str | None = Field(None, max_length=2000)


class DisasterPropose(_In):
    proposed_date: dt.date
    instructors: list[str] | None = None
    reply: str = Field(max_length=2000)


class DisasterReply(_In):
    reply: str = Field(max_length=2000)


class DisasterInstructors(_In):
    instructors: list[str]


class DisasterWithdraw(_In):
    comment: str | None = Field(None, max_length=500)


class DisasterHeld(_In):
    held_on: dt.date
    attendance: int = Field(ge=0)
    notes: str | None = Field(None, max_length=5000)


class DisasterRequestPublic(BaseModel):
    id: int
    community_id: int
    community: str
    district: str
    status: str
    status_label: str
    fire_unit: str
    topics: list[str]
    topic_labels: list[str]
    content: str
    requested_date: dt.date
    start_time: dt.time
    end_time: dt.time | None
    place: str
    expected_attendance: int
    contact_name: str
    contact_phone: str
    proposed_date: dt.date | None
    scheduled_date: dt.date | None
    instructors: list[str]
    reply: str | None
    held_on: dt.date | None
    attendance: int | None
    event_notes: str | None
    created_at: dt.datetime
    version: int


class DisasterRequestDetail(DisasterRequestPublic):
    history: list[Event]
    moves: list[Move]


class DisasterRequestPage(Page):
    items: list[DisasterRequestPublic]


# --------------------------------------------------------------------------- 社會局
class ReferralCreate(_In):
    kind: str = Field(
        description="domestic_violence（疑似家庭暴力）或 child_protection（疑似兒少保護）"
    )
    community_id: int | None = None
    subject_name: str = Field(max_length=64, description="當事人姓名或稱呼")
    subject_age: str | None = Field(None, max_length=32)
    subject_address: str = Field(max_length=256)
    contact_phone: str | None = Field(None, max_length=32)
    observed_on: dt.date | None = None
    description: str = Field(max_length=5000)
    immediate_danger: bool = False
    reporter_name: str | None = Field(None, max_length=64)


class CareVisitCreate(_In):
    community_id: int | None = None
    family_name: str = Field(max_length=64)
    address: str = Field(max_length=256)
    visited_on: dt.date
    visitors: str = Field(max_length=128)
    situation: str = Field(max_length=5000)
    resources_offered: str | None = Field(None, max_length=5000)
    needs_follow_up: bool = False


class Receive(_In):
    case_ref: str | None = Field(None, max_length=64, description="社會局案號")


class _ProtectionCommon(BaseModel):
    id: int
    status: str
    status_label: str
    community_id: int | None
    community: str | None
    district: str | None
    filed_by_name: str | None
    created_at: dt.datetime
    version: int
    # Social affairs only:
    filer_role: str | None = None
    received_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    moves: list[Move] | None = None


class ReferralPublic(_ProtectionCommon):
    kind: str
    kind_label: str
    subject_name: str
    subject_age: str | None
    subject_address: str
    contact_phone: str | None
    observed_on: dt.date | None
    description: str
    immediate_danger: bool
    reporter_name: str | None
    case_ref: str | None = None


class CareVisitPublic(_ProtectionCommon):
    family_name: str
    address: str
    visited_on: dt.date
    visitors: str
    situation: str
    resources_offered: str
    needs_follow_up: bool


class ReferralPage(Page):
    items: list[ReferralPublic]


class CareVisitPage(Page):
    items: list[CareVisitPublic]


class AccessLogEntry(BaseModel):
    at: dt.datetime
    actor: str | None
    actor_role: str | None
    action: str
    entity: str
    record_id: int | None


# --------------------------------------------------------------------------- 犯罪預防宣導
class PromotionCreate(_In):
    community_id: int
    topic: str = Field(description="anti_fraud、anti_drug、anti_burglary、women_children、other")
    occasion: str = Field(description="meeting、training、lecture、activity")
    held_on: dt.date
    title: str = Field(max_length=128)
    audience: str = Field(max_length=128)
    attendance: int = Field(0, ge=0)
    speaker_unit: str = Field(max_length=64, description="宣導單位（警察機關）")
    speaker_name: str | None = Field(None, max_length=64)
    meeting_id: int | None = None
    notes: str | None = Field(None, max_length=2000)


class PromotionUpdate(_In):
    topic: str | None = None
    occasion: str | None = None
    held_on: dt.date | None = None
    title: str | None = Field(None, max_length=128)
    audience: str | None = Field(None, max_length=128)
    attendance: int | None = Field(None, ge=0)
    speaker_unit: str | None = Field(None, max_length=64)
    speaker_name: str | None = Field(None, max_length=64)
    meeting_id: int | None = None
    notes: str | None = Field(None, max_length=2000)


class PromotionPublic(BaseModel):
    id: int
    community_id: int
    community: str
    district: str
    precinct: str | None
    topic: str
    topic_label: str
    occasion: str
    occasion_label: str
    held_on: dt.date
    title: str
    audience: str
    attendance: int
    speaker_unit: str
    speaker_name: str | None
    meeting_id: int | None
    notes: str
    version: int


class PromotionPage(Page):
    items: list[PromotionPublic]


# --------------------------------------------------------------------------- 「e話」
class BulletinCreate(_In):
    scope: str = Field(description="community 或 district")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")
    community_id: int | None = None
    district_id: int | None = None


class BulletinUpdate(_In):
    title: str | None = Field(None, max_length=128)
    texts: dict[str, str] | None = Field(
        None, description="intro、notes、anti_fraud_tips、closing 之一或多項"
    )


class BulletinSummary(BaseModel):
    id: int
    scope: str
    scope_label: str
    community_id: int | None
    community: str | None
    district_id: int | None
    district: str | None
    month: dt.date
    title: str
    status: str
    status_label: str
    generated_at: dt.datetime
    published_at: dt.datetime | None
    version: int


class BulletinPublic(BulletinSummary):
    facts: dict[str, Any]
    texts: dict[str, str]
    editable: bool = False


class BulletinPage(Page):
    items: list[BulletinSummary]


# --------------------------------------------------------------------------- 守望相助隊
class EquipmentItem(_In):
    item: str = Field(max_length=64)
    quantity: int = Field(1, ge=0)


class WatchTeamCreate(_In):
    community_id: int
    name: str = Field(max_length=128)
    founded_on: dt.date | None = None
    leader_name: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=32)
    base_address: str | None = Field(None, max_length=256)
    equipment: list[EquipmentItem] = []
    notes: str | None = Field(None, max_length=2000)


class WatchTeamUpdate(_In):
    name: str | None = Field(None, max_length=128)
    founded_on: dt.date | None = None
    leader_name: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=32)
    base_address: str | None = Field(None, max_length=256)
    equipment: list[EquipmentItem] | None = None
    notes: str | None = Field(None, max_length=2000)
    active: bool | None = None


class MemberCreate(_In):
    name: str = Name
    phone: str | None = Field(None, max_length=32)
    position: str | None = Field(None, max_length=32, description="隊長、副隊長、隊員")
    joined_on: dt.date | None = None
    protection_trained: bool = False
    disaster_trained: bool = False


class MemberUpdate(_In):
    name: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=32)
    position: str | None = Field(None, max_length=32)
    joined_on: dt.date | None = None
    protection_trained: bool | None = None
    disaster_trained: bool | None = None
    active: bool | None = None


class MemberPublic(BaseModel):
    id: int
    name: str
    phone: str | None
    position: str
    joined_on: dt.date | None
    protection_trained: bool
    disaster_trained: bool
    active: bool


class ShiftCreate(_In):
    weekdays: list[int] = Field(description="1（週一）到 7（週日）")
    start_time: dt.time
    end_time: dt.time
    route_id: int | None = None
    min_members: int = Field(2, ge=1)
    note: str | None = Field(None, max_length=500)


class ShiftPublic(BaseModel):
    id: int
    weekdays: list[int]
    start_time: dt.time
    end_time: dt.time
    route_id: int | None
    route: str | None
    min_members: int
    note: str | None


class ObservationCreate(_In):
    description: str = Field(max_length=2000)
    category: str | None = Field(None, description="問題類別代碼（同安全檢測地圖）")
    severity: int = Field(3, ge=1, le=5)
    location: Point | None = None


class PatrolLogCreate(_In):
    route_id: int | None = None
    started_at: dt.datetime
    ended_at: dt.datetime
    members_present: int = Field(ge=1)
    member_names: str | None = Field(None, max_length=1000)
    track: LineString | MultiLineString | None = Field(
        None, description="實際巡守路徑（EPSG:4326）"
    )
    notes: str | None = Field(None, max_length=5000)
    observations: list[ObservationCreate] = []


class ObservationPublic(BaseModel):
    id: int
    description: str
    category: str | None
    severity: int
    location: PointOut | None
    hazard_id: int | None


class PatrolLogPublic(BaseModel):
    id: int
    team_id: int
    team: str
    community_id: int
    route_id: int | None
    route: str | None
    started_at: dt.datetime
    ended_at: dt.datetime
    hours: float
    members_present: int
    member_names: str | None
    track: dict[str, Any] | None
    notes: str
    observations: list[ObservationPublic] | None = None


class ObservationToHazard(_In):
    category: str | None = None
    severity: int | None = Field(None, ge=1, le=5)
    title: str | None = Field(None, max_length=128)
    geometry: Point | None = Field(None, description="發現事項沒有位置時必填（EPSG:4326）")


class WatchTeamPublic(BaseModel):
    id: int
    community_id: int
    community: str
    district: str
    name: str
    founded_on: dt.date | None
    leader_name: str | None
    phone: str | None
    base_address: str | None
    equipment: list[dict[str, Any]]
    notes: str
    active: bool
    members: int
    protection_trained: int
    disaster_trained: int
    shifts: int
    patrols: int
    patrol_hours: float
    last_patrol_at: dt.datetime | None
    observations: int
    hazards_reported: int
    version: int


class WatchTeamDetail(WatchTeamPublic):
    member_list: list[MemberPublic]
    shift_list: list[ShiftPublic]
    recent_patrols: list[PatrolLogPublic]
