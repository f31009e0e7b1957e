"""Generate the example brand 茶语 TeaTalk: members, orders, groups, group members and group activity.

The data imitates what a tea-drink chain really exports (GB18030 member file, UTF-8-with-BOM orders,
dirty cells) and is shaped so that the morning plan has something to do on every rule: newcomers,
first orders inside the 14-day window, birthdays, decline and churn, silver and gold buyers, KOCs,
silent and nearly full groups.

Everything is drawn from one seeded `random.Random`, so the same arguments always give the same bytes,
and rows are written as they are drawn, so memory stays flat at any member count.

    python examples/generate.py --members 2000 --out examples/brand [--seed 7] [--as-of 2026-11-22]

Standard library only: the benchmark and `privdom demo` both use it without extra dependencies.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

MEMBERS_HEADER = [
    "会员卡号", "客户名称", "昵称", "手机号", "性别", "生日", "注册时间", "来源渠道", "添加人", "所属门店",
    "城市", "标签", "积分", "会员等级", "成长值", "累计消费金额", "累计消费次数", "最后消费时间", "备注",
]
ORDERS_HEADER = "订单号,会员卡号,手机号,支付时间,实付金额,订单状态,门店,下单渠道,商品".split(",")
GROUPS_HEADER = ["群ID", "群名称", "群类型", "群主", "群人数", "群上限", "创建时间", "城市", "标签"]
GROUP_MEMBERS_HEADER = ["群ID", "会员卡号", "入群时间", "退群时间"]
ACTIVITY_HEADER = ["日期", "群ID", "会员卡号", "发言数", "图片数"]

# File name -> encoding. Member exports from Chinese POS systems are usually GB18030; order exports
# from web back-offices are UTF-8 with a BOM so that Excel opens them.
FILES = {
    "members": ("members.csv", "gb18030"),
    "orders": ("orders.csv", "utf-8-sig"),
    "groups": ("groups.csv", "utf-8"),
    "group_members": ("group_members.csv", "utf-8"),
    "activity": ("activity.csv", "utf-8"),
}

STORES = {
    "上海": ["南京西路店", "徐家汇店", "五角场店", "陆家嘴店"],
    "杭州": ["西湖店", "滨江店", "武林店"],
    "苏州": ["观前街店", "金鸡湖店"],
    "南京": ["新街口店", "夫子庙店"],
    "成都": ["春熙路店", "太古里店"],
    "宁波": ["天一广场店"],
}
CITY_WEIGHTS = {"上海": 34, "杭州": 22, "苏州": 14, "南京": 13, "成都": 12, "宁波": 5}
OWNERS = ["小茶", "阿青", "小满", "茉莉", "阿湘", "小柚"]
CHANNELS = "门店扫码 门店扫码 门店扫码 小程序 小程序 公众号 外卖包裹卡 直播间 老带新 企微活码".split()
ORDER_CHANNELS = ["门店", "门店", "门店", "小程序", "小程序", "美团外卖", "饿了么", "企微社群"]
# (name, price in fen)
MENU = [
    ("柠檬茶", 1500), ("茉莉奶绿", 1600), ("手打柠檬茶", 1750), ("桂花乌龙", 1800), ("生椰拿铁", 1900),
    ("烤奶", 1600), ("杨枝甘露", 2200), ("满杯红柚", 2000), ("芝士莓莓", 2600), ("多肉葡萄", 2800),
    ("芝芝芒芒", 2450), ("霸气橙子", 2100), ("抹茶麻薯", 2300), ("黑糖珍珠", 1700),
]
TAGS = ["学生党", "上班族", "宝妈", "爱喝果茶", "爱喝奶茶", "少糖", "去冰", "夜猫子", "外卖党", "拍照达人",
        "周末常客", "芝士控", "咖啡替代", "价格敏感", "新品尝鲜"]
GROUP_TAGS = {"福利群": ["秒杀", "会员日", "优惠券"], "服务群": ["团购", "企业订单", "VIP"],
              "兴趣群": ["果茶爱好者", "探店", "摄影", "读书"]}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程"
GIVEN = "伟芳娜敏静丽强磊洋艳勇军杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲晨欣怡梓涵子轩雨桐浩然思雨嘉琪一诺"
NICKS = ("奶茶续命 小鹿 Momo 阿喵 橙子 Lily 柠檬精 一只鱼 晴天 茶茶 糖糖 Kevin "
         "小太阳 芒果布丁 Cici 阿木 半糖主义 夏天 Sunny 木子 喵小姐 大白 Joy 阿狸").split()
EMOJI = ["🍵", "🌸", "🐱", "✨", "🍋", "🧋", "🌙"]
# Supplementary-plane and extension-A characters: GBK cannot hold them, GB18030 can.
RARE = ["𠮷", "𡈽", "䶮", "龘", "㵘", "堃", "燚"]
NOTES = ["不要吸管", "对芒果过敏", "喜欢少冰", "常点外卖，地址在公司", "投诉过一次配送慢，已补券",
         "企业团购联系人", "生日月送过券", "老顾客，认识店长", "想要会员日提醒", "只喝无糖"]
MULTILINE_NOTES = ["顾客反馈：\n希望出少糖版本", "门店备注：\n周末常来，带孩子"]

# Lifecycle profiles the generator draws from, with weights in percent.
PROFILES = [("prospect", 22), ("growth", 12), ("mature", 26), ("decline", 14), ("churned", 14),
            ("silver", 8), ("gold", 4)]
HISTORY_DAYS = 730


# Weighted draws as flat pools: one random() per draw instead of random.choices' bisect.
CITY_POOL = tuple(city for city, weight in CITY_WEIGHTS.items() for _ in range(weight))
ITEMS = (1,) * 6 + (2,) * 3 + (3,)
HEAVY_ITEMS = (1,) * 3 + (2,) * 4 + (3,) * 3
GENDERS = ("女",) * 62 + ("男",) * 30 + ("未知",) * 8


def _pick(rng: random.Random, seq: Sequence[T]) -> T:
    """rng.choice without its bit-exact rejection sampling: generation is mostly these calls."""
    return seq[int(rng.random() * len(seq))]


def _int(rng: random.Random, low: int, high: int) -> int:
    """rng.randint, faster (see _pick)."""
    return low + int(rng.random() * (high - low + 1))


class _Days:
    """Formatted date strings per day ordinal: about 760 distinct days, so a dict keeps generation fast."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[str, str, str, str]] = {}

    def get(self, ordinal: int) -> tuple[str, str, str, str]:
        hit = self._cache.get(ordinal)
        if hit is None:
            d = date.fromordinal(ordinal)
            hit = (d.isoformat(), f"{d.year}/{d.month}/{d.day}", f"{d.year}年{d.month}月{d.day}日",
                   f"{d.year:04d}{d.month:02d}{d.day:02d}")
            self._cache[ordinal] = hit
        return hit


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _order_second(rng: random.Random) -> int:
    """Tea is bought around lunch, the afternoon slump and the evening."""
    hour = _pick(rng, (10, 11, 12, 12, 13, 14, 15, 15, 16, 17, 18, 19, 19, 20, 21))
    return hour * 3600 + int(rng.random() * 3600)


def _token(rng: random.Random, n: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(_pick(rng, alphabet) for _ in range(n))


class _Group:
    __slots__ = ("gid", "kind", "city", "size", "created", "silent", "members")

    def __init__(self, gid: str, kind: str, city: str, size: int, created: int, silent: bool) -> None:
        self.gid, self.kind, self.city, self.size = gid, kind, city, size
        self.created, self.silent, self.members = created, silent, 0


def group_count(members: int) -> int:
    """About one group per 300 members, at least 40 so the small set has every kind, at most 4000."""
    return min(4000, max(40, members // 300))


def _write_groups(rng: random.Random, writer: Any, members: int, today: int, days: _Days) -> list[_Group]:
    groups: list[_Group] = []
    cities = list(CITY_WEIGHTS)
    weights = list(CITY_WEIGHTS.values())
    for g in range(group_count(members)):
        city = rng.choices(cities, weights)[0]
        kind = rng.choices(("福利群", "服务群", "兴趣群"), (50, 20, 30))[0]
        capacity = 500 if kind == "福利群" and rng.random() < 0.4 else 200
        if kind == "服务群":
            size = _int(rng, 8, 30)  # service groups stay small on purpose
        else:
            size = _int(rng, capacity // 4, int(capacity * 0.85))
        if g % 20 == 7:  # nearly full: the plan should suggest opening a sibling group
            kind, size = "福利群", _int(rng, int(capacity * 0.9) + 1, capacity)
        created = today - _int(rng, 30, HISTORY_DAYS - 10)
        if g % 20 == 12:  # brand-new groups: rules and welcome posts are due
            created = today - _int(rng, 0, 2)
        silent = g % 10 == 3 and g % 20 != 12
        store = _pick(rng, STORES[city])
        number = g // 7 + 1
        gid = "wr" + _token(rng, 16)
        name = f"茶语·{city}{store}{kind[:-1]}{number}群"
        tags = [city, _pick(rng, GROUP_TAGS[kind])]
        if kind == "福利群":
            tags.append(_pick(rng, ("消费299+", "消费800+", "消费3000+")))
        owner = _pick(rng, OWNERS)
        writer.writerow([gid, name, kind, owner, size, capacity,
                         f"{days.get(created)[0]} {_clock(rng.randrange(9 * 3600, 21 * 3600))}",
                         city, ",".join(tags)])
        groups.append(_Group(gid, kind, city, size, created, silent))
    return groups


def _phone(i: int, rng: random.Random) -> str:
    # The last nine digits are a bijection of the member number, so phones never collide.
    return f"1{_pick(rng, '3456789')}{int(rng.random() * 10)}{(i * 7919 + 12345) % 10**8:08d}"


def _order_days(rng: random.Random, profile: str, today: int, start: int) -> list[int]:
    """Order day ordinals, sorted, shaped by the lifecycle profile."""
    if profile == "prospect":
        return []
    if profile == "growth":
        first = today - (_int(rng, 0, 13) if rng.random() < 0.5 else _int(rng, 14, 60))
        return [first]
    if profile == "mature":
        n, last, span = _int(rng, 3, 8), today - _int(rng, 0, 60), _int(rng, 30, 650)
    elif profile == "decline":
        n, last, span = _int(rng, 2, 7), today - _int(rng, 61, 180), _int(rng, 20, 500)
    elif profile == "churned":
        n, last, span = _int(rng, 1, 6), today - _int(rng, 181, HISTORY_DAYS - 5), _int(rng, 0, 300)
    elif profile == "silver":
        n, last, span = _int(rng, 10, 16), today - _int(rng, 0, 90), _int(rng, 150, 600)
    else:  # gold
        n, last, span = _int(rng, 20, 32), today - _int(rng, 0, 45), _int(rng, 300, 680)
    first = max(start, last - span)
    if n == 1:
        return [last]
    middle = [_int(rng, first, last) for _ in range(n - 2)]
    return sorted([first, *middle, last])


def _dirty_phone(phone: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.03:
        return f"{phone[:3]}****{phone[-4:]}"
    if r < 0.05:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    if r < 0.06:
        return f"+86 {phone}"
    if r < 0.08:
        return ""
    return phone


def _dirty_datetime(days: _Days, day: int, second: int, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.04:
        return f"{days.get(day)[1]} {second // 3600:02d}:{second // 60 % 60:02d}"
    if r < 0.07:
        return days.get(day)[2]
    return f"{days.get(day)[0]} {_clock(second)}"


def _birthday(rng: random.Random, force_md: tuple[int, int] | None) -> str:
    if force_md is None and rng.random() < 0.3:
        return ""
    year = _int(rng, 1970, 2008)
    month, day = force_md or (_int(rng, 1, 12), _int(rng, 1, 28 if rng.random() < 0.1 else 31))
    try:
        d = date(year, month, day)
    except ValueError:  # 31 April and the like: fall back to the 30th
        d = date(year, month, 30 if month != 2 else 28)
    r = rng.random()
    if r < 0.08:
        return f"{d.year:04d}{d.month:02d}{d.day:02d}"
    if r < 0.2:
        return f"{d.month:02d}-{d.day:02d}"
    return d.isoformat()


def _nickname(rng: random.Random) -> str:
    r = rng.random()
    base = _pick(rng, NICKS)
    if r < 0.03:
        return _pick(rng, EMOJI) + base
    if r < 0.05:
        return base + _pick(rng, EMOJI)
    if r < 0.06:
        return _pick(rng, RARE) + base
    if r < 0.1:
        return ""
    return base


def _level(growth: int) -> str:
    return "金卡会员" if growth >= 6000 else "银卡会员" if growth >= 3000 else "普通会员"


class _Writers:
    def __init__(self, out_dir: Path) -> None:
        self.paths = {key: out_dir / name for key, (name, _) in FILES.items()}
        self.handles = {key: open(self.paths[key], "w", encoding=enc, newline="")  # noqa: SIM115
                        for key, (_, enc) in FILES.items()}
        # The member file imitates a Windows POS export (CRLF); the others use plain newlines.
        self.w = {key: csv.writer(fh, lineterminator="\r\n" if key == "members" else "\n")
                  for key, fh in self.handles.items()}

    def close(self) -> None:
        for fh in self.handles.values():
            fh.close()


def generate(out_dir: Path, members: int, seed: int = 7, as_of: date = date(2026, 11, 22)) -> dict[str, Path]:
    """Write the five CSV files of the brand into `out_dir` and return their paths by kind.

    `as_of` is the last day of the data history; a couple of members join the day after it.
    """
    if members < 1:
        raise ValueError("members must be at least 1")
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    days = _Days()
    today = as_of.toordinal()
    start = today - HISTORY_DAYS
    out = _Writers(out_dir)
    try:
        for key, header in (("members", MEMBERS_HEADER), ("orders", ORDERS_HEADER), ("groups", GROUPS_HEADER),
                            ("group_members", GROUP_MEMBERS_HEADER), ("activity", ACTIVITY_HEADER)):
            out.w[key].writerow(header)
        groups = _write_groups(rng, out.w["groups"], members, today, days)
        by_city: dict[str, list[_Group]] = {}
        for grp in groups:
            by_city.setdefault(grp.city, []).append(grp)
        state = {"order_seq": 0}
        for i in range(1, members + 1):
            _member(rng, i, out, groups, by_city, days, today, start, state)
    finally:
        out.close()
    return dict(out.paths)


def _member(rng: random.Random, i: int, out: _Writers, groups: list[_Group], by_city: dict[str, list[_Group]],
            days: _Days, today: int, start: int, state: dict[str, int]) -> None:
    member_id = f"{10000 + i:08d}"
    city = _pick(rng, CITY_POOL)
    store = f"茶语·{_pick(rng, STORES[city])}"
    phone = _phone(i, rng)
    # A few fixed members guarantee the small set has newcomers today and tomorrow and birthdays on
    # the plan date, whatever the random draws give.
    if i % 997 == 500:
        profile, join_day = "prospect", today + 1
    elif i % 400 == 7:
        profile, join_day = "prospect", today
    else:
        roll, profile = rng.random() * 100, "gold"
        for name, weight in PROFILES:
            if roll < weight:
                profile = name
                break
            roll -= weight
        join_day = _int(rng, start, today)
    order_days = _order_days(rng, profile, today, start)
    first_second = _order_second(rng)
    if order_days:
        join_day = max(start, order_days[0] - int(rng.expovariate(1 / 20)))
    join_second = _int(rng, 8 * 3600, 22 * 3600 - 1)
    if order_days and join_day == order_days[0]:
        join_second = max(0, first_second - _int(rng, 60, 3600))
    old_pos = bool(order_days) and order_days[0] < today - 365 and rng.random() < 0.04

    shown_phone = _dirty_phone(phone, rng)
    # An order may name only the phone when the member file holds that phone in a usable form.
    phone_findable = bool(shown_phone) and "****" not in shown_phone
    spent, count, last_time = 0, 0, ""
    ow = out.w["orders"]
    for k, day in enumerate(order_days):
        second = first_second if k == 0 else _order_second(rng)
        heavy = profile in ("silver", "gold")
        n_items = _pick(rng, HEAVY_ITEMS if heavy else ITEMS)
        items = [_pick(rng, MENU) for _ in range(n_items)]
        fen = sum(p for _, p in items)
        if rng.random() < 0.2:
            fen -= _pick(rng, (300, 500))
        fen = min(8000, max(1500, fen))
        if heavy:
            fen = max(fen, 3000)  # heavy buyers order for friends and colleagues too
        r = rng.random()
        status = "已退款" if r < 0.04 else "已取消" if r < 0.06 else "已完成"
        paid = f"{days.get(day)[0]} {_clock(second)}"
        if status == "已完成":
            spent, count, last_time = spent + fen, count + 1, max(last_time, paid)
        if old_pos:
            continue
        state["order_seq"] += 1
        order_id = f"TT{days.get(day)[3]}{state['order_seq']:08d}"
        amount = f"¥{_yuan(fen)}" if rng.random() < 0.05 else _yuan(fen)
        pay_text = paid
        if rng.random() <= 0.03:
            pay_text = f"{days.get(day)[1]} {second // 3600:02d}:{second // 60 % 60:02d}"
        order_phone = phone if rng.random() > 0.05 else ""
        card = "" if order_phone and phone_findable and rng.random() < 0.03 else member_id
        order_store = store if rng.random() < 0.85 else f"茶语·{_pick(rng, STORES[city])}"
        goods = ";".join(f"{name}x1" for name, _ in items)
        ow.writerow([order_id, card, order_phone, pay_text, amount, status, order_store,
                     _pick(rng, ORDER_CHANNELS), goods])

    # Aggregates: the POS usually agrees with the orders; sometimes it remembers older purchases.
    if count and rng.random() < 0.02:
        extra = _int(rng, 1, 3)
        count, spent = count + extra, spent + extra * _int(rng, 1500, 4000)
    growth = spent // 10
    name = _pick(rng, SURNAMES) + "".join(_pick(rng, GIVEN) for _ in range(_pick(rng, (1, 2, 2))))
    if rng.random() < 0.12:
        name = ""
    gender = _pick(rng, GENDERS)
    force_bd = (11, 23) if i % 401 == 13 else None
    tag_list = rng.sample(TAGS, _pick(rng, (0, 1, 1, 2, 2, 3)))
    tags = ("," if rng.random() < 0.7 else "、").join(tag_list)
    points = spent // 100 * _int(rng, 100, 200) // 100
    points_text = f"{points:,}" if points >= 1000 and rng.random() < 0.3 else str(points)
    spent_text = f"¥{spent // 100:,}.{spent % 100:02d}" if rng.random() < 0.04 else _yuan(spent)
    owner = _pick(rng, OWNERS) if rng.random() > 0.12 else ""
    r = rng.random()
    note = ("旧POS系统导入，无订单明细" if old_pos else _pick(rng, MULTILINE_NOTES) if r < 0.003
            else _pick(rng, NOTES) if r < 0.08 else "")
    last_text = ""
    if last_time:
        last_text = last_time if rng.random() > 0.04 else last_time.replace("-", "/")[:16]
    out.w["members"].writerow([
        member_id, name, _nickname(rng), shown_phone, gender, _birthday(rng, force_bd),
        _dirty_datetime(days, join_day, join_second, rng), _pick(rng, CHANNELS), owner, store, city, tags,
        points_text, _level(growth), growth, spent_text, count, last_text, note,
    ])
    if join_day <= today:
        _join_groups(rng, member_id, join_day, count, city, out, groups, by_city, days, today)


def _join_groups(rng: random.Random, member_id: str, join_day: int, count: int, city: str, out: _Writers,
                 groups: list[_Group], by_city: dict[str, list[_Group]], days: _Days, today: int) -> None:
    tries = 1 if rng.random() < (0.7 if count else 0.5) else 0
    if tries and rng.random() < 0.2:
        tries = 2
    seen: set[str] = set()
    for _ in range(tries):
        local = by_city.get(city)
        grp = _pick(rng, local if local and rng.random() < 0.85 else groups)
        if grp.members >= grp.size or grp.gid in seen:
            continue
        seen.add(grp.gid)
        grp.members += 1
        in_day = _int(rng, max(join_day, grp.created), today)
        left = ""
        if rng.random() < 0.08:
            left_day = _int(rng, in_day, today)
            left = f"{days.get(left_day)[0]} {_clock(_int(rng, 8 * 3600, 23 * 3600 - 1))}"
        joined = f"{days.get(in_day)[0]} {_clock(_int(rng, 8 * 3600, 23 * 3600 - 1))}"
        out.w["group_members"].writerow([grp.gid, member_id, joined, left])
        if not left:
            _activity(rng, member_id, grp, in_day, count, out, days, today)


def _activity(rng: random.Random, member_id: str, grp: _Group, in_day: int, count: int, out: _Writers,
              days: _Days, today: int) -> None:
    aw = out.w["activity"]
    # Silent groups had chatter once, but nothing in the last two weeks.
    last_day = today - 15 if grp.silent else today
    if count >= 3 and not grp.silent and rng.random() < 0.02:  # a KOC: chats and posts photos most days
        for day in range(max(today - 29, in_day), today + 1):
            if rng.random() < 0.75:
                aw.writerow([days.get(day)[0], grp.gid, member_id, _int(rng, 5, 40), _int(rng, 1, 10)])
        return
    if rng.random() >= 0.2:
        return  # most members lurk
    first_day = max(today - 44, in_day)
    if first_day > last_day:
        return
    span = range(first_day, last_day + 1)
    active = sorted(rng.sample(span, min(_int(rng, 1, 8), len(span))))
    for day in active:
        aw.writerow([days.get(day)[0], grp.gid, member_id, _int(rng, 1, 6), _int(rng, 0, 2)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the 茶语 TeaTalk example brand as CSV files.")
    parser.add_argument("--members", type=int, default=2000, help="number of members (default 2000)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 22),
                        help="last day of the data history, YYYY-MM-DD (default 2026-11-22)")
    args = parser.parse_args(argv)
    if args.members < 1:
        parser.error("--members must be at least 1")
    began = time.perf_counter()
    paths = generate(args.out, args.members, seed=args.seed, as_of=args.as_of)
    for path in paths.values():
        print(f"wrote {path} ({path.stat().st_size:,} bytes)", file=sys.stderr)
    print(f"generated {args.members:,} members in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
