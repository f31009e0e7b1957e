"""Pure cell parsers: one dirty spreadsheet cell in, one stored value (or None) out.

Every parser checks the cheap common shape first (a plain ISO time, a plain number) and only then
falls back to the general rules, because they run once per cell on files of millions of rows.
A parser returns None for garbage; the loader counts that cell as NULLed, it never rejects the row.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from privdom.bounds import FIRST_YEAR, LAST_YEAR, MAX_COUNT, MAX_FEN, MAX_NUMBER_TEXT, year_in_range

# ---------------------------------------------------------------- phones

PHONE_OK = "ok"
PHONE_MASKED = "masked"
PHONE_SCIENTIFIC = "scientific"
PHONE_INVALID = "invalid"

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_JUNK = re.compile(r"[\s\-()（）]")
_MASKED = re.compile(r"^1\d{0,3}[*＊xX]{3,8}\d{2,4}$")
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?[eE][+]?\d+$")


def parse_phone(cell: str) -> tuple[str | None, str]:
    """-> (value, status). `ok`: the normalised 11 digits; `masked`: the masked text, display only;
    `scientific`: Excel's 1.38E+10, whose digits are gone; `invalid`: anything else."""
    if len(cell) == 11 and cell.isdigit() and _PHONE.match(cell):
        return cell, PHONE_OK
    text = _PHONE_JUNK.sub("", cell).lstrip("'")
    for prefix in ("+86", "0086", "86"):
        if text.startswith(prefix) and len(text) == 11 + len(prefix):
            text = text[len(prefix) :]
            break
    if _PHONE.match(text):
        return text, PHONE_OK
    if _MASKED.match(text):
        return text.replace("＊", "*"), PHONE_MASKED
    if _SCIENTIFIC.match(text):
        return None, PHONE_SCIENTIFIC
    return None, PHONE_INVALID


# ---------------------------------------------------------------- dates and times

_GENERAL = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?"
    r"(?:[\sT]+(\d{1,2})\s*[:：时点]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2})(?:\.\d+)?\s*秒?)?\s*分?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:[\sT]?(\d{2})(\d{2})(\d{2})?)?$")
_SERIAL = re.compile(r"^\d{1,5}(?:\.\d+)?$")
_EXCEL_EPOCH = datetime(1899, 12, 30)


def parse_datetime(cell: str, tz: ZoneInfo) -> str | None:
    """A time cell -> local `YYYY-MM-DD HH:MM:SS` in `tz`, or None when it is not a real time.

    Aware times (`Z`, `+08:00`, Unix epochs) are converted to `tz`; naive ones are taken as local.
    """
    # Fast path: already the storage shape. Every separator is checked: fromisoformat also takes
    # `2024-03-05 14+09:00` and `2024-W10-2 14:22:00` at that length, which are not stored as given.
    if is_storage_shape(cell):
        try:
            datetime.fromisoformat(cell)
        except ValueError:
            return None
        return cell if in_years(cell) else None
    moment = _to_datetime(cell)
    if moment is None:
        return None
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(tz).replace(tzinfo=None)
        except OverflowError:  # 0001-01-01T00:00+08:00 has no UTC time
            return None
    if not year_in_range(moment.year):
        return None
    return moment.isoformat(sep=" ", timespec="seconds")


def in_years(stored: str) -> bool:
    """A stored date or time (its first 4 characters are the year) falls in 1900-2200: the year 9999
    or 0001 is a placeholder, never a real day, and overflows date arithmetic downstream. The record
    function of `rowcode.moment` tests the same, written out."""
    return _FIRST_YEAR <= stored[:4] <= _LAST_YEAR


_FIRST_YEAR, _LAST_YEAR = str(FIRST_YEAR), str(LAST_YEAR)


def is_storage_shape(cell: str) -> bool:
    """`YYYY-MM-DD HH:MM:SS` by its separators (fromisoformat checks the digits); the record
    function of `rowcode.moment` tests the same, written out."""
    return (len(cell) == 19 and cell[4] == "-" and cell[7] == "-" and cell[10] == " "
            and cell[13] == ":" and cell[16] == ":")


def parse_date(cell: str, tz: ZoneInfo) -> str | None:
    """A date cell -> `YYYY-MM-DD`; a time of day is dropped (after conversion to `tz`)."""
    if len(cell) == 10 and cell[4] == "-" and cell[7] == "-":
        try:
            date.fromisoformat(cell)
        except ValueError:
            return None
        return cell if in_years(cell) else None
    full = parse_datetime(cell, tz)
    return full[:10] if full else None


def _to_datetime(cell: str) -> datetime | None:
    text = cell.strip()
    if not text or text.startswith("#"):
        return None
    try:
        if text[:4].isdigit() and len(text) >= 10 and text[4] == "-":
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    match = _GENERAL.match(text)
    if match:
        y, mo, d, h, mi, s, zone = match.groups()
        return _build(y, mo, d, h, mi, s, zone)
    if text.isdigit() and len(text) in (10, 13):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    match = _COMPACT.match(text)
    if match:
        y, mo, d, h, mi, s = match.groups()
        return _build(y, mo, d, h, mi, s, None)
    if _SERIAL.match(text):
        serial = float(text)
        if 1 <= serial < 2958466:
            return (_EXCEL_EPOCH + timedelta(days=serial)).replace(microsecond=0)
    return None


def _build(
    y: str, mo: str, d: str, h: str | None, mi: str | None, s: str | None, zone: str | None
) -> datetime | None:
    try:
        moment = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0))
    except ValueError:
        return None  # 0000-00-00, 2023-02-30, 25:61 ...
    if zone:
        stamp = moment.isoformat() + ("+00:00" if zone == "Z" else zone)
        try:
            return datetime.fromisoformat(stamp)
        except ValueError:
            return None
    return moment


_MONTH_DAY = re.compile(r"^(?:--)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
# Years some systems write when they do not know the year.
_UNKNOWN_YEARS = ("0000", "1900", "1904")


def parse_birthday(cell: str, tz: ZoneInfo) -> tuple[str | None, str | None]:
    """-> (birthday `YYYY-MM-DD` or None, month-day `MM-DD` or None).

    A month-day without a year (`05-12`, `5月12日`) keeps only the month-day, so birthday perks work.
    """
    text = cell.strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-" and not text.startswith(_UNKNOWN_YEARS):
        full = parse_date(text, tz)
        return (full, full[5:]) if full else (None, None)
    match = _MONTH_DAY.match(text)
    if match:
        return None, _month_day(int(match.group(1)), int(match.group(2)))
    for year in _UNKNOWN_YEARS:
        if text.startswith(year) and len(text) > 5:
            rest = _MONTH_DAY.match(text[5:].lstrip("-/.年"))
            if rest:
                return None, _month_day(int(rest.group(1)), int(rest.group(2)))
    full = parse_date(text, tz)
    if full is None:
        return None, None
    return full, full[5:]


def _month_day(month: int, day: int) -> str | None:
    try:
        date(2000, month, day)  # a leap year, so 02-29 is a valid birthday
    except ValueError:
        return None
    return f"{month:02d}-{day:02d}"


# ---------------------------------------------------------------- numbers

_MONEY_JUNK = re.compile(r"[¥￥元,，\s]|RMB|CNY", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$")
_FEN = Decimal(1)


def parse_money(cell: str) -> int | None:
    """`¥1,234.50`, `1234.5元`, `-12` -> integer fen. Never through a float.

    An amount that does not fit SQLite's 64-bit integer in fen is garbage (None), not an overflow.
    """
    if cell.isdigit() and cell.isascii() and len(cell) <= 16:  # 16 digits of yuan always fit
        return int(cell) * 100
    whole, dot, cents = cell.partition(".")
    if dot and whole.isdigit() and cents.isdigit() and len(cents) <= 2 and cell.isascii() and len(whole) <= 16:
        return int(whole) * 100 + int(cents.ljust(2, "0"))
    if len(cell) > MAX_NUMBER_TEXT:
        return None
    text = _MONEY_JUNK.sub("", cell)
    if not _NUMBER.match(text):
        return None
    try:
        fen = int((Decimal(text) * 100).quantize(_FEN, rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return None
    return fen if -MAX_FEN <= fen <= MAX_FEN else None


_INT_JUNK = re.compile(r"[,，\s]")


def parse_int(cell: str) -> int | None:
    """`1,234`, `1 234`, `12.0` -> int; `12.5`, text and counts beyond 10^12 -> None."""
    if cell.isdigit() and cell.isascii() and len(cell) <= 12:
        return int(cell)
    if len(cell) > MAX_NUMBER_TEXT:
        return None
    text = _INT_JUNK.sub("", cell)
    if not _NUMBER.match(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if value != value.to_integral_value() or abs(value) > MAX_COUNT:
        return None
    return int(value)


# ---------------------------------------------------------------- words

_MALE = {"男", "m", "male", "1", "先生", "男性"}
_FEMALE = {"女", "f", "female", "2", "女士", "女性"}
UNKNOWN_WORDS = {"未知", "0", "unknown", "保密", "-", "无", "null", "none", "n/a"}


def parse_gender(cell: str) -> str | None:
    """-> 'male' | 'female' | None. Words meaning 'unknown' are a known blank, not garbage."""
    text = cell.strip().lower()
    if text in _MALE:
        return "male"
    if text in _FEMALE:
        return "female"
    return None


_TAG_SPLIT = re.compile(r"[,，、|;；\n]")


def parse_tags(cell: str) -> list[str]:
    """`VIP，宝妈、茶友|VIP` -> ['VIP', '宝妈', '茶友'] (order kept, duplicates dropped)."""
    seen: dict[str, None] = {}
    for part in _TAG_SPLIT.split(cell):
        tag = part.strip()
        if tag:
            seen[tag] = None
    return list(seen)


_GROUP_TYPES = {
    "welfare": "welfare",
    "福利群": "welfare",
    "福利": "welfare",
    "service": "service",
    "服务群": "service",
    "服务": "service",
    "interest": "interest",
    "兴趣群": "interest",
    "兴趣": "interest",
}


def parse_group_type(cell: str) -> str | None:
    return _GROUP_TYPES.get(cell.strip().lower())


_NOT_COUNTED = (
    "退款", "取消", "关闭", "已关闭", "refund", "cancel", "closed", "void", "作废",
    # never paid: Youzan's 等待买家付款, Weimob's 待支付, POS 未结账
    "待付款", "未付款", "等待买家付款", "待支付", "未支付", "未结账", "unpaid",
    # goods sent back or refused at the door
    "退货", "拒收", "returned",
)
# A partly refunded order still happened: it counts, at its amount less the refund when the export
# has a refund amount (Youzan's 部分退款 / 部分退款成功).
_PARTLY = ("部分退款", "部分退", "partial")
# Refund-status words that mean "nothing was refunded" (Youzan's 退款状态 column).
_NO_REFUND = (
    "无退款", "未退款", "无售后", "没有退款", "no refund", "none",
    # a refund or return asked for and then refused, withdrawn or closed (Youzan's 退款关闭): the
    # order stands in full
    "退款关闭", "退款失败", "拒绝退款", "退款已拒绝", "撤销退款", "取消退款", "退款撤销", "退款已撤销",
    "售后关闭", "售后已关闭", "售后撤销", "退货关闭", "拒绝退货", "退货失败",
)


def order_counted(status: str) -> int:
    """0 for refunded / cancelled / closed orders: stored, never counted. 1 otherwise, a partly
    refunded order included."""
    text = status.lower()
    if any(word in text for word in _PARTLY) or any(word in text for word in _NO_REFUND):
        return 1
    return 0 if any(word in text for word in _NOT_COUNTED) else 1


# ---------------------------------------------------------------- identities

# What a spreadsheet leaves in an id cell that held no id: Excel's error values (a VLOOKUP that
# found nothing is #N/A), and the words and dashes people type for "none".
_EXCEL_ERRORS = re.compile(r"^#(N/A|REF!|VALUE!|DIV/0!|NAME\?|NULL!|NUM!|SPILL!|CALC!|GETTING_DATA|N/A!?)$", re.I)
_PLACEHOLDERS = frozenset(
    {"n/a", "na", "null", "none", "nil", "nan", "-", "--", "---", "—", "——", "/", "无", "空", "暂无", "未知", "0"}
)
# WeCom's external_userid: `wm` (a WeChat user) or `wo` (a WeCom user of another company), then
# letters, digits, `-` and `_`; 32 characters in the API's documented examples.
_WECOM_ID = re.compile(r"^w[mo][0-9A-Za-z_-]{6,62}$")
# Every placeholder but Excel's errors (which start with `#`) is at most this long: a longer cell
# that does not start with `#` is an identity, unless it must have the WeCom shape. rows.py runs
# this test inline before calling `id_problem`, which would cost a call for every record.
PLACEHOLDER_MAX = 4


def id_problem(cell: str, *, wecom: bool = False) -> str | None:
    """None for an identity that can key a record (`cell` stripped and not empty); else the
    reject reason `invalid_id`: a placeholder, an Excel error, or a WeCom id of the wrong shape."""
    if len(cell) > PLACEHOLDER_MAX and cell[0] != "#":
        return "invalid_id" if wecom and not _WECOM_ID.match(cell) else None
    if cell.startswith("#") and _EXCEL_ERRORS.match(cell):
        return "invalid_id"
    if cell.lower() in _PLACEHOLDERS or set(cell) <= {"-", "—", "*", "?", "#", "/", "."}:
        return "invalid_id"
    if wecom and not _WECOM_ID.match(cell):
        return "invalid_id"
    return None
