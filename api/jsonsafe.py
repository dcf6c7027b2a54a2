"""JSON bodies that parse into what the API can handle: bounded nesting, encodable strings."""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")
"""A lone UTF-16 surrogate (`"\\ud800"` in JSON): valid JSON, yet no UTF-8 encodes it."""


class UnsafeJSON(ValueError):
    """A body that is JSON but nested deeper than allowed or holding a lone surrogate."""


def loads(text: str | bytes, max_depth: int, **kwargs: Any) -> Any:
    """`json.loads`, refusing (`UnsafeJSON`, a ValueError) nesting deeper than `max_depth` and
    strings with lone surrogates; a body too deep for the parser itself is refused the same way."""
    try:
        value = json.loads(text, **kwargs)
    except RecursionError:
        raise UnsafeJSON(f"the JSON body is nested deeper than {max_depth}") from None
    check(value, max_depth)
    return value


def check(value: Any, max_depth: int) -> None:
    """Walk `value` without recursion; UnsafeJSON at the first problem."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise UnsafeJSON("the JSON body holds a lone surrogate (not valid Unicode)")
            continue
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth + 1 > max_depth:
            raise UnsafeJSON(f"the JSON body is nested deeper than {max_depth} (MAX_JSON_DEPTH)")
        stack.extend((child, depth + 1) for child in children)
