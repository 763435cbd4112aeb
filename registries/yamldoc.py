"""YAML documents that remember where every key and list item came from (file and line).

`load_yaml_doc` returns ordinary dicts and lists (subclasses `PosDict`/`PosList`) whose `pos` attribute maps each
key or index to a `Pos`, so a pydantic error at `("voice", "rate")` can be reported at the line of `rate:`.
`deep_merge` keeps those positions, so a bad value inherited from `_defaults.yaml` is reported in that file.

A document is refused before it is built when it is too large, nested too deep or expands too much through
aliases (a "billion laughs" bomb): anchors are shared while parsing but every later step copies them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import yaml

MAX_YAML_BYTES = 1 << 20  # registry files are a few KB; prompts live in their own files
MAX_YAML_DEPTH = 64  # nesting of mappings and lists; deep enough for any registry, far from recursion limits
MAX_YAML_NODES = 100_000  # keys, values and items after expanding every alias


@dataclass(frozen=True)
class Pos:
    """Where a key (or list item) and its value are in a YAML file. Lines are 1-based."""

    file: Path
    line: int
    value_line: int
    block: bool = False  # the value is a block scalar (`|` or `>`): its text starts on the line after

    def text_line(self, template_line: int) -> int:
        """The file line of line `template_line` (1-based) of this value's text (exact for `|` blocks)."""
        return self.value_line + template_line - (0 if self.block else 1)


class PosDict(dict[Any, Any]):
    """A mapping loaded from YAML; `pos[key]` is where `key` was written."""

    pos: dict[Any, Pos]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pos = {}


class PosList(list[Any]):
    """A sequence loaded from YAML; `pos[i]` is where item `i` was written."""

    pos: list[Pos]

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.pos = []


class YamlDocError(Exception):
    def __init__(self, file: Path, line: int | None, message: str) -> None:
        super().__init__(message)
        self.file, self.line, self.message = file, line, message


class _PosLoader(yaml.SafeLoader):
    source: Path
    duplicate_keys: list[tuple[Any, Pos]]


# libyaml's parser when PyYAML was built with it: parsing was most of a registry reload (several times
# faster), and the constructors below, which record positions, run on its nodes unchanged. Invalid YAML is
# parsed again by the pure-Python loader, whose error messages are the ones we document and test.
# `yaml.CSafeLoader` exists only with libyaml (the stubs always declare it, hence TYPE_CHECKING below).
_AnyPosLoader: TypeAlias = "_PosLoader | _CPosLoader"
_FastPosLoader: type[_AnyPosLoader] = _PosLoader
if TYPE_CHECKING or getattr(yaml, "__with_libyaml__", False):

    class _CPosLoader(yaml.CSafeLoader):
        source: Path
        duplicate_keys: list[tuple[Any, Pos]]

    _FastPosLoader = _CPosLoader


def _pos(loader: _AnyPosLoader, key_node: yaml.Node, value_node: yaml.Node) -> Pos:
    block = isinstance(value_node, yaml.ScalarNode) and value_node.style in ("|", ">")
    return Pos(loader.source, key_node.start_mark.line + 1, value_node.start_mark.line + 1, block)


_STR_TAG = "tag:yaml.org,2002:str"


def _construct(loader: _AnyPosLoader, node: yaml.Node) -> Any:
    """`loader.construct_object(node, deep=True)`, with plain strings (most keys and values) taken straight
    from the node, as the str constructor would: a registry reload builds thousands of them."""
    if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
        return node.value
    return loader.construct_object(node, deep=True)


def _construct_mapping(loader: _AnyPosLoader, node: yaml.MappingNode) -> PosDict:
    loader.flatten_mapping(node)  # YAML merge keys (`<<: *anchor`)
    mapping = PosDict()
    for key_node, value_node in node.value:
        key = _construct(loader, key_node)
        try:
            hash(key)
        except TypeError as exc:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "found an unhashable key",
                key_node.start_mark,
            ) from exc
        pos = _pos(loader, key_node, value_node)
        if key in mapping:
            loader.duplicate_keys.append((key, pos))
        mapping[key] = _construct(loader, value_node)
        mapping.pos[key] = pos
    return mapping


def _construct_sequence(loader: _AnyPosLoader, node: yaml.SequenceNode) -> PosList:
    items = PosList(_construct(loader, child) for child in node.value)
    items.pos = [_pos(loader, child, child) for child in node.value]
    return items


_loaders: set[type[_AnyPosLoader]] = {_PosLoader, _FastPosLoader}
for _loader in _loaders:
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml_doc(path: Path, text: str) -> tuple[Any, list[tuple[Any, Pos]]]:
    """Parse `text` (the content of `path`). Returns the document and any duplicated keys (key, position).

    Raises `YamlDocError` with the line of a syntax error, or of where the document gets too deep or too big.
    """
    if len(text) > MAX_YAML_BYTES:
        raise YamlDocError(path, None, f"file is larger than {MAX_YAML_BYTES} bytes")
    _check_shape(path, text)
    if _FastPosLoader is not _PosLoader:
        try:
            return _load(_FastPosLoader, path, text)
        except yaml.YAMLError:
            pass  # reported below, in the pure-Python parser's words
    return _load(_PosLoader, path, text)


def _check_shape(path: Path, text: str) -> None:
    """Bound nesting and expanded size from the event stream, before any composer recurses (libyaml's does on
    the C stack, so a deep enough document would crash the process) and before anything copies an alias.

    A syntax error ends the check quietly: the document is parsed again to report it.
    """
    expanded = 0  # nodes so far, every alias counted as the whole collection it names
    opened: list[tuple[str | None, int]] = []  # open collections: (anchor, `expanded` when it started)
    sizes: dict[str, int] = {}  # expanded size of each complete anchored node
    aliased = False
    loader = _FastPosLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            mark = getattr(event, "start_mark", None)
            line = mark.line + 1 if mark is not None else None
            if isinstance(event, yaml.DocumentEndEvent):
                sizes.clear()  # anchors are per document
            elif isinstance(event, yaml.CollectionStartEvent):
                opened.append((event.anchor, expanded))
                expanded += 1
                if len(opened) > MAX_YAML_DEPTH:
                    raise YamlDocError(path, line, f"nested more than {MAX_YAML_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor, start = opened.pop()
                if anchor is not None:
                    sizes[anchor] = expanded - start
            elif isinstance(event, yaml.ScalarEvent):
                expanded += 1
                if event.anchor is not None:
                    sizes[event.anchor] = 1
            elif isinstance(event, yaml.AliasEvent):
                if any(anchor == event.anchor for anchor, _ in opened):
                    message = (
                        f"alias *{event.anchor} is inside the collection it names (a recursive structure)"
                    )
                    raise YamlDocError(path, line, message)
                aliased = True
                expanded += sizes.get(event.anchor or "", 0)  # an undefined alias is reported by the parse
            if expanded > MAX_YAML_NODES:
                through = " through aliases (*name)" if aliased else ""
                message = f"the document expands to more than {MAX_YAML_NODES} keys and values{through}"
                raise YamlDocError(path, line, message)
    except yaml.YAMLError:
        return
    finally:
        loader.dispose()


def _load(loader_class: type[_AnyPosLoader], path: Path, text: str) -> tuple[Any, list[tuple[Any, Pos]]]:
    loader = loader_class(text)
    loader.source = path
    loader.duplicate_keys = []
    try:
        return loader.get_single_data(), loader.duplicate_keys
    except yaml.YAMLError as exc:
        if loader_class is not _PosLoader:
            raise
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"invalid YAML: {problem}" + (f" ({context})" if context else "")
        line = mark.line + 1 if mark else None
        source_line = text.splitlines()[line - 1] if line and line <= len(text.splitlines()) else ""
        if re.search(r"\{\{|\{%", source_line):
            message += "; a value that starts with Jinja ({{ or {%) must be quoted"
        raise YamlDocError(path, line, message) from exc
    except RecursionError as exc:  # not expected past `_check_shape`; a YAML problem all the same
        raise YamlDocError(path, None, f"nested more than {MAX_YAML_DEPTH} levels deep") from exc
    finally:
        loader.dispose()


def pos_of(doc: Any, loc: Sequence[Any]) -> Pos | None:
    """The position of the deepest part of `loc` (a pydantic error location) present in `doc`."""
    found: Pos | None = None
    node = doc
    for part in loc:
        if isinstance(node, PosDict) and part in node.pos:
            found, node = node.pos[part], node[part]
        elif isinstance(node, PosList) and isinstance(part, int) and 0 <= part < len(node):
            found, node = node.pos[part], node[part]
        else:
            break
    return found


def deep_merge(base: Any, override: Any) -> Any:
    """`override` deep-merged over `base`: mappings merge key by key, anything else (lists too) replaces."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = PosDict()
    for source in (base, override):
        for key, value in source.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else value
            if isinstance(source, PosDict) and key in source.pos:
                merged.pos[key] = source.pos[key]
    return merged


def plain(value: Any) -> Any:
    """A copy of `value` made of plain dicts and lists (what pydantic is given)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
