"""Header aliases: which source column feeds which field, per KIND, in Chinese and English.

The table is data, so adding an export layout means adding words, not code. `--source` adds the
words of one known layout on top of the generic table; `--map SRC=field` beats both.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field

from privdom.errors import PrivdomError

KINDS = ("members", "orders", "groups", "group-members", "activity")
SOURCES = ("generic", "wecom", "youzan")
EXTRA = "extra"  # --map SRC=extra keeps a column in `extra` even when an alias would claim it

# The alias table. Where a field has several words, the earlier word wins when a file has columns
# for more than one of them (订单实付金额 before 商品实付金额; 付款时间 before 下单时间); the later
# column then goes to `extra`. Header matching ignores case, spaces, `*`, full-width forms and a
# yuan or count unit (`(元)`, `（元）`, `/元`, `(次)`): see `normalise`. A column in fen (`(分)`)
# is never taken for a yuan field.
#
# Where the words come from (the column headers of each platform's own export screens):
# * WeCom (企业微信管理后台 → 客户联系 → 客户 → 导出; the customer-contact API's field names):
#   客户名称, 性别, 添加人, 添加时间, 来源, 描述, 标签组N(组名), external_userid; 客户群 → 导出:
#   群名称, 群主, 群人数, 创建时间; chat_id from the customer-group API.
# * Youzan (有赞微商城/有赞零售后台 → 订单 → 订单查询 → 导出报表, and 客户 → 客户列表 → 导出):
#   订单号, 订单状态, 订单创建时间, 买家付款时间, 订单实付金额, 商品实付金额, 买家手机号,
#   收货人手机号, 退款状态, 退款金额, 归属门店/下单网点; 客户: 手机号, 会员等级, 成长值, 积分,
#   累计消费金额, 累计消费次数, 最近消费时间, 成为客户时间, 归属导购.
# * Weimob (微盟智慧零售 → 订单 → 导出; 客户 → 客户列表 → 导出): 订单编号, 下单时间, 支付时间,
#   实付金额, 订单状态, 下单人手机号, 门店名称; 会员卡号, 会员等级, 成长值, 累计消费金额,
#   最后消费时间, 所属门店, 服务导购.
# * POS systems (客如云, 银豹, 哗啦啦 and the like: 会员/销售流水 exports): 会员编号, 会员卡号,
#   开卡时间, 开卡门店, 单据编号/流水号/小票号, 销售时间/结账时间/消费时间, 实收金额/消费金额,
#   门店名称.
# * Generic English headers of hand-made sheets and other tools (member_id, phone, amount ...).
_MEMBER_ID = (
    "会员卡号",  # Weimob, POS
    "会员编号",  # POS
    "会员号",
    "会员id",
    "会员卡",
    "会员码",
    "卡号",  # POS
    "member_id",
    "memberid",
    "member_no",
    "card_no",
)
_EXTERNAL = (
    "external_userid",  # WeCom API
    "externaluserid",
    "外部联系人id",  # WeCom
    "外部联系人userid",
    "客户userid",
)
_PHONE = (
    "手机号",  # Youzan 客户
    "手机",
    "手机号码",
    "客户手机号",
    "会员手机号",  # POS
    "联系电话",
    "电话",
    "联系方式",
    "mobile",
    "phone",
    "tel",
)
_GROUP_ID = ("群id", "群聊id", "群编号", "chat_id", "chatid", "group_id", "groupid")  # WeCom API: chat_id
_STORE = (
    "门店名称",  # Weimob, POS
    "所属门店",  # Weimob
    "归属门店",  # Youzan
    "门店",
    "下单门店",
    "下单网点",  # Youzan multi-store
    "开卡门店",  # POS
    "store",
)

ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "members": {
        "member_id": _MEMBER_ID,
        "external_userid": _EXTERNAL,
        "name": ("客户名称", "客户姓名", "姓名", "名字", "会员姓名", "真实姓名", "name", "customer_name"),
        "nickname": ("昵称", "微信昵称", "客户昵称", "nickname", "nick"),
        "phone": _PHONE,
        "gender": ("性别", "gender", "sex"),
        "birthday": ("生日", "出生日期", "生日日期", "birthday", "birth_date", "dob"),
        "joined_at": (
            "添加时间",  # WeCom
            "注册时间",
            "入会时间",
            "成为会员时间",
            "成为客户时间",  # Youzan
            "开卡时间",  # POS
            "加入时间",
            "joined_at",
            "register_time",
            "add_time",
        ),
        "channel": ("来源渠道", "来源", "渠道", "添加渠道", "注册渠道", "客户来源", "channel", "source"),
        "owner": (
            "添加人",  # WeCom
            "专属导购",
            "归属导购",  # Youzan
            "服务导购",  # Weimob
            "所属员工",
            "跟进人",
            "导购",
            "所属客服",
            "owner",
            "staff",
        ),
        "store": _STORE,
        "region": ("城市", "地区", "区域", "所在地区", "所在城市", "region", "city"),
        "tags": ("标签", "客户标签", "会员标签", "企业标签", "tags", "tag"),
        "points": ("积分", "当前积分", "可用积分", "points"),
        "level": ("会员等级", "等级", "会员卡等级", "level", "tier"),
        "growth": ("成长值", "当前成长值", "growth"),  # Youzan, Weimob
        "total_spent_fen": (
            "累计消费金额",  # Youzan, Weimob
            "累计消费",
            "累计实付金额",
            "消费总额",
            "总消费",
            "total_spent",
            "total_spend",
        ),
        "order_count": ("累计消费次数", "消费次数", "购买次数", "累计订单数", "订单数", "order_count"),
        "last_order_at": (
            "最后消费时间",  # Weimob
            "最近消费时间",  # Youzan
            "最后购买时间",
            "最近购买时间",
            "上次消费时间",
            "last_order_at",
            "last_purchase",
        ),
    },
    "orders": {
        "order_id": (
            "订单号",  # Youzan
            "订单编号",  # Weimob
            "订单id",
            "单据编号",  # POS
            "流水号",  # POS
            "小票号",  # POS
            "交易单号",
            "order_id",
            "order_no",
        ),
        "member_id": _MEMBER_ID,
        "phone": _PHONE + ("买家手机号", "下单人手机号", "下单手机号", "收货人手机号", "提货人手机号"),
        "paid_at": (
            "付款时间",
            "支付时间",  # Weimob
            "买家付款时间",  # Youzan
            "订单付款时间",
            "交易时间",
            "销售时间",  # POS
            "结账时间",  # POS
            "消费时间",  # POS
            "下单时间",  # Weimob: the order's creation, when no payment time is exported
            "订单创建时间",  # Youzan, likewise
            "订单时间",
            "paid_at",
            "pay_time",
            "order_time",
        ),
        "amount_fen": (
            "订单实付金额",  # Youzan
            "实付金额",  # Weimob
            "实付款",
            "实收金额",  # POS
            "支付金额",
            "消费金额",  # POS
            "订单金额",
            "商品实付金额",  # Youzan item lines: only when the order's own amount is absent
            "金额",
            "amount",
            "paid_amount",
        ),
        "status": ("订单状态", "交易状态", "状态", "status"),  # Youzan, Weimob
        "refund_status": ("退款状态", "售后状态", "refund_status"),  # Youzan
        "refund_fen": ("退款金额", "已退款金额", "refund_amount", "refund"),  # Youzan
        "store": _STORE,
        "channel": ("订单来源", "下单渠道", "销售渠道", "渠道", "来源渠道", "channel"),
    },
    "groups": {
        "group_id": _GROUP_ID,
        "name": ("群名称", "群名", "群聊名称", "group_name", "name"),  # WeCom
        "type": ("群类型", "类型", "type", "group_type"),
        "owner": ("群主", "owner"),  # WeCom
        "size": ("群人数", "人数", "成员数", "群成员数", "size"),  # WeCom
        "capacity": ("群上限", "人数上限", "上限", "capacity"),
        "created_at": ("创建时间", "建群时间", "created_at"),  # WeCom
        "region": ("城市", "地区", "region", "city"),
        "tags": ("标签", "群标签", "tags"),
    },
    "group-members": {
        "group_id": _GROUP_ID,
        "member_id": _MEMBER_ID + _EXTERNAL,
        "joined_at": ("入群时间", "加入时间", "加群时间", "joined_at"),  # WeCom 群成员
        "left_at": ("退群时间", "离开时间", "离群时间", "left_at"),
    },
    "activity": {
        "date": ("日期", "统计日期", "date"),
        "group_id": _GROUP_ID,
        "member_id": _MEMBER_ID + _EXTERNAL,
        "messages": ("发言数", "消息数", "发言次数", "发言条数", "messages"),
        "images": ("图片数", "图片", "images"),
    },
}

# Amounts of one item line of an order (Youzan's 商品实付金额 in an export of 商品明细 rows): the lines
# of one order add up to the order's amount. Any other amount is the order's own, repeated on each
# of its lines when the export has one line per item.
ITEM_AMOUNTS = frozenset({"商品实付金额", "商品金额", "商品实付", "商品小计", "商品实收金额"})

# Fields read from the file but not stored as columns of their own: an order's refund makes its
# counted amount (amount less refund) and its cells stay in `extra` as the file has them.
FOLDED_FIELDS = frozenset({"refund_status", "refund_fen"})

# `--map` targets in the operator's words: amounts are in yuan as exports write them, and are
# stored in fen.
FIELD_WORDS = {
    "amount": "amount_fen",
    "refund": "refund_fen",
    "total_spent": "total_spent_fen",
    "spend": "total_spent_fen",
    "id": "member_id",
    "last_order": "last_order_at",
    "paid": "paid_at",
    "joined": "joined_at",
}
# ... and the word shown for a stored field.
SHOWN_WORD = {"amount_fen": "amount", "refund_fen": "refund", "total_spent_fen": "total_spent"}

# What each KIND needs for a plan besides its identity; a file without it is refused unless
# `--allow-missing FIELD`.
NEEDED = {"orders": ("amount_fen", "paid_at")}

# Words that mean something else in one vendor's export than in the generic table.
SOURCE_ALIASES: dict[str, dict[str, dict[str, tuple[str, ...]]]] = {
    "wecom": {
        "members": {"external_userid": ("客户id", "userid")}
    },
    "youzan": {"members": {"member_id": ("客户id", "用户id")}},
    "generic": {},
}

# Which columns can identify a record of each KIND (at least one group must be present).
IDENTITY: dict[str, tuple[tuple[str, ...], ...]] = {
    "members": (("member_id",), ("external_userid",), ("phone",)),
    "orders": (("order_id",),),
    "groups": (("group_id",),),
    "group-members": (("group_id", "member_id"),),
    "activity": (("date", "group_id", "member_id"),),
}

TAG_GROUP = re.compile(r"^标签组\s*\d*\s*\((.+)\)$")
# A yuan or count unit after a name: `(元)`, `/元`, `（单位：元）`, `(次)`. Fen is not among them,
# so `金额(分)` never matches a yuan field.
_UNIT = re.compile(r"(\((单位[:：]?)?(元|人民币|rmb|cny|¥|次|笔|单|件|个|人|天)\)|/(元|次|个|人))$")


def normalise(header: str) -> str:
    """Case, spaces, BOMs, full-width forms, required-field stars and a unit suffix do not matter."""
    text = unicodedata.normalize("NFKC", header.replace("\ufeff", ""))
    text = re.sub(r"\s+", "", text).strip("*").lower()
    return _UNIT.sub("", text).strip("*")


@dataclass
class HeaderMap:
    """Where each field's column is, which columns are tag groups, and which go to `extra` (by the
    name they are kept under: a blank header is `column_N`, a repeated one `名称_2`)."""

    fields: dict[str, int] = field(default_factory=dict)
    tag_groups: list[tuple[int, str]] = field(default_factory=list)
    extra: list[tuple[int, str]] = field(default_factory=list)
    identity: str = ""  # members: the field that keys this file's records


def column_names(header: list[str]) -> list[str]:
    """The header's names as kept: stripped, `column_N` for a blank one (N from 1), and `名称_2`,
    `名称_3` ... for a name seen before, so no column's cells overwrite another's."""
    names: list[str] = []
    seen: set[str] = set()
    for number, column in enumerate(header, start=1):
        name = column.replace("\ufeff", "").strip() or f"column_{number}"
        base, n = name, 1
        while name in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name)
        names.append(name)
    return names


def field_name(kind: str, word: str) -> str | None:
    """The field a `--map` target names (`amount` is amount_fen, in yuan), or None."""
    name = FIELD_WORDS.get(word, word)
    return name if name in ALIASES[kind] or name == EXTRA else None


def shown(name: str) -> str:
    """A field as the operator writes it in `--map`."""
    return SHOWN_WORD.get(name, name)


def map_header(
    kind: str,
    header: list[str],
    *,
    source: str = "generic",
    mappings: dict[str, str] | None = None,
    allow_missing: tuple[str, ...] = (),
    file: str = "",
) -> HeaderMap:
    table = ALIASES[kind]
    # normalised word -> (field, rank): the lower rank wins a field that two columns claim.
    lookup: dict[str, tuple[str, int]] = {}
    for name, words in table.items():
        for rank, word in enumerate(words):
            lookup.setdefault(normalise(word), (name, rank + 10))
    for name, words in SOURCE_ALIASES[source].get(kind, {}).items():
        for word in words:
            lookup[normalise(word)] = (name, 5)
    for src, wanted in (mappings or {}).items():
        target = field_name(kind, wanted)
        if target is None:
            known = ", ".join(shown(f) for f in table)
            raise PrivdomError(
                f"--map {src}={wanted}: {wanted!r} is not a {kind} field",
                hint=f"{kind} fields: {known}, or extra (amounts are in yuan)",
            )
        lookup[normalise(src)] = (target, 0)
    names = column_names(header)
    result = HeaderMap()
    claims: dict[str, tuple[int, int]] = {}  # field -> (rank, column index)
    targets: list[str | None] = []
    for index, column in enumerate(header):
        found = lookup.get(normalise(column)) if column.strip() else None
        targets.append(found[0] if found else None)
        if found and found[0] != EXTRA:
            name, rank = found
            if name not in claims or rank < claims[name][0]:
                claims[name] = (rank, index)
    winners = {index: name for name, (_rank, index) in claims.items()}
    for index, column in enumerate(header):
        tag_group = TAG_GROUP.match(unicodedata.normalize("NFKC", column).strip())
        if index in winners:
            name = winners[index]
            result.fields[name] = index
            if name in FOLDED_FIELDS:  # read for the amount, and kept as the file has it
                result.extra.append((index, names[index]))
        elif targets[index] is None and tag_group and "tags" in table:
            result.tag_groups.append((index, tag_group.group(1).strip()))
        else:
            result.extra.append((index, names[index]))
    result.fields = dict(sorted(result.fields.items(), key=lambda item: item[1]))
    if not any(all(f in result.fields for f in group) for group in IDENTITY[kind]):
        raise PrivdomError(
            f"{file}: no identity column for {kind}; columns seen: {', '.join(c.strip() for c in header)}",
            hint=_identity_hint(kind, source),
        )
    if kind == "members":
        result.identity = next(g[0] for g in IDENTITY[kind] if g[0] in result.fields)
    for need in NEEDED.get(kind, ()):
        if need not in result.fields and shown(need) not in allow_missing and need not in allow_missing:
            unread = [n for i, n in enumerate(names) if i not in winners]
            close = closest(kind, unread, need)
            hint = (
                f"map its column: --map '{close}={shown(need)}'"
                if close
                else f"name its column with --map 'COLUMN={shown(need)}'"
            )
            raise PrivdomError(
                f"{file}: no {shown(need)} column for {kind}; columns seen: {', '.join(names)}",
                hint=f"{hint}, or import without it: --allow-missing {shown(need)}",
            )
    return result


def closest(kind: str, columns: list[str], wanted: str) -> str | None:
    """Of `columns`, the one most like a header of field `wanted`, if any is alike."""
    best = max(((_likeness(kind, c)[1], c) for c in columns if _likeness(kind, c)[0] == wanted), default=None)
    return best[1] if best else None


def suggest(kind: str, column: str) -> str | None:
    """The field an unread column most likely holds, for the report's `--map` hint; None when no
    field's header words are alike."""
    name, score = _likeness(kind, column)
    return name if score else None


def _likeness(kind: str, column: str) -> tuple[str | None, float]:
    """(field, score in 0..1) of the known header word most like `column`; (None, 0) for none."""
    key = normalise(column)
    if not key:
        return None, 0.0
    best: tuple[str | None, float] = (None, 0.0)
    for name, words in ALIASES[kind].items():
        for word in words:
            w = normalise(word)
            if len(w) >= 2 and (w in key or key in w):
                score = 0.6 + 0.4 * min(len(w), len(key)) / max(len(w), len(key))
            else:
                score = difflib.SequenceMatcher(None, key, w).ratio()
                if score < 0.5:
                    continue
            if score > best[1]:
                best = (name, score)
    return best


def _identity_hint(kind: str, source: str) -> str:
    parts = []
    for group in IDENTITY[kind]:
        for name in group:
            words = ALIASES[kind][name] + SOURCE_ALIASES[source].get(kind, {}).get(name, ())
            parts.append(f"{name}: {'/'.join(words)}")
    need = " or ".join("+".join(g) for g in IDENTITY[kind])
    return (
        f"{kind} need {need}. Accepted headers: "
        + "; ".join(parts)
        + ". Or name one with --map 'COLUMN=field'"
    )
