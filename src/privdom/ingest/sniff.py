"""Which delimiter a text export uses: `,` `\\t` `;` or `|`, judged from the header line."""

from __future__ import annotations

DELIMITERS = (",", "\t", ";", "|")


def sniff_delimiter(header_line: str) -> str:
    """The candidate that splits the header (outside quotes) into the most fields; `,` on a tie."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","
