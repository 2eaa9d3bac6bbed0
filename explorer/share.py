"""Shareable settings: read a dashboard's settings from its link's query, and write the link back.

    ?demo=three-layer&init=zero&seed=3

`demo` names a tab; every other key names one of that demo's controls and its value is checked against
what the control allows (one of its options, an integer or a number within its bounds, true or false).
Nothing in a query is ever evaluated: a value is compared with a list or read by int() / float() after a
regular expression has accepted it. Whatever does not pass becomes a plain-text problem for the page to
show; parsing never raises.

Voila hands the page's query to the kernel in the environment variable QUERY_STRING (voila 0.5,
`voila/handler.py`: ``request_info[QUERY_STRING] = str(self.request.query)``, merged into the kernel's
environment when the kernel starts), so a dashboard reads ``os.environ.get("QUERY_STRING", "")``.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

MAX_QUERY = 2_000  # characters: more is not a link anyone shares by hand
MAX_FIELDS = 40
SHOWN = 40  # characters of a bad key or value repeated in a message
IGNORED = frozenset({"template", "theme", "token"})  # Voila's and Jupyter's own query parameters
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
INT = re.compile(r"[+-]?\d{1,12}")
FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d{1,3})?")


@dataclass(frozen=True)
class Control:
    """What a control accepts: kind is "choice" (one of `choices`), "int", "float" or "bool";
    `low` and `high` bound a number (None: no bound)."""

    kind: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        _check_text("kind", self.kind)  # another kind is refused by coerce: it cannot be set from a link
        if not all(isinstance(choice, str) for choice in self.choices):
            raise TypeError(f"choices={self.choices!r} must be texts")
        for name in ("low", "high"):
            bound = getattr(self, name)
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, numbers.Real)
                                      or math.isnan(bound)):
                raise ValueError(f"{name}={bound!r} must be a number or None")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low={self.low!r} is above high={self.high!r}")


def _check_text(name: str, value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name}={value!r} must be a str, not {type(value).__name__}")


def shown(text: str) -> str:
    """`text` shortened for a message."""
    _check_text("text", text)
    return repr(text if len(text) <= SHOWN else text[:SHOWN] + "...")


def parse_query(query: str | None) -> tuple[dict[str, str], list[str]]:
    """The key=value pairs of a query string (with or without its "?"), and the problems found.

    Voila's and Jupyter's own parameters (template, theme, token) are left out. A key given twice keeps
    its last value, with a problem saying so. A query that is too long or has too many fields is
    dropped whole.
    """
    if query is not None:
        _check_text("query", query)
    query = (query or "").lstrip("?")
    if not query:
        return {}, []
    if len(query) > MAX_QUERY:
        return {}, [f"the link's settings are too long ({len(query):,} characters, at most {MAX_QUERY:,}): ignored"]
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        return {}, [f"the link has too many settings (at most {MAX_FIELDS}): ignored"]
    params: dict[str, str] = {}
    problems = []
    for key, value in pairs:
        if key in IGNORED:
            continue
        if key in params:
            problems.append(f"{shown(key)} is given more than once; the last value is used")
        params[key] = value
    return params, problems


def coerce(key: str, text: str, control: Control) -> Any:
    """The value `text` stands for, as `control` accepts it; ValueError naming the key, the value and what
    is allowed otherwise."""
    _check_text("key", key)
    _check_text(key, text)
    if not isinstance(control, Control):
        raise TypeError(f"control={control!r} must be an explorer.share.Control")
    text = text.strip()
    if control.kind == "choice":
        if text in control.choices:
            return text
        raise ValueError(f"{key}={shown(text)} is not allowed; valid: {', '.join(control.choices)}")
    if control.kind == "bool":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise ValueError(f"{key}={shown(text)} must be true or false")
    if control.kind == "int":
        if not INT.fullmatch(text):
            raise ValueError(f"{key}={shown(text)} must be a whole number{_bounds(control)}")
        value = int(text)
    elif control.kind == "float":
        if not FLOAT.fullmatch(text) or not math.isfinite(float(text)):
            raise ValueError(f"{key}={shown(text)} must be a number{_bounds(control)}")
        value = float(text)
    else:
        raise ValueError(f"{key} cannot be set from a link")
    if (control.low is not None and value < control.low) or (control.high is not None and value > control.high):
        raise ValueError(f"{key}={shown(text)} is out of range{_bounds(control)}")
    return value


def _bounds(control: Control) -> str:
    if control.low is not None and control.high is not None:
        return f" from {control.low:g} to {control.high:g}"
    if control.low is not None:
        return f" of at least {control.low:g}"
    if control.high is not None:
        return f" of at most {control.high:g}"
    return ""


def format_value(value: Any) -> str:
    """How a control's value is written in a link: true/false, the shortest exact float, or the text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Real) and not math.isfinite(value):
        raise ValueError(f"value={value!r} cannot be written in a link: a number must be finite")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (str, numbers.Real)):
        return str(value)
    raise TypeError(f"value={value!r} cannot be written in a link: give true/false, a number or a text, "
                    f"not {type(value).__name__}")


def make_query(demo: str, values: Mapping[str, Any]) -> str:
    """The relative link "?demo=...&key=value..." for `demo` with these control values."""
    _check_text("demo", demo)
    if not demo:
        raise ValueError("demo='' must name a demo")
    if not isinstance(values, Mapping):
        raise TypeError(f"values={values!r} must be a mapping of control names to values")
    pairs = [("demo", demo), *((key, format_value(value)) for key, value in values.items())]
    return "?" + urlencode(pairs, quote_via=quote, safe="")


def slug(module: str) -> str:
    """A demo's name in links: its module with dashes, e.g. three_layer -> three-layer."""
    _check_text("module", module)
    return module.replace("_", "-")


def choose_demo(name: str | None, modules: Sequence[str]) -> tuple[int | None, list[str]]:
    """The index of the demo called `name` (a slug) among `modules`, or None with a problem."""
    if isinstance(modules, str) or not isinstance(modules, Sequence):
        raise TypeError(f"modules={modules!r} must be a list of module names, not {type(modules).__name__}")
    if name is None:
        return None, []
    names = [slug(m) for m in modules]
    if name in names:
        return names.index(name), []
    return None, [f"demo={shown(name)} is unknown; valid: {', '.join(names)}"]
