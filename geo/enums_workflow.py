"""Vocabularies of the yearly workflow (application form, monitoring, claims, rosters), each
with its zh-TW label defined once, as ``geo.enums`` does for the spatial domain."""

from __future__ import annotations

from .enums import LabelledEnum


class WorkItem(LabelledEnum):
    """The ten community tasks of plan 伍、四 (一)–(十), in the plan's order."""

    resident_engagement = ("resident_engagement", "引導居民參與社區治安營造")
    meetings = ("meetings", "召開社區治安會議")
    safety_map = ("safety_map", "繪製社區治安地圖")
    working_group = ("working_group", "成立社區治安工作小組")
    watch_team = ("watch_team", "成立社區守望相助隊")
    cctv = ("cctv", "規劃設置錄影監視系統")
    block_adoption = ("block_adoption", "規劃社區治安區塊認養")
    newsletter = ("newsletter", "發行社區治安簡訊或相關報導")
    reporting_promotion = ("reporting_promotion", "宣導多元社區治安通報系統與各類犯罪預防資訊")
    consultation = ("consultation", "建置、更新社區安全諮詢服務系統")


class Progress(LabelledEnum):
    """How far a work item is in a monthly report (管考, plan 柒)."""

    not_started = ("not_started", "尚未辦理")
    in_progress = ("in_progress", "辦理中")
    done = ("done", "已完成")


class ClaimStatus(LabelledEnum):
    """States of an expense claim (經費核銷): the community files, the precinct checks and
    forwards (核轉, plan 伍、三、(二)), the city closes."""

    draft = ("draft", "草稿")
    submitted = ("submitted", "已送分局")
    returned = ("returned", "退回補正")
    checked = ("checked", "分局核轉")
    closed = ("closed", "核銷結案")


class ClawbackStatus(LabelledEnum):
    demanded = ("demanded", "追繳中")
    repaid = ("repaid", "已繳回")


class MapItemKind(LabelledEnum):
    """What a claimed expense put on the map."""

    camera = ("camera", "監視器")
    sign = ("sign", "告示牌")
    lighting = ("lighting", "照明設備")
    other = ("other", "其他設施")


class RosterKind(LabelledEnum):
    """The editable rosters of 附件3–7."""

    joint_team = ("joint_team", "社區治安聯合推動小組")
    counselling_team = ("counselling_team", "社區治安專業輔導團隊")
    consultant = ("consultant", "遴聘諮詢顧問")


class FilePurpose(LabelledEnum):
    evidence = ("evidence", "管考佐證")
    receipt = ("receipt", "支出憑證")
    attachment = ("attachment", "審查附件")
