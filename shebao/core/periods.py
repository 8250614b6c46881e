"""Months as periods (费款所属期 etc.), stored as ``yyyyMM`` integers.

``Period`` is a small immutable value: ``Period.parse("202408")``, ``int(p) == 202408``,
``str(p) == "202408"``, ``p.label == "2024年08月"``, ``p + 1``, ``p - q`` (months between), ordering
and hashing.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import overload

__all__ = ["Period"]

_MIN_YEAR = 1000
_MAX_YEAR = 9999
_PATTERNS = (
    re.compile(r"(\d{4})-?(\d{2})"),  # 202408, 2024-08 (HTML <input type="month">)
    re.compile(r"(\d{4})年(\d{1,2})月"),  # 2024年08月, 2024年8月
)


def _bad(value: object, reason: str) -> ValueError:
    return ValueError(f"无效的期间“{value}”：{reason}")


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A calendar month."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not _MIN_YEAR <= self.year <= _MAX_YEAR:
            raise _bad(f"{self.year}-{self.month}", "年份应为4位数")
        if not 1 <= self.month <= 12:
            raise _bad(f"{self.year}-{self.month}", "月份应在01–12之间")

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def parse(cls, value: str | int | Period) -> Period:
        """Parse ``202408``, ``"202408"``, ``"2024-08"`` or ``"2024年08月"``.

        Anything else (including ``None``, floats and booleans) raises ``ValueError``.
        """
        if isinstance(value, Period):
            return value
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise _bad(value, "应为yyyyMM格式的字符串或整数")
        text = unicodedata.normalize("NFKC", str(value)).strip()
        for pattern in _PATTERNS:
            match = pattern.fullmatch(text)
            if match:
                return cls._from_parts(value, int(match[1]), int(match[2]))
        raise _bad(value, "格式应为yyyyMM，例如202408")

    @classmethod
    def _from_parts(cls, original: object, year: int, month: int) -> Period:
        if not 1 <= month <= 12:
            raise _bad(original, "月份应在01–12之间")
        if year < _MIN_YEAR:
            raise _bad(original, "年份应为4位数")
        return cls(year, month)

    @classmethod
    def of(cls, day: date) -> Period:
        """The period containing ``day``."""
        return cls(day.year, day.month)

    @classmethod
    def range(cls, start: Period | str | int, end: Period | str | int) -> list[Period]:
        """All periods from ``start`` to ``end`` inclusive (empty if ``start`` > ``end``)."""
        first, last = cls.parse(start), cls.parse(end)
        return list(first._iter_to(last))

    def _iter_to(self, last: Period) -> Iterator[Period]:
        current = self
        while current <= last:
            yield current
            current = current.next()

    # -- conversions -------------------------------------------------------------------------

    def __int__(self) -> int:
        return self.year * 100 + self.month

    def __str__(self) -> str:
        return f"{self.year:04d}{self.month:02d}"

    @property
    def label(self) -> str:
        """Display label, e.g. ``2024年08月``."""
        return f"{self.year:04d}年{self.month:02d}月"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    # -- arithmetic --------------------------------------------------------------------------

    def _ordinal(self) -> int:
        return self.year * 12 + self.month - 1

    @classmethod
    def _from_ordinal(cls, ordinal: int) -> Period:
        year, month0 = divmod(ordinal, 12)
        return cls(year, month0 + 1)

    def next(self) -> Period:
        return self + 1

    def prev(self) -> Period:
        return self + -1

    def __add__(self, months: int) -> Period:
        if isinstance(months, bool) or not isinstance(months, int):
            return NotImplemented
        return self._from_ordinal(self._ordinal() + months)

    __radd__ = __add__

    @overload
    def __sub__(self, other: Period) -> int: ...

    @overload
    def __sub__(self, other: int) -> Period: ...

    def __sub__(self, other: Period | int) -> Period | int:
        """``p - n`` is the period n months earlier; ``p - q`` the number of months from q to p."""
        if isinstance(other, Period):
            return self._ordinal() - other._ordinal()
        if isinstance(other, bool) or not isinstance(other, int):
            return NotImplemented
        return self._from_ordinal(self._ordinal() - other)
