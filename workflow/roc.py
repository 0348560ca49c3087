"""ROC (民國) dates and money as the city's forms write them."""

from __future__ import annotations

import datetime as dt

ROC_OFFSET = 1911


def roc_year(year: int) -> int:
    return year - ROC_OFFSET


def roc_date(value: dt.date | dt.datetime | None) -> str:
    """``民國 115 年 3 月 2 日``; empty for None."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    return f"民國 {value.year - ROC_OFFSET} 年 {value.month} 月 {value.day} 日"


def roc_month(value: dt.date | None) -> str:
    """``115 年 3 月``; empty for None."""
    if value is None:
        return ""
    return f"{value.year - ROC_OFFSET} 年 {value.month} 月"


def ntd(amount: int | None) -> str:
    """``新臺幣 12,000 元``; empty for None."""
    return "" if amount is None else f"{amount:,}"


def month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def month_end(value: dt.date) -> dt.date:
    nxt = (value.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def add_months(value: dt.date, n: int) -> dt.date:
    y, m = divmod(value.month - 1 + n, 12)
    return dt.date(value.year + y, m + 1, 1)
