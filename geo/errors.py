"""Errors raised by the spatial domain.

Every error carries a stable ``code`` (for clients and tests), a zh-TW ``message`` that is
safe to show a user, and an optional English ``detail`` for logs. The API maps classes to
HTTP statuses in one table (``api/errors.py``); the CLI prints the message and exits non-zero.
"""

from __future__ import annotations


class SafemapError(Exception):
    """Base of every domain error in the project."""

    code = "error"
    message = "發生錯誤。"

    def __init__(self, message: str | None = None, *, detail: str | None = None, **context):
        self.message = message or type(self).message
        self.detail = detail
        self.context = context
        super().__init__(detail or self.message)


class DatabaseUnavailable(SafemapError):
    code = "database_unavailable"
    message = "無法連線到資料庫。"


class NotFound(SafemapError):
    code = "not_found"
    message = "找不到資料，或您沒有權限查看。"


class PermissionDenied(SafemapError):
    code = "permission_denied"
    message = "您沒有權限執行此操作。"


class NotAuthenticated(PermissionDenied):
    code = "not_authenticated"
    message = "請先登入。"


class InvalidInput(SafemapError):
    code = "invalid_input"
    message = "輸入資料有誤。"


class ImportFileError(InvalidInput):
    """A file offered for import cannot be read or does not hold what it should."""

    code = "import_file_invalid"
    message = "匯入檔案無法讀取。"


class ImportEmpty(ImportFileError):
    code = "import_empty"
    message = "匯入檔案中沒有可匯入的資料。"


class ImportMissingColumns(ImportFileError):
    code = "import_missing_columns"
    message = "匯入檔案缺少必要欄位。"


class UnknownCRS(ImportFileError):
    code = "import_unknown_crs"
    message = "無法判斷匯入檔案的座標系統。"


class GeometryOutOfBounds(InvalidInput):
    code = "geometry_out_of_bounds"
    message = "圖形座標超出新北市範圍。"


class InvalidGeometry(InvalidInput):
    code = "geometry_invalid"
    message = "圖形無效。"
