"""Header aliases: which source column feeds which field, per KIND, in Chinese and English.

The table is data, so adding an export layout means adding words, not code. `--source` adds the
words of one known layout on top of the generic table; `--map SRC=field` beats both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from privdom.errors import PrivdomError

KINDS = ("members", "orders", "groups", "group-members", "activity")
SOURCES = ("generic", "wecom", "youzan")
EXTRA = "extra"  # --map SRC=extra keeps a column in `extra` even when an alias would claim it

_MEMBER_ID = (
    "会员卡号",
    "会员号",
    "会员id",
    "会员编号",
    "会员卡",
    "卡号",
    "member_id",
    "memberid",
    "member_no",
    "card_no",
)
_EXTERNAL = ("external_userid", "externaluserid", "外部联系人id", "外部联系人userid", "客户userid")
_PHONE = (
    "手机",
    "手机号",
    "手机号码",
    "客户手机号",
    "会员手机号",
    "联系电话",
    "电话",
    "联系方式",
    "mobile",
    "phone",
    "tel",
)
_GROUP_ID = ("群id", "群聊id", "群编号", "chat_id", "chatid", "group_id", "groupid")

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
            "添加时间",
            "注册时间",
            "入会时间",
            "成为会员时间",
            "开卡时间",
            "加入时间",
            "joined_at",
            "register_time",
            "add_time",
        ),
        "channel": ("来源渠道", "来源", "渠道", "添加渠道", "注册渠道", "客户来源", "channel", "source"),
        "owner": (
            "添加人",
            "专属导购",
            "所属员工",
            "跟进人",
            "导购",
            "归属导购",
            "所属客服",
            "owner",
            "staff",
        ),
        "store": ("所属门店", "门店", "归属门店", "开卡门店", "store"),
        "region": ("城市", "地区", "区域", "所在地区", "所在城市", "region", "city"),
        "tags": ("标签", "客户标签", "会员标签", "企业标签", "tags", "tag"),
        "points": ("积分", "当前积分", "可用积分", "points"),
        "level": ("会员等级", "等级", "level", "tier"),
        "growth": ("成长值", "growth"),
        "total_spent_fen": ("累计消费金额", "累计消费", "消费总额", "总消费", "total_spent", "total_spend"),
        "order_count": ("累计消费次数", "消费次数", "购买次数", "订单数", "order_count"),
        "last_order_at": (
            "最后消费时间",
            "最近消费时间",
            "最后购买时间",
            "上次消费时间",
            "last_order_at",
            "last_purchase",
        ),
    },
    "orders": {
        "order_id": ("订单号", "订单编号", "订单id", "order_id", "order_no"),
        "member_id": _MEMBER_ID,
        "phone": _PHONE + ("买家手机号", "下单手机号"),
        "paid_at": (
            "支付时间",
            "付款时间",
            "下单时间",
            "订单时间",
            "交易时间",
            "paid_at",
            "pay_time",
            "order_time",
        ),
        "amount_fen": (
            "实付金额",
            "实付款",
            "支付金额",
            "订单金额",
            "实收金额",
            "金额",
            "amount",
            "paid_amount",
        ),
        "status": ("订单状态", "状态", "交易状态", "status"),
        "store": ("门店", "所属门店", "下单门店", "store"),
        "channel": ("下单渠道", "渠道", "来源渠道", "订单来源", "channel"),
    },
    "groups": {
        "group_id": _GROUP_ID,
        "name": ("群名称", "群名", "群聊名称", "group_name", "name"),
        "type": ("群类型", "类型", "type", "group_type"),
        "owner": ("群主", "owner"),
        "size": ("群人数", "人数", "成员数", "群成员数", "size"),
        "capacity": ("群上限", "人数上限", "上限", "capacity"),
        "created_at": ("创建时间", "建群时间", "created_at"),
        "region": ("城市", "地区", "region", "city"),
        "tags": ("标签", "群标签", "tags"),
    },
    "group-members": {
        "group_id": _GROUP_ID,
        "member_id": _MEMBER_ID + _EXTERNAL,
        "joined_at": ("入群时间", "加入时间", "加群时间", "joined_at"),
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


def normalise(header: str) -> str:
    """Case, spaces, BOMs, full-width brackets and required-field stars do not matter."""
    text = header.replace("\ufeff", "").replace("（", "(").replace("）", ")").strip().strip("*").strip()
    return re.sub(r"\s+", "", text).lower()


@dataclass
class HeaderMap:
    """Where each field's column is, which columns are tag groups, and which go to `extra`."""

    fields: dict[str, int] = field(default_factory=dict)
    tag_groups: list[tuple[int, str]] = field(default_factory=list)
    extra: list[tuple[int, str]] = field(default_factory=list)


def map_header(
    kind: str,
    header: list[str],
    *,
    source: str = "generic",
    mappings: dict[str, str] | None = None,
    file: str = "",
) -> HeaderMap:
    table = ALIASES[kind]
    lookup: dict[str, str] = {}
    for name, words in table.items():
        for word in words:
            lookup.setdefault(normalise(word), name)
    for name, words in SOURCE_ALIASES[source].get(kind, {}).items():
        for word in words:
            lookup[normalise(word)] = name
    for src, wanted in (mappings or {}).items():
        if wanted != EXTRA and wanted not in table:
            raise PrivdomError(
                f"--map {src}={wanted}: {wanted!r} is not a {kind} field",
                hint=f"{kind} fields: {', '.join(table)}, or extra",
            )
        lookup[normalise(src)] = wanted
    result = HeaderMap()
    for index, column in enumerate(header):
        key = normalise(column)
        if not key:
            continue
        target = lookup.get(key)
        tag_group = TAG_GROUP.match(column.strip().replace("（", "(").replace("）", ")"))
        if target and target != EXTRA and target not in result.fields:
            result.fields[target] = index
        elif target is None and tag_group and "tags" in table:
            result.tag_groups.append((index, tag_group.group(1).strip()))
        else:
            result.extra.append((index, column.strip()))
    if not any(all(f in result.fields for f in group) for group in IDENTITY[kind]):
        raise PrivdomError(
            f"{file}: no identity column for {kind}; columns seen: {', '.join(c.strip() for c in header)}",
            hint=_identity_hint(kind, source),
        )
    return result


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
