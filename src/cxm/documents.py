"""Documents of many definitions (a file of knowledge-base articles, of facts): read once,
each item saved on its own, every bad item reported with where it is and why, the good ones
kept.

YAML is read without its own date parsing, so a bad date (``2026-13-01``) stays text and is
one item's problem, reported where it is, not a file that cannot be read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import yaml
from sqlalchemy.orm import Session

from cxm.errors import ErrorDetail, InvalidInput

T = TypeVar("T")


class _Loader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver (dates stay strings)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_items(text: str, key: str, *, max_bytes: int = 5_000_000) -> list[Any]:
    """The list under ``key`` of a YAML or JSON document; InvalidInput when there is none."""
    if len(text.encode()) > max_bytes:
        raise InvalidInput(f"the file has at most {max_bytes:,} bytes")
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise InvalidInput(f"the file is not valid YAML or JSON{line}") from None
    except RecursionError:
        raise InvalidInput("the file is nested too deeply") from None
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InvalidInput(f"the file holds no list: write '{key}:' and a list")
    return items


def save_each(
    session: Session, items: list[Any], key: str, save: Callable[[Any], T]
) -> tuple[list[T], list[ErrorDetail]]:
    """``save(item)`` for each item in a savepoint of its own: what was saved, and every
    problem of the items refused, located as ``key[i] (id).field``."""
    saved: list[T] = []
    rejected: list[ErrorDetail] = []
    for index, item in enumerate(items):
        try:
            with session.begin_nested():
                saved.append(save(item))
        except InvalidInput as exc:
            label = item.get("id") if isinstance(item, dict) else None
            where = f"{key}[{index}]" + (f" ({label})" if isinstance(label, str) else "")
            for problem in exc.errors or [ErrorDetail((), exc.message)]:
                rejected.append(ErrorDetail((where, *problem.loc), problem.message))
    return saved, rejected
