"""The one check for seeds and counts (layers, steps, models, examples...) that every module uses.

A count is a Python or numpy integer; True and False are refused although Python counts them as 1 and 0,
and so is 3.0. Each message names the argument, shows the value given and says what is allowed:

    seed=-1 must be a non-negative integer
    every=0 must be a positive integer
    depth=0 must be an integer from 1 to 1,000
"""

from __future__ import annotations

from typing import Any

import numpy as np


def is_count(value: Any, minimum: int = 0, maximum: int | None = None) -> bool:
    """True if `value` is an integer (not a bool) from `minimum` to `maximum` (no upper limit if None)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return False
    return minimum <= value and (maximum is None or value <= maximum)


def allowed_counts(minimum: int = 0, maximum: int | None = None) -> str:
    """What `is_count(value, minimum, maximum)` accepts, in words: "a positive integer", "an integer from 2 to 9"."""
    if maximum is not None:
        return f"an integer from {minimum:,} to {maximum:,}"
    if minimum == 0:
        return "a non-negative integer"
    if minimum == 1:
        return "a positive integer"
    return f"an integer >= {minimum:,}"


def count(name: str, value: Any, minimum: int = 0, maximum: int | None = None) -> int:
    """`value` as an int, if it is an integer from `minimum` to `maximum`; else a ValueError such as
    "steps=-1 must be a non-negative integer"."""
    if not is_count(value, minimum, maximum):
        raise ValueError(f"{name}={value!r} must be {allowed_counts(minimum, maximum)}")
    return int(value)


def seed(value: Any, name: str = "seed") -> int:
    """A seed for numpy.random.default_rng: an integer >= 0."""
    return count(name, value, 0)


def batch_size(value: Any, examples: int) -> int | None:
    """A trainer's batch size: None (full batch) or a positive integer; a batch of all `examples` or more is the
    full batch, None. Else a ValueError such as "batch_size=0 must be None (full batch) or a positive integer"."""
    if value is not None and not is_count(value, 1):
        raise ValueError(f"batch_size={value!r} must be None (full batch) or a positive integer")
    return None if value is None or value >= examples else int(value)
