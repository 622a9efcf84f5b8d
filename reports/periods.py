"""Japan-time periods and their naive-UTC bounds.

Stored times are naive UTC (``qa_data.models.utcnow``); residents and staff think in Japan time,
so a month or a day always means Asia/Tokyo and is converted to UTC bounds ``[start, end)`` for
the queries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def jst_to_utc(moment: datetime) -> datetime:
    """A naive Japan-time datetime as naive UTC."""
    return moment.replace(tzinfo=JST).astimezone(UTC).replace(tzinfo=None)


def utc_to_jst(moment: datetime) -> datetime:
    """A naive UTC datetime (as stored) as naive Japan time."""
    return moment.replace(tzinfo=UTC).astimezone(JST).replace(tzinfo=None)


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC bounds ``[start, end)`` covering the Japan-time days ``first`` to ``last`` inclusive."""
    start = jst_to_utc(datetime.combine(first, time.min))
    end = jst_to_utc(datetime.combine(last + timedelta(days=1), time.min))
    return start, end


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match(text.strip())
        if not match:
            raise ValueError(f"月は YYYY-MM の形式で指定してください: {text!r}")
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12 or year < 2000:
            raise ValueError(f"存在しない月です: {text!r}")
        return cls(year, month)

    @classmethod
    def current(cls, now_utc: datetime | None = None) -> Month:
        now = utc_to_jst(now_utc or datetime.now(UTC).replace(tzinfo=None))
        return cls(now.year, now.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{self.year}年{self.month}月"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return self.next().first_day - timedelta(days=1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def bounds(self) -> tuple[datetime, datetime]:
        """Naive-UTC ``[start, end)`` of this Japan-time month."""
        return day_bounds(self.first_day, self.last_day)

    def trailing(self, count: int) -> list[Month]:
        """The ``count`` months ending with this one, oldest first."""
        months = [self]
        while len(months) < count:
            months.append(months[-1].previous())
        return list(reversed(months))
