"""Helpers shared by the collection modules: ids, UTC time, projections, safe updates.

nx-27017 (the embedded server) stores a datetime given in `$set` on an existing document, or
in any `find_one_and_update`, as a string. Updates here therefore read the document, change it
in Python and `replace_one` it guarded by a revision counter (`_rev`): datetimes stay BSON
dates and concurrent writers never lose each other's changes. It is also correct on MongoDB.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

NO_ID = {"_id": 0, "_rev": 0}
_ATTEMPTS = 50


def new_id() -> str:
    """A fresh uuid4 hex id."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Now, timezone-aware UTC, truncated to milliseconds (what BSON keeps)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def count(collection: Collection, query: dict[str, Any]) -> int:
    """How many documents of `collection` match `query`, by the `count` command.

    pymongo's `count_documents` sends an aggregation, which nx-27017 (the embedded server) runs
    in Python over every document; the `count` command it turns into one SQL query (numbers in
    benchmarks/README.md, "Counting"). On MongoDB the command with a query is exact and uses
    the indexes; it is not allowed inside a transaction, and nothing here counts in one.
    """
    reply = collection.database.command("count", collection.name, query=query)
    return int(reply["n"])


def page_of(collection: Collection, query: dict[str, Any], sort: list[tuple[str, int]],
            page: int, per_page: int, projection: dict[str, int] | None = None
            ) -> tuple[list[dict[str, Any]], int]:
    """One page (1-based) of the documents matching `query` in `sort` order (without `_id` and
    `_rev` unless `projection` says otherwise), and how many match in all."""
    if page < 1 or per_page < 1:
        raise ValueError("page and per_page start at 1")
    cursor = collection.find(query, projection or NO_ID).sort(sort)
    return list(cursor.skip((page - 1) * per_page).limit(per_page)), count(collection, query)


def public(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """The document without `_id` and `_rev`."""
    if doc is None:
        return None
    return {k: v for k, v in doc.items() if k not in ("_id", "_rev")}


def insert(coll: Collection, doc: dict[str, Any]) -> dict[str, Any]:
    """Insert a versioned document; returns it without `_id`/`_rev`."""
    stored = {**doc, "_rev": 0}
    coll.insert_one(stored)
    return public(stored)


def modify(
    coll: Collection,
    query: dict[str, Any],
    change: Callable[[dict[str, Any]], None],
    new: Callable[[], dict[str, Any]] | None = None,
    last_stored: tuple[dict[str, Any], int] | None = None,
    insert_first: bool = False,
) -> dict[str, Any] | None:
    """Apply `change(doc)` in place to the one document matching `query` and store it.

    Without a match: insert `new()` changed by `change` when `new` is given (upsert), else
    return None. Retries when another writer got there first.

    Round trips saved where the caller knows better (each falls back to the read when wrong):
    `last_stored` = (the document as this caller last stored it, its `_rev`) replaces it guarded
    by that revision without reading it first; `insert_first=True` (with `new`) tries the insert
    first, for a document that cannot exist yet (a new job's result or node).
    """
    for attempt in range(_ATTEMPTS):
        if attempt == 0 and insert_first and new is not None:
            doc = None
        elif attempt == 0 and last_stored is not None:
            known, rev = last_stored
            doc = {k: v for k, v in known.items() if k not in ("_id", "_rev")}
            change(doc)
            doc["_rev"] = rev + 1
            if coll.replace_one({**query, "_rev": rev}, doc).matched_count:
                return public(doc)
            continue
        else:
            doc = coll.find_one(query)
        if doc is None:
            if new is None:
                return None
            fresh_doc = new()
            change(fresh_doc)
            try:
                return insert(coll, fresh_doc)
            except DuplicateKeyError:
                continue
        rev = doc.pop("_rev", 0)
        doc_id = doc.pop("_id")
        change(doc)
        doc["_rev"] = rev + 1
        if coll.replace_one({"_id": doc_id, "_rev": rev}, doc).matched_count:
            return public(doc)
    raise RuntimeError(f"could not update {coll.name} {query}: too many concurrent writers")
