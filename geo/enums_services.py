"""Vocabularies of the plan's other services (migration 0007, branch "services"): anti-theft
consultations (防竊達人), disaster-prevention promotion requests (消防局), women-and-children
protection referrals and care visits (社會局), crime-prevention promotion events, the
「e話」 bulletins and watch teams. Each carries its zh-TW label, defined once here.
"""

from __future__ import annotations

from .enums import LabelledEnum


# --------------------------------------------------------------------------- 防竊達人
class ConsultationReason(LabelledEnum):
    """Plan 陸、一、(六): 「社區住戶（一般住戶及失竊住戶）」 may ask for a consultant."""

    general = ("general", "一般住戶")
    burgled = ("burgled", "失竊住戶")


class ConsultationStatus(LabelledEnum):
    requested = ("requested", "已申請")
    assigned = ("assigned", "已指派防竊顧問")
    visited = ("visited", "已實地勘查")
    closed = ("closed", "已結案")
    cancelled = ("cancelled", "已取消")


class ChecklistItem(LabelledEnum):
    """What an anti-theft consultant inspects (「檢測被害環境，強化空間設計」)."""

    doors = ("doors", "門（大門、後門、鐵捲門）")
    windows = ("windows", "窗戶與鐵窗")
    locks = ("locks", "鎖具")
    lighting = ("lighting", "照明")
    sightlines = ("sightlines", "視線與遮蔽（死角）")
    alarms = ("alarms", "警報與監視設備")


class ChecklistRating(LabelledEnum):
    good = ("good", "良好")
    fair = ("fair", "尚可，建議加強")
    poor = ("poor", "不良，應改善")
    absent = ("absent", "未設置")
    not_applicable = ("na", "不適用")


# --------------------------------------------------------------------------- 消防局
class DisasterTopic(LabelledEnum):
    """Plan 陸、二、(一)(二): fire, earthquake, typhoon; first aid such as bleeding control and CPR;
    home and public-place fire-safety checks."""

    fire = ("fire", "火災")
    earthquake = ("earthquake", "地震")
    typhoon = ("typhoon", "颱風")
    first_aid_cpr = ("first_aid_cpr", "急救技能（心肺復甦術）")
    bleeding_control = ("bleeding_control", "外傷止血")
    home_safety = ("home_safety", "居家及公共場所防火安全檢視")


class DisasterRequestStatus(LabelledEnum):
    submitted = ("submitted", "已提出申請")
    rescheduled = ("rescheduled", "消防局建議改期")
    accepted = ("accepted", "已核派教官")
    declined = ("declined", "不予受理")
    held = ("held", "已辦理")
    withdrawn = ("withdrawn", "申請撤回")


# --------------------------------------------------------------------------- 社會局
class ProtectionKind(LabelledEnum):
    """Plan 陸、三、(三): 「疑似家庭暴力或兒少保護事件之通報」."""

    domestic_violence = ("domestic_violence", "疑似家庭暴力")
    child_protection = ("child_protection", "疑似兒童及少年保護事件")


class ProtectionStatus(LabelledEnum):
    submitted = ("submitted", "已通報，待社會局受理")
    received = ("received", "社會局已受理")
    closed = ("closed", "已結案")


# --------------------------------------------------------------------------- 犯罪預防宣導
class PromotionTopic(LabelledEnum):
    """Plan 陸、一、(七) 「防盜、防詐騙、反毒」 and 陸、三、(二) 婦幼安全宣導."""

    anti_fraud = ("anti_fraud", "防詐騙")
    anti_drug = ("anti_drug", "反毒")
    anti_burglary = ("anti_burglary", "防竊盜")
    women_children = ("women_children", "婦幼安全")
    other = ("other", "其他犯罪預防")


class PromotionOccasion(LabelledEnum):
    """Plan 陸、一、(七): 「社區治安會議（座談會）、相關訓練、講習、活動」."""

    meeting = ("meeting", "社區治安會議（座談會）")
    training = ("training", "訓練")
    lecture = ("lecture", "講習")
    activity = ("activity", "活動")


# --------------------------------------------------------------------------- 「e話」
class BulletinScope(LabelledEnum):
    community = ("community", "社區")
    district = ("district", "行政區")


class BulletinStatus(LabelledEnum):
    draft = ("draft", "草稿")
    published = ("published", "已發布")
