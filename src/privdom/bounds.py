"""The ranges every number and date from the user must fall in, checked where the value enters.

A value outside them is never a real member's, order's or rule's: a 20-digit amount, the year 9999,
an offset of a million days. Left in, they overflow SQLite's 64-bit integers or Python's dates far
from where they came in. So a cell outside them is NULL and counted, an option or a playbook key
outside them is an error naming it. Below `ingest`, `playbook` and `cli`; imports nothing of privdom.
"""

from __future__ import annotations

from datetime import date

FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2200, 12, 31)
FIRST_YEAR = FIRST_DATE.year
LAST_YEAR = LAST_DATE.year
DATE_RANGE = f"{FIRST_DATE.isoformat()}..{LAST_DATE.isoformat()}"

# SQLite's INTEGER is 64-bit; money is stored in fen.
MAX_FEN = 2**63 - 1
# Counts, points, growth and thresholds: far above any real member, far below 64 bits, so sums of a
# million of them still fit.
MAX_COUNT = 10**12

# Offsets, windows and validity periods: under 10 years, so a date plus one stays a date.
MAX_DAYS = 3650

# Cells longer than this are not numbers (and `int()` refuses strings of over 4,300 digits).
MAX_NUMBER_TEXT = 40


def date_in_range(day: date) -> bool:
    return FIRST_DATE <= day <= LAST_DATE


def year_in_range(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR
