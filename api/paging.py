"""Query-string integers and the `page` / `per_page` pair every list route reads."""

from __future__ import annotations

from flask import request

from api.errors import ApiError

MAX_PAGE = 1_000_000
DEFAULT_PER_PAGE = 20


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The query parameter `name` as an integer in [low, high] (`default` when absent); a 400
    naming the range otherwise."""
    raw = request.args.get(name)
    try:
        value = default if raw in (None, "") else int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(400, "bad_parameter", f"{name} must be an integer from {low} to {high}")
    return value


def page_args(max_per_page: int) -> tuple[int, int]:
    """`(page, per_page)` from the query string: page from 1, per_page up to `max_per_page`."""
    return (int_arg("page", 1, 1, MAX_PAGE),
            int_arg("per_page", DEFAULT_PER_PAGE, 1, max_per_page))
