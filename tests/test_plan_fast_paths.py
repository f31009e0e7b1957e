"""The plan's indexed and batched paths equal the plain definitions they replace, on random data."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from privdom.planner.invites import Group, _cause, place_invites
from privdom.playbook.models import GROUP_TYPES
from privdom.render import mask_text, mask_texts
from privdom.store import plan_queries as q

DAY = date(2026, 11, 25)
OWNERS = ("小茶", "阿青", "运营")
STORES = ("静安店", "徐汇店", "安店", "")
REGIONS = ("上海", "杭州", "")

groups_st = st.lists(
    st.builds(
        Group,
        group_id=st.text("abc", min_size=1, max_size=3),
        name=st.sampled_from(["茶语·静安店福利1群", "徐汇店群", "兴趣群", "安店2群", "g"]),
        type=st.sampled_from(GROUP_TYPES),
        owner=st.sampled_from(OWNERS),
        region=st.sampled_from([*REGIONS, None]),
        room=st.integers(0, 3),
    ),
    max_size=12,
    unique_by=lambda g: g.group_id,
)
invites_st = st.lists(
    st.tuples(
        st.sampled_from(["m1", "m2", "m3", "m4"]),
        st.sampled_from(OWNERS),
        st.sampled_from([(), ("welfare",), ("service", "interest")]),
    ),
    max_size=12,
)
places_st = st.dictionaries(
    st.sampled_from(["m1", "m2", "m3"]),
    st.tuples(st.sampled_from([*STORES, None]), st.sampled_from([*REGIONS, None])),
)
inside_st = st.dictionaries(st.sampled_from(["m1", "m2", "m4"]), st.sets(st.text("abc", min_size=1, max_size=3)))


def _invite(member: str, owner: str, types: tuple[str, ...]) -> Any:
    rule = SimpleNamespace(audience=SimpleNamespace(group_types=types))
    return SimpleNamespace(rule=rule, member_id=member, owner=owner, group_id=None, blocked=None)


def _reference(
    invites: Sequence[Any],
    groups: Sequence[Group],
    places: dict[str, tuple[str | None, str | None]],
    inside: dict[str, set[str]],
) -> None:
    """The rule of planner/invites.py read plainly: every group looked at for every invite."""
    for c in invites:
        types = c.rule.audience.group_types or GROUP_TYPES
        store, region = places.get(c.member_id, (None, None))
        already = inside.get(c.member_id, set())
        usable = [g for g in groups if g.type in types and g.room > 0 and g.group_id not in already]

        def store_near(g: Group, store: str | None = store) -> bool:
            return bool(store) and store in g.name

        def region_near(g: Group, region: str | None = region) -> bool:
            return bool(region) and g.region == region

        choice = [g for g in usable if g.owner == c.owner] or [
            g for g in usable if store_near(g) or region_near(g)
        ]
        if not choice:
            c.blocked = _cause(types, c.owner, store, region)
            continue
        best = min(choice, key=lambda g: (not store_near(g), not region_near(g), -g.room, g.group_id))
        best.room -= 1
        c.group_id = best.group_id


@settings(max_examples=300, deadline=None)
@given(groups=groups_st, invites=invites_st, places=places_st, inside=inside_st)
def test_invites_go_where_the_plain_rule_sends_them(
    groups: list[Group],
    invites: list[tuple[str, str, tuple[str, ...]]],
    places: dict[str, tuple[str | None, str | None]],
    inside: dict[str, set[str]],
) -> None:
    fast, plain = [_invite(*i) for i in invites], [_invite(*i) for i in invites]
    fast_groups, plain_groups = [replace(g) for g in groups], [replace(g) for g in groups]
    place_invites(fast, fast_groups, places, inside)
    _reference(plain, plain_groups, places, inside)
    assert [(c.group_id, c.blocked) for c in fast] == [(c.group_id, c.blocked) for c in plain]
    assert fast_groups == plain_groups  # the same places taken


# Digits, phone-like runs, the separator mask_texts joins with, and other text.
_text = st.lists(
    st.sampled_from(["13812345678", "1", "3", "9", "0", "\x1f", "号", "a", " ", "138", "1234", "5678"]),
    max_size=8,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(_text | st.text(max_size=20), max_size=8))
def test_masking_many_texts_equals_masking_each(texts: list[str]) -> None:
    expected = {i: mask_text(t) for i, t in enumerate(texts) if mask_text(t) != t}
    assert mask_texts(texts) == expected


def _member_metrics(conn: sqlite3.Connection, seed: int) -> None:
    """A small member_metrics: segment dates around DAY, some missing, segments, owners and counts."""
    rng = random.Random(seed)
    conn.execute(
        "CREATE TEMP TABLE member_metrics (member_id TEXT PRIMARY KEY, owner TEXT, tier TEXT,"
        " lifecycle TEXT, segment_since TEXT, orders_365 INTEGER)"
    )
    rows = []
    for m in range(200):
        since = None if rng.random() < 0.1 else (DAY - timedelta(days=rng.randint(0, 12))).isoformat()
        rows.append((
            f"M{m:03d}",
            rng.choice(["小茶", " ", None, "阿青"]),
            rng.choice(["gold", "silver"]),
            rng.choice(["decline", "growth", None]),
            since,
            rng.choice([None, 0, 3, 4, 9]),
        ))
    conn.executemany("INSERT INTO member_metrics VALUES (?, ?, ?, ?, ?, ?)", rows)


_windows = st.tuples(st.integers(0, 12), st.integers(0, 5)).map(
    lambda bw: q.Window((DAY - timedelta(days=bw[0] + bw[1])).isoformat(), (DAY - timedelta(days=bw[0])).isoformat())
)
_event_queries = st.lists(
    st.builds(
        lambda window, segment, at_least: q.EventQuery(
            "entered_segment",
            window,
            q.MemberFilter(["((m.orders_365 IS NOT NULL AND m.orders_365 >= ?))"], [at_least]),
            ["m.lifecycle = ?"],
            [segment],
        ),
        _windows,
        st.sampled_from(["decline", "growth"]),
        st.integers(0, 10),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=100, deadline=None)
@given(queries=_event_queries, seed=st.integers(0, 3))
def test_member_events_read_together_equal_each_read_alone(queries: list[q.EventQuery], seed: int) -> None:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    try:
        _member_metrics(conn, seed)
        together = q.member_events_together(conn, queries, "运营")
        for query, rows in zip(queries, together, strict=True):
            alone = q.member_events(
                conn, query.trigger, query.window, query.audience, "运营",
                extra=query.extra, extra_params=query.extra_params,
            )
            assert sorted(tuple(r)[:5] for r in rows) == sorted(tuple(r) for r in alone)
    finally:
        conn.close()
