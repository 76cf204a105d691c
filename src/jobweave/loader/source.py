"""Read a YAML or JSON definition file into plain data, keeping each value's line number.

``yaml.safe_load`` forgets where values came from, so the file is composed into nodes
(with the safe loader's resolver) and converted here, recording the 1-based line of every
mapping entry and list item under its location, e.g. ``("jobs", 2, "retries")``.
JSON goes through the same composer (JSON is YAML's flow style), after ``json`` itself
has checked the syntax, so both formats report errors the same way.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import yaml

from jobweave.errors import DefinitionError

Loc = tuple[str | int, ...]
"""A location in the document: mapping keys and list indexes from the top."""

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)

_TIMESTAMP = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed definition file: its data and where each part of it was written."""

    path: str
    """The file as named in messages."""
    data: Any
    """Plain data: dicts, lists, strings, numbers, booleans, None."""
    lines: dict[Loc, int] = field(default_factory=dict)
    """1-based line of each location (a mapping entry's key, a list item's start)."""

    def line(self, loc: Loc) -> int | None:
        """The line of ``loc``, or of its nearest enclosing part that has one."""
        for end in range(len(loc), -1, -1):
            found = self.lines.get(loc[:end])
            if found is not None:
                return found
        return None

    def error(self, message: str, loc: Loc, *, cls: type[DefinitionError] = DefinitionError,
              ) -> DefinitionError:
        """A DefinitionError pointing at ``loc`` in this file."""
        return cls(message, path=self.path, line=self.line(loc), field=render_loc(loc) or None)


def render_loc(loc: Loc) -> str:
    """``("jobs", 2, "retries")`` → ``jobs[2].retries``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier() or (part.replace("-", "_").isidentifier()):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part)}]"
    return out


def is_definition_file(path: str) -> bool:
    """True for the file names this loader reads (``.yaml``, ``.yml``, ``.json``)."""
    return path.lower().endswith(YAML_SUFFIXES + JSON_SUFFIXES)


def read_document(path: str) -> Document:
    """Read and parse the file at ``path`` (named as given in messages)."""
    if not is_definition_file(path):
        raise DefinitionError("a definition file must end in .yaml, .yml or .json", path=path)
    if not os.path.isfile(path):
        raise DefinitionError("no such file", path=path)
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                              path=path) from None
    except OSError as exc:
        raise DefinitionError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    return parse(text, path, json_mode=path.lower().endswith(JSON_SUFFIXES))


def parse(text: str, path: str, *, json_mode: bool = False) -> Document:
    """Parse definition text; syntax errors become DefinitionErrors with their line."""
    if json_mode:
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"invalid JSON: {exc.msg}", path=path,
                                  line=exc.lineno) from None
        # a tab may separate JSON tokens but not YAML ones; JSON strings cannot hold a raw tab
        text = text.replace("\t", " ")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, path, json_mode) from None
    except yaml.YAMLError as exc:
        raise DefinitionError(f"invalid YAML: {' '.join(str(exc).split())}", path=path) from None
    if root is None:
        raise DefinitionError("the file is empty", path=path, line=1)
    doc = Document(path, None, {(): root.start_mark.line + 1})
    converter = _Converter(doc, json_mode)
    try:
        data = converter.convert(root, ())
    except yaml.MarkedYAMLError as exc:  # a bad merge key (<<) is only found while converting
        raise _syntax_error(exc, path, json_mode) from None
    return Document(path, data, doc.lines)


def _syntax_error(exc: yaml.MarkedYAMLError, path: str, json_mode: bool) -> DefinitionError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "syntax error"
    context = f" ({exc.context})" if exc.context else ""
    kind = "JSON" if json_mode else "YAML"
    return DefinitionError(f"invalid {kind}: {problem}{context}", path=path,
                           line=mark.line + 1 if mark else None)


class _Converter:
    """Turns composed nodes into plain data and fills ``doc.lines``."""

    def __init__(self, doc: Document, json_mode: bool) -> None:
        self.doc = doc
        self.json_mode = json_mode
        self.constructor = yaml.SafeLoader("")
        self.active: set[int] = set()  # nodes being converted: an alias back into one loops

    def convert(self, node: yaml.Node, loc: Loc) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node)
        if id(node) in self.active:
            raise self.doc.error("an alias refers to a node that contains it", loc)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, loc)
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, loc)
        finally:
            self.active.discard(id(node))
        raise self.doc.error(f"unsupported YAML node {type(node).__name__}", loc)

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if self.json_mode and node.style is None:
            return json.loads(node.value)  # true, null, 1e5: JSON's reading, not YAML 1.1's
        if node.tag == _TIMESTAMP:
            return node.value  # a date stays the text written: parameters must be JSON data
        return self.constructor.construct_object(node, deep=True)

    def _sequence(self, node: yaml.SequenceNode, loc: Loc) -> list[Any]:
        out = []
        for i, child in enumerate(node.value):
            self.doc.lines[(*loc, i)] = child.start_mark.line + 1
            out.append(self.convert(child, (*loc, i)))
        return out

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self._key(key_node, loc)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise DefinitionError(f"duplicate key {key!r} (first on line {seen[key]})",
                                      path=self.doc.path, line=line,
                                      field=render_loc((*loc, key)))
            seen[key] = line
        self.constructor.flatten_mapping(node)  # apply `<<: *defaults` merges
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, loc)
            self.doc.lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = self.convert(value_node, (*loc, key))
        return out

    def _key(self, node: yaml.Node, loc: Loc) -> str:
        key = self._scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            shown = key if isinstance(node, yaml.ScalarNode) else "a collection"
            raise DefinitionError(f"a key must be text, got {shown!r}; quote it",
                                  path=self.doc.path, line=node.start_mark.line + 1,
                                  field=render_loc(loc) or None)
        return key
