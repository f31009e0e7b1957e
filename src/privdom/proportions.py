"""Confidence intervals for proportions and their difference, with the standard library only.

Wilson's score interval for one proportion, and Newcombe's hybrid score interval (his method 10)
for a difference of two independent proportions: both stay inside [0, 1] / [-1, 1] and behave at
small counts and at rates near 0 or 1, where the textbook Wald interval does not.
Newcombe, R. G. (1998), Statistics in Medicine 17, 873-890.
"""

from __future__ import annotations

from math import sqrt
from statistics import NormalDist

Z_95 = NormalDist().inv_cdf(0.975)


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson's score interval for successes / n (n > 0)."""
    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n > 0, got {successes}/{n}")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float = Z_95) -> tuple[float, float, float]:
    """(difference, low, high) for k1/n1 - k2/n2, Newcombe's hybrid score interval."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    diff = p1 - p2
    low = diff - sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return diff, low, high
