"""Reading a YAML file into plain data while keeping the line every key and item was written on.

The rules in :mod:`cxm.journeys.validation` work on plain data; this module gives them the lines
to point at, the keys written twice (which plain data silently collapses), and a readable reason
with a line when the text is not YAML at all:

>>> source = read_yaml("journey: Onboarding\\nstages:\\n  - id: signup\\n")
>>> source.data["stages"][0]["id"], source.lines.line(("stages", 0, "id"))
('signup', 3)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

import yaml

Path = tuple[str | int, ...]
"""Keys and list indexes from the top of a document down to one value."""


class LineLookup:
    """Finds the line a path of keys and indexes was written on (None without a node tree)."""

    def __init__(self, root: yaml.Node | None = None) -> None:
        self.root = root

    def line(self, path: Path) -> int | None:
        """The line of the deepest step of ``path`` that exists; None for data such as JSON."""
        node = self.root
        if node is None:
            return None
        line: int = node.start_mark.line + 1
        for step in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == str(step):
                        line, child = key.start_mark.line + 1, value
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(step, int)
                and 0 <= step < len(node.value)
            ):
                child = node.value[step]
                line = child.start_mark.line + 1
            if child is None:
                break
            node = child
        return line


class DuplicateKey(NamedTuple):
    """A key written a second time in one mapping; YAML loaders keep only the last value."""

    path: Path
    key: str
    line: int
    first_line: int


@dataclass(frozen=True)
class YamlSource:
    """A YAML document as plain data, with its lines and the keys it repeats."""

    data: Any
    lines: LineLookup
    duplicate_keys: tuple[DuplicateKey, ...]


class YamlSyntaxError(ValueError):
    """The text is not YAML (bad syntax or a forbidden character); ``line`` counts from 1."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(f"line {line}: {reason}")
        self.reason, self.line = reason, line


def read_yaml(text: str) -> YamlSource:
    """Parse one YAML document safely; raise :class:`YamlSyntaxError` when it is not YAML."""
    try:
        root, data = _load(text)
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(_yaml_reason(exc), _yaml_line(exc, text)) from exc
    duplicates = tuple(_duplicate_keys(root)) if root is not None else ()
    return YamlSource(data=data, lines=LineLookup(root), duplicate_keys=duplicates)


def _load(text: str) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data built from that same tree."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        return root, loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


def _yaml_reason(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        return f"{exc.problem}{f' ({exc.context})' if exc.context else ''}"
    if isinstance(exc, yaml.reader.ReaderError):
        return f"character #x{exc.character:04x} is not allowed in YAML"
    return str(exc)


def _yaml_line(exc: yaml.YAMLError, text: str) -> int:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            return int(mark.line) + 1
    if isinstance(exc, yaml.reader.ReaderError):
        return text.count("\n", 0, exc.position) + 1
    return 1


def _duplicate_keys(root: yaml.Node) -> Iterator[DuplicateKey]:
    seen: set[int] = set()  # aliases share nodes: visit each once

    def walk(node: yaml.Node, path: Path) -> Iterator[DuplicateKey]:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else None
                if isinstance(name, str):
                    if name in first:
                        yield DuplicateKey(
                            (*path, name), name, key.start_mark.line + 1, first[name]
                        )
                    else:
                        first[name] = key.start_mark.line + 1
                yield from walk(value, (*path, name if isinstance(name, str) else "?"))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                yield from walk(item, (*path, index))

    yield from walk(root, ())
