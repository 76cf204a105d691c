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
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from jobweave.errors import DefinitionError
from jobweave.loader import limits

Loc = tuple[str | int, ...]
"""A location in the document: mapping keys and list indexes from the top."""

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_INT = "tag:yaml.org,2002:int"
_LONG_LINE = re.compile(f"[^\\n]{{{limits.MAX_STRING + 1}}}")
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"


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
        with open(path, "rb") as f:
            raw = f.read(limits.MAX_FILE_BYTES + 1)
        if len(raw) > limits.MAX_FILE_BYTES:
            raise DefinitionError(f"the file is larger than {limits.MAX_FILE_BYTES} bytes, the "
                                  "most a definition file may have", path=path)
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DefinitionError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})",
                              path=path) from None
    except OSError as exc:
        raise DefinitionError(f"cannot read the file: {exc.strerror or exc}", path=path) from None
    return parse(text, path, json_mode=path.lower().endswith(JSON_SUFFIXES))


def parse(text: str, path: str, *, json_mode: bool = False) -> Document:
    """Parse definition text; syntax errors become DefinitionErrors with their line."""
    long_line = None if json_mode else _LONG_LINE.search(text)
    # a long line is refused before the (pure Python) scanner reads it character by character;
    # not in JSON, where minified files are one line
    if long_line is not None:
        raise DefinitionError(f"a line longer than {limits.MAX_STRING} characters", path=path,
                              line=text.count("\n", 0, long_line.start()) + 1)
    if json_mode:
        try:
            json.loads(text, parse_int=_any_int)
        except json.JSONDecodeError as exc:
            raise DefinitionError(f"invalid JSON: {exc.msg}", path=path,
                                  line=exc.lineno) from None
        except RecursionError:
            raise DefinitionError(f"nested deeper than {limits.MAX_DEPTH} levels", path=path
                                  ) from None
        # a tab may separate JSON tokens but not YAML ones; JSON strings cannot hold a raw tab
        text = text.replace("\t", " ")
    try:
        root = yaml.compose(text, Loader=_Composer)
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


def _any_int(digits: str) -> int:
    """JSON's syntax check keeps no values: whole numbers (of any length) are read later."""
    return 0


class _Limit(yaml.MarkedYAMLError):
    """A limit of :mod:`jobweave.loader.limits` passed while composing, at a mark."""


class _Composer(yaml.SafeLoader):
    """The safe loader's composer, refusing deep nesting and many aliases as it goes.

    PyYAML composes recursively, so nesting is counted before each collection is entered
    (the parser and scanner below it keep explicit stacks and do not recurse).
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > limits.MAX_ALIASES:
                raise _Limit(problem=f"more than {limits.MAX_ALIASES} aliases in one file",
                             problem_mark=self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        if self.check_event(yaml.CollectionStartEvent):
            self.depth += 1
            if self.depth > limits.MAX_DEPTH:
                raise _Limit(problem=f"nested deeper than {limits.MAX_DEPTH} levels",
                             problem_mark=self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            try:
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1
        return super().compose_node(parent, index)


def _syntax_error(exc: yaml.MarkedYAMLError, path: str, json_mode: bool) -> DefinitionError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    if isinstance(exc, _Limit):
        return DefinitionError(str(exc.problem), path=path, line=line)
    problem = exc.problem or "syntax error"
    context = f" ({exc.context})" if exc.context else ""
    kind = "JSON" if json_mode else "YAML"
    return DefinitionError(f"invalid {kind}: {problem}{context}", path=path, line=line)


Pair = tuple[yaml.Node, yaml.Node]


class _Converter:
    """Turns composed nodes into plain data and fills ``doc.lines``.

    An alias is the node it names, shared: converting it again is what expands it, so
    every conversion of a node already converted counts against
    :data:`~jobweave.loader.limits.MAX_ALIAS_VALUES`. Merge keys (``<<: *defaults``) are
    applied here, once per mapping and without repeating keys, so merging a merge does not
    double in size.
    """

    def __init__(self, doc: Document, json_mode: bool) -> None:
        self.doc = doc
        self.json_mode = json_mode
        self.constructor = yaml.SafeLoader("")
        self.active: set[int] = set()  # nodes being converted: an alias back into one loops
        self.done: set[int] = set()  # nodes converted once
        self.expanded = 0  # conversions of nodes converted before: what aliases expand to
        self.merged: dict[int, dict[str, Pair]] = {}  # a mapping's entries, its merges applied

    def convert(self, node: yaml.Node, loc: Loc) -> Any:
        if id(node) in self.done:
            self.expanded += 1
            if self.expanded > limits.MAX_ALIAS_VALUES:
                raise self.doc.error(f"aliases expand to more than {limits.MAX_ALIAS_VALUES} "
                                     "values", loc)
        else:
            self.done.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, loc)
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

    def _scalar(self, node: yaml.ScalarNode, loc: Loc) -> Any:
        value: str = node.value
        if len(value) > limits.MAX_STRING:
            raise self.doc.error(f"a value of {len(value)} characters; at most "
                                 f"{limits.MAX_STRING} are allowed", loc)
        if node.style is None and len(value) > limits.MAX_INT_DIGITS and _is_number(node):
            raise self.doc.error(f"a number of {len(value)} digits; at most "
                                 f"{limits.MAX_INT_DIGITS} are allowed", loc)
        if self.json_mode and node.style is None:
            return json.loads(value)  # true, null, 1e5: JSON's reading, not YAML 1.1's
        if node.tag == _TIMESTAMP:
            return value  # a date stays the text written: parameters must be JSON data
        return self.constructor.construct_object(node, deep=True)

    def _sequence(self, node: yaml.SequenceNode, loc: Loc) -> list[Any]:
        out = []
        for i, child in enumerate(node.value):
            self.doc.lines[(*loc, i)] = child.start_mark.line + 1
            out.append(self.convert(child, (*loc, i)))
        return out

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, (key_node, value_node) in self._entries(node, loc).items():
            self.doc.lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = self.convert(value_node, (*loc, key))
        return out

    def _entries(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Pair]:
        """A mapping's entries by key, with ``<<`` merges applied (its own keys win)."""
        own: dict[str, Pair] = {}
        merges: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                merges.extend(self._merge_sources(value_node, loc))
                continue
            key = self._key(key_node, loc)
            if key in own:
                first = own[key][0].start_mark.line + 1
                raise DefinitionError(f"duplicate key {key!r} (first on line {first})",
                                      path=self.doc.path, line=key_node.start_mark.line + 1,
                                      field=render_loc((*loc, key)))
            own[key] = (key_node, value_node)
        if not merges:
            return own
        entries: dict[str, Pair] = {}
        for source in merges:  # an earlier merge source wins over a later one
            for key, pair in self._merged(source, loc).items():
                entries.setdefault(key, pair)
        entries.update(own)
        return entries

    def _merged(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Pair]:
        """The entries of a mapping merged into another, worked out once per mapping."""
        found = self.merged.get(id(node))
        if found is not None:
            return dict(found)
        if id(node) in self.active:
            raise self.doc.error("a merge refers to a mapping that contains it", loc)
        self.active.add(id(node))
        try:
            entries = self._entries(node, loc)
        finally:
            self.active.discard(id(node))
        self.merged[id(node)] = entries
        return dict(entries)

    def _merge_sources(self, node: yaml.Node, loc: Loc) -> list[yaml.MappingNode]:
        if isinstance(node, yaml.MappingNode):
            return [node]
        if isinstance(node, yaml.SequenceNode) and all(
                isinstance(sub, yaml.MappingNode) for sub in node.value):
            return list(node.value)
        raise DefinitionError("a merge (<<) takes a mapping or a list of mappings",
                              path=self.doc.path, line=node.start_mark.line + 1,
                              field=render_loc(loc) or None)

    def _key(self, node: yaml.Node, loc: Loc) -> str:
        key = self._scalar(node, loc) if isinstance(node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            shown = key if isinstance(node, yaml.ScalarNode) else "a collection"
            raise DefinitionError(f"a key must be text, got {shown!r}; quote it",
                                  path=self.doc.path, line=node.start_mark.line + 1,
                                  field=render_loc(loc) or None)
        return key


def _is_number(node: yaml.ScalarNode) -> bool:
    """A plain scalar that YAML or JSON reads as a number."""
    return node.tag in (_INT, _FLOAT)
