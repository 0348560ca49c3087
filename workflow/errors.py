"""Errors of the yearly workflow beyond ``workflow.states``: each names its condition, with a
stable code and a zh-TW message; ``api/errors.py`` maps them to HTTP statuses."""

from __future__ import annotations

from geo.errors import InvalidInput, SafemapError


class WorkflowConflict(SafemapError):
    """The record is not in a state that allows this (HTTP 409)."""

    code = "workflow_conflict"
    message = "資料目前的狀態不能執行這個動作。"


class DuplicateApplication(WorkflowConflict):
    code = "application_duplicate"
    message = "此社區本年度已提出申請（每社區每年補助 1 次）。"


class ApplicationWindowClosed(WorkflowConflict):
    code = "application_window_closed"
    message = "目前不在本年度的申請期間內。"


class NotEditable(WorkflowConflict):
    code = "not_editable"
    message = "此資料目前的狀態不能修改。"


class QuotaBelowApproved(WorkflowConflict):
    code = "quota_below_approved"
    message = "名額不能少於已核定補助的社區數。"


class YearExists(WorkflowConflict):
    code = "program_year_exists"
    message = "此計畫年度已經開辦。"


class EvaluationFinalised(WorkflowConflict):
    code = "evaluation_finalised"
    message = "本年度評鑑結果已公布，不能再修改推薦或評分。"


class NotSubsidised(WorkflowConflict):
    code = "not_subsidised"
    message = "此申請案未獲核定補助，不能辦理此項作業。"


class VersionMismatch(WorkflowConflict):
    code = "version_mismatch"
    message = "資料已被其他人修改，請重新讀取後再試。"


class IncompleteSubmission(InvalidInput):
    """Required parts are missing; ``context["missing"]`` names them (HTTP 422)."""

    code = "submission_incomplete"
    message = "資料尚未填寫完整。"
