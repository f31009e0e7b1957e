"""`privdom review` (复盘): per rule, what was done, and whether the members who got it bought more.

For member tasks the outcome is a counted order from the task's due time to the end of its date
plus the window. The members of done tasks are compared with a rule's held-out members when it has
any (a randomized comparison), else with the members of skipped tasks and of tasks deferred by the
7-day cap or an owner's capacity and never sent (an observational one: nobody chose them at random).
For group posts the outcome is group activity, the window's days after against the days before.

A member counts once per rule and arm: as a buyer when any of their windows in that arm holds a
counted order; each order's spend is counted once. Windows that reach past the last order (or
activity) in the workspace are left out and counted, never read as "did not buy".
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from pydantic import BaseModel

from privdom.playbook.models import Playbook, Rule
from privdom.proportions import newcombe
from privdom.store import review as q

MIN_COUNT = 30
WAIT_CAUSES = ("member_cap", "owner_capacity")  # quiet hours move a touch, they do not choose members
ARMS = ("done", "holdout", "skipped", "deferred")
RANDOMIZED = "randomized: done vs held-out members (随机对照 holdout)"
OBSERVATIONAL = (
    "observational: done vs skipped or deferred members (观察对比); they are not a random sample, "
    "so the difference is not only the rule's effect"
)


class Outcome(BaseModel):
    """Members of one arm and how many bought within their window."""

    members: int
    buyers: int
    rate: float | None  # None below the minimum count
    spend_fen: int
    shown: str  # the rate as a percentage, or "n<30"


class Lift(BaseModel):
    """Done rate minus comparison rate, with Newcombe's 95% interval (None below the minimum count)."""

    value: float | None
    low: float | None
    high: float | None
    shown: str


class OwnerExecution(BaseModel):
    owner: str
    issued: int
    done: int
    skipped: int
    open: int
    rate: float | None  # done / issued, None below the minimum count
    shown: str


class GroupActivity(BaseModel):
    """Messages in the window before and after, summed over (group, day) pairs."""

    group_days: int
    groups: int
    messages_before: int
    messages_after: int
    change: float | None  # after / before - 1; None when there were no messages before


class RuleReview(BaseModel):
    rule: str
    stage: str
    title: dict[str, str]
    action: str
    window: int
    in_playbook: bool
    issued: int
    done: int
    skipped: int
    open: int
    held_out: int
    deferred: dict[str, int]  # tasks first deferred in the period and never sent, by cause
    by_owner: list[OwnerExecution]
    outcomes: dict[str, Outcome]  # done, holdout, skipped, deferred, comparison (member rules)
    comparison: str | None  # "randomized" | "observational" | None
    comparison_note: str
    lift: Lift | None
    windows_open: int  # member windows left out: they end after the last order in the workspace
    groups: dict[str, GroupActivity] | None  # posted / not_posted (group posts)
    activity_lift: float | None  # change of posted groups minus change of the others


class Review(BaseModel):
    first: date
    last: date
    window: int
    min_count: int
    orders_through: str | None
    activity_through: str | None
    rules: list[RuleReview]  # ranked by lift, highest first; rules without a lift after
    never_fired: list[str]  # rules of the playbook with no task in the period
    notes: list[str]


def review(
    conn: sqlite3.Connection,
    playbook: Playbook,
    first: date,
    last: date,
    *,
    window: int = 7,
    rule: str | None = None,
    owner: str | None = None,
    min_count: int = MIN_COUNT,
) -> Review:
    d1, d2 = first.isoformat(), last.isoformat()
    rules = {r.id: (stage, r) for stage, r in playbook.stages.rules()}
    counts = q.rule_counts(conn, d1, d2, rule, owner)
    waits = q.waiting_counts(conn, d1, d2, rule, owner)
    orders_through, activity_first, activity_last = q.data_through(conn)
    fired: dict[str, tuple[str, str]] = {}
    for row in [*counts, *waits]:
        fired.setdefault(str(row["rule"]), (str(row["stage"]), str(row["action"])))
    out: list[RuleReview] = []
    for rule_id, (stage, action) in sorted(fired.items()):
        known = rules.get(rule_id)
        days = (known[1].review_window if known else None) or window
        entry = _rule_review(
            rule_id, stage, action, known[1] if known else None, days, min_count,
            [r for r in counts if r["rule"] == rule_id], [r for r in waits if r["rule"] == rule_id],
        )
        if action == "group_post":
            groups = q.group_outcomes(conn, rule_id, d1, d2, owner, days)
            entry.groups, entry.activity_lift = _group_activity(groups, days, activity_first, activity_last)
        elif entry.issued + entry.held_out + sum(entry.deferred.values()) and _has_members(action):
            units, hits = q.member_outcomes(conn, rule_id, d1, d2, owner, days, WAIT_CAUSES)
            _member_outcomes(entry, units, hits, orders_through, min_count)
        out.append(entry)
    wanted = [r.id for _, r in playbook.stages.rules() if rule is None or r.id == rule]
    never = [r for r in wanted if r not in fired]
    return Review(
        first=first,
        last=last,
        window=window,
        min_count=min_count,
        orders_through=orders_through,
        activity_through=activity_last,
        rules=ranked(out),
        never_fired=never,
        notes=_notes(out, min_count),
    )


def ranked(rules: list[RuleReview]) -> list[RuleReview]:
    """Highest lift first; rules without a lift after, the busiest first."""
    with_lift = [r for r in rules if r.lift is not None and r.lift.value is not None]
    without = [r for r in rules if r not in with_lift]
    with_lift.sort(key=lambda r: (-(r.lift.value or 0.0) if r.lift else 0.0, r.rule))
    without.sort(key=lambda r: (-r.issued, r.rule))
    return with_lift + without


def _has_members(action: str) -> bool:
    return action not in ("group_post", "moment_post")


def _rule_review(
    rule_id: str, stage: str, action: str, rule: Rule | None, window: int, min_count: int,
    counts: Iterable[sqlite3.Row], waits: Iterable[sqlite3.Row],
) -> RuleReview:
    per_owner: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in counts:
        per_owner[str(row["owner"] or "")][str(row["status"])] += int(row["tasks"])
    deferred: dict[str, int] = defaultdict(int)
    for row in waits:
        deferred[str(row["cause"])] += int(row["tasks"])
    by_owner = []
    for name, st in sorted(per_owner.items()):
        issued = st["done"] + st["skipped"] + st["open"]
        if not issued:
            continue
        rate = st["done"] / issued if issued >= min_count else None
        by_owner.append(
            OwnerExecution(
                owner=name, issued=issued, done=st["done"], skipped=st["skipped"], open=st["open"],
                rate=rate, shown=_shown(rate, issued, min_count),
            )
        )
    total = {k: sum(st[k] for st in per_owner.values()) for k in ("done", "skipped", "open", "holdout")}
    return RuleReview(
        rule=rule_id,
        stage=stage,
        title={"zh": rule.title.zh, "en": rule.title.en} if rule else {"zh": rule_id, "en": rule_id},
        action=action,
        window=window,
        in_playbook=rule is not None,
        issued=total["done"] + total["skipped"] + total["open"],
        done=total["done"],
        skipped=total["skipped"],
        open=total["open"],
        held_out=total["holdout"],
        deferred=dict(sorted(deferred.items())),
        by_owner=by_owner,
        outcomes={},
        comparison=None,
        comparison_note="",
        lift=None,
        windows_open=0,
        groups=None,
        activity_lift=None,
    )


def _member_outcomes(
    entry: RuleReview,
    units: list[sqlite3.Row],
    hits: list[sqlite3.Row],
    orders_through: str | None,
    min_count: int,
) -> None:
    def complete(window_end: str) -> bool:
        return orders_through is not None and window_end <= orders_through

    members: dict[str, set[str]] = defaultdict(set)
    for u in units:
        if complete(str(u["window_end"])):
            members[str(u["arm"])].add(str(u["member_id"]))
        elif u["arm"] in ARMS:
            entry.windows_open += 1
    orders: dict[str, dict[tuple[str, int], int]] = defaultdict(dict)
    for h in hits:
        if complete(str(h["window_end"])):
            orders[str(h["arm"])][(str(h["member_id"]), int(h["order_row"]))] = int(h["amount_fen"])
    for arm in ARMS:
        entry.outcomes[arm] = outcome(members[arm], orders[arm], min_count)
    arms: tuple[str, ...]
    if members["holdout"]:
        entry.comparison, entry.comparison_note, arms = "randomized", RANDOMIZED, ("holdout",)
    elif members["skipped"] or members["deferred"]:
        entry.comparison, entry.comparison_note, arms = "observational", OBSERVATIONAL, ("skipped", "deferred")
    else:
        entry.comparison_note = "no comparison: no held-out, skipped or deferred members (无对照)"
        return
    pooled_members = set().union(*(members[a] for a in arms))
    pooled_orders = {k: v for a in arms for k, v in orders[a].items()}
    comparison = entry.outcomes["comparison"] = outcome(pooled_members, pooled_orders, min_count)
    done = entry.outcomes["done"]
    if done.members >= min_count and comparison.members >= min_count:
        value, low, high = newcombe(done.buyers, done.members, comparison.buyers, comparison.members)
        shown = f"{value * 100:+.1f} pp [{low * 100:+.1f}, {high * 100:+.1f}]"
        entry.lift = Lift(value=value, low=low, high=high, shown=shown)
    else:
        entry.lift = Lift(value=None, low=None, high=None, shown=f"n<{min_count}")


def outcome(members: set[str], orders: dict[tuple[str, int], int], min_count: int) -> Outcome:
    """An arm's members, buyers (members with an order in a window) and spend of those orders."""
    buyers = len({m for m, _ in orders if m in members})
    n = len(members)
    rate = buyers / n if n >= min_count else None
    return Outcome(
        members=n, buyers=buyers, rate=rate, spend_fen=sum(orders.values()), shown=_shown(rate, n, min_count)
    )


def _group_activity(
    rows: list[sqlite3.Row], window: int, activity_first: str | None, activity_last: str | None
) -> tuple[dict[str, GroupActivity], float | None]:
    sums: dict[str, list[int]] = {"posted": [0, 0, 0], "not_posted": [0, 0, 0]}
    groups: dict[str, set[str]] = {"posted": set(), "not_posted": set()}
    for r in rows:
        day = date.fromisoformat(str(r["date"]))
        if activity_first is None or activity_last is None:
            continue
        if _shift(day, -window) < activity_first or _shift(day, window) > activity_last:
            continue  # a window outside the activity export would read as silence
        key = "posted" if r["posted"] else "not_posted"
        sums[key][0] += 1
        sums[key][1] += int(r["before"])
        sums[key][2] += int(r["after"])
        groups[key].add(str(r["group_id"]))
    out = {
        key: GroupActivity(
            group_days=n, groups=len(groups[key]), messages_before=before, messages_after=after,
            change=(after / before - 1) if before else None,
        )
        for key, (n, before, after) in sums.items()
    }
    posted, others = out["posted"].change, out["not_posted"].change
    return out, (posted - others) if posted is not None and others is not None else None


def _shift(day: date, days: int) -> str:
    return date.fromordinal(day.toordinal() + days).isoformat()


def _shown(rate: float | None, n: int, min_count: int) -> str:
    return f"n<{min_count}" if rate is None else f"{rate * 100:.1f}%"


def _notes(rules: list[RuleReview], min_count: int) -> list[str]:
    notes = [
        f"rates below {min_count} members show n<{min_count} (样本不足)",
        "observational comparisons (skipped or deferred members) are not random samples: "
        "a hint, not the rule's effect; `holdout:` gives a randomized one",
    ]
    if any(r.windows_open for r in rules):
        notes.append("tasks whose window ends after the last imported order are left out (windows_open)")
    return notes
