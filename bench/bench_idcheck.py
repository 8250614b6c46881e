"""Resident ID validation: shebao.core.ids.normalize_resident_id vs a bare checksum loop.

Inputs: ``n`` (200,000) generated 18-character resident IDs, seeded, from real area codes and
birth dates 1940–2009; 5 % carry a wrong check character. Ours is the full validation a form or a
batch import runs (cleaning, area, birth date, check character, a ``ValidationError`` with its
Chinese message for the bad ones; ``today`` left to its default, as callers do). The baseline is
the GB 11643 MOD 11-2 checksum alone, in plain Python. Both must classify every input alike.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.core.exceptions import ValidationError

from shebao.core.ids import make_resident_id, normalize_resident_id

NAME = "idcheck"
DEFAULT_N = 200_000
INVALID_SHARE = 0.05
SEED = 20240601

AREAS = (
    "110101", "110105", "120101", "130102", "140105", "210102", "310101", "310115",
    "320102", "330106", "340104", "350203", "370202", "410105", "420106", "430104",
    "440106", "440305", "450103", "500103", "510107", "530102", "610113", "650102",
)  # fmt: skip
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"


def generate(n: int, seed: int = SEED) -> tuple[list[str], int]:
    """``n`` IDs and how many of them have a deliberately wrong check character."""
    rng = random.Random(seed)
    first, span = date(1940, 1, 1), (date(2009, 12, 31) - date(1940, 1, 1)).days
    ids, invalid = [], 0
    for _ in range(n):
        number = make_resident_id(
            rng.choice(AREAS), first + timedelta(days=rng.randrange(span + 1)), rng.randrange(1000)
        )
        if rng.random() < INVALID_SHARE:
            wrong = rng.choice([c for c in "0123456789X" if c != number[17]])
            number = number[:17] + wrong
            invalid += 1
        ids.append(number)
    return ids, invalid


def baseline_valid(number: str) -> bool:
    total = 0
    for digit, weight in zip(number[:17], WEIGHTS, strict=True):
        total += int(digit) * weight
    return CHECK_CHARS[total % 11] == number[17]


def ours_valid(number: str) -> bool:
    try:
        normalize_resident_id(number)
    except ValidationError:
        return False
    return True


def count_ours(ids: list[str]) -> int:
    valid = 0
    for number in ids:
        try:
            normalize_resident_id(number)
        except ValidationError:
            continue
        valid += 1
    return valid


def count_baseline(ids: list[str]) -> int:
    valid = 0
    for number in ids:
        total = 0
        for digit, weight in zip(number[:17], WEIGHTS, strict=True):
            total += int(digit) * weight
        if CHECK_CHARS[total % 11] == number[17]:
            valid += 1
    return valid


def run(ctx) -> dict:
    n = ctx.size(DEFAULT_N)
    ids, invalid = generate(n)
    # Same verdict on every input, and the planted errors found, checked outside the timed loops.
    verdicts = [(ours_valid(number), baseline_valid(number)) for number in ids]
    disagree = [number for number, (a, b) in zip(ids, verdicts, strict=True) if a != b]
    if disagree:
        raise AssertionError(f"{len(disagree)} IDs classified differently, e.g. {disagree[:3]}")
    if sum(a for a, _ in verdicts) != n - invalid:
        raise AssertionError(f"expected {n - invalid} valid IDs")

    ours_s, baseline_s = ctx.compare(lambda: count_ours(ids), lambda: count_baseline(ids))
    return {"n": n, "ours_s": ours_s, "baseline_s": baseline_s, "invalid": invalid, "seed": SEED}
