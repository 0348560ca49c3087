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


class AnalysisInputError(InvalidInput):
    """Input to a spatial analysis (hotspots, camera placement) that cannot be analysed."""

    code = "analysis_input_invalid"
    message = "分析的輸入資料有誤。"


class EmptyAnalysisInput(AnalysisInputError):
    code = "analysis_input_empty"
    message = "分析的輸入資料是空的。"


class MissingAttribute(AnalysisInputError):
    code = "analysis_missing_attribute"
    message = "輸入資料缺少必要的屬性欄位。"


class NotPointGeometry(AnalysisInputError):
    code = "analysis_not_point"
    message = "輸入資料必須是點圖徵。"


class InvalidParameter(AnalysisInputError):
    code = "analysis_invalid_parameter"
    message = "分析參數不正確。"


# --------------------------------------------------------------------------- geometry checks
# Raised by geo.validation and geo.layer_io; the subclasses of InvalidGeometry and
# GeometryOutOfBounds share their HTTP status and differ only in code and message.
class EmptyGeometry(InvalidGeometry):
    code = "geometry_empty"
    message = "圖形是空的，沒有任何座標。"


class NonFiniteCoordinates(InvalidGeometry):
    code = "geometry_not_finite"
    message = "座標含有無效的數值（NaN 或無限大）。"


class WrongGeometryType(InvalidGeometry):
    code = "geometry_wrong_type"
    message = "圖形類型不符合此圖層。"


class SwappedCoordinates(GeometryOutOfBounds):
    code = "geometry_swapped_coordinates"
    message = "座標的經度與緯度（或 X 與 Y）似乎填反了。"


class InputTooLarge(InvalidInput):
    """Over a size limit of ``geo.validation.Limits``; the API may answer 413 for it."""

    code = "input_too_large"
    message = "上傳的資料太大。"


class TooManyFeatures(InputTooLarge):
    code = "input_too_many_features"
    message = "圖徵數量超過上限。"


class TooManyVertices(InputTooLarge):
    code = "input_too_many_vertices"
    message = "圖形的頂點數量超過上限。"


class UnsupportedFormat(ImportFileError):
    code = "import_unsupported_format"
    message = "不支援的檔案格式。"


class InvalidValue(InvalidInput):
    """An attribute value of an imported row that cannot be used as it is."""

    code = "value_invalid"
    message = "欄位的值不正確。"


class MissingValue(InvalidValue):
    code = "value_missing"
    message = "必填欄位沒有值。"


class NotNumeric(InvalidValue):
    code = "value_not_numeric"
    message = "欄位的值必須是數字。"


class ValueOutOfRange(InvalidValue):
    code = "value_out_of_range"
    message = "欄位的值超出允許範圍。"


class UnmappedCategory(InvalidValue):
    code = "category_unmapped"
    message = "類別無法對應到系統的類別。"


class ImportRowsRejected(InvalidInput):
    """Some rows of an import cannot be placed; nothing was stored. ``context["problems"]``
    lists them (``geo.layer_io.RowProblem``)."""

    code = "import_rows_rejected"
    message = "部分資料無法匯入，整批資料都沒有儲存。"
