"""Which members a rule holds out: a control group chosen by a keyed hash, not by chance.

The same (rule, member) is held out on every day and every machine, so a member never drifts
between the treated and the control group, and a review can be rerun to the same result. Keying
the hash keeps the choice unrelated to anything else derived from member ids (task ids are sha1).
"""

from __future__ import annotations

from hashlib import blake2b

from privdom.playbook.models import Rule

_KEY = b"privdom holdout"
_SCALE = float(1 << 64)


def stable_fraction(*parts: str, key: bytes = _KEY) -> float:
    """A number in [0, 1) that depends only on `parts` and the key: a reproducible coin."""
    digest = blake2b("\x1f".join(parts).encode(), key=key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def holdout_fraction(rule_id: str, member_id: str) -> float:
    """The pair's number: the member is held out when it is below the rule's share."""
    return stable_fraction(rule_id, member_id)


def held_out(rule: Rule, member_id: str | None) -> bool:
    """Whether this member's task of `rule` goes to the control group (member tasks only)."""
    return rule.holdout > 0 and member_id is not None and holdout_fraction(rule.id, member_id) < rule.holdout
