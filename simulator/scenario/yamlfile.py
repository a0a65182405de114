"""Safe YAML reading that keeps a line mark on every node.

The document is composed (never constructed by PyYAML) and turned into plain
Python values here, so no tag can run code, aliases cannot explode, nesting is
bounded, and each value's `(line, column)` is kept by key path for error
messages. Timestamps stay strings: segsim parses instants itself.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from simulator.scenario.errors import InputError, Problem, format_path

__all__ = ["LINE_KEY", "MAX_BYTES", "YamlDoc", "dump_yaml", "load_yaml_file", "load_yaml_text", "top_level_keys"]

MAX_BYTES = 20 * 1024 * 1024
MAX_NODES = 500_000
MAX_DEPTH = 100
COMPOSE_DEPTH = 1000  # the C composer recurses once per level: refused before composing

_STANDARD = "tag:yaml.org,2002:"
# Plain scalars are read as YAML 1.2's core schema reads them, not as YAML 1.1 (PyYAML's)
# does: `country: NO`, `answer: yes`, `newsletter: on` are text, not booleans; `12:30` is
# text, not 750 (base 60); `1e3` and `0o17` are numbers. Two readings stay off the letter
# of 1.2 so that a value never silently changes type: `02134` is text (a zip code keeps its
# zero), and `1_000` and `0b101` stay the numbers YAML 1.1 read.
_BOOLEANS_1_2 = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NUMBER_1_2 = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+")  # what 1.1 leaves as text
_LEADING_ZERO = re.compile(r"[-+]?0[0-9_]+")
_OCTAL_1_2 = re.compile(r"[-+]?0o[0-7]+")
_ALLOWED_TAGS = {_STANDARD + t for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


@dataclass
class YamlDoc:
    file: str
    data: Any
    marks: dict[tuple[object, ...], tuple[int, int]] = field(default_factory=dict)

    def mark(self, path: tuple[object, ...]) -> tuple[int, int]:
        """The mark of the deepest existing node on `path`."""
        probe = tuple(path)
        while probe not in self.marks and probe:
            probe = probe[:-1]
        return self.marks.get(probe, (0, 0))

    def problem(self, path: tuple[object, ...], message: str, hint: str = "") -> Problem:
        line, col = self.mark(path)
        return Problem(self.file, line, col, format_path(path), message, hint)


class _Loader(yaml.SafeLoader):
    """A private loader class: PyYAML's global loaders are never patched."""


class _Dumper(yaml.SafeDumper):
    """Quotes every text the reader above would not read back as text: PyYAML's
    dumper quotes `yes` and `12:30` (YAML 1.1 reads them otherwise), and this one
    also `1e3` and `0o17` (YAML 1.2 reads them as numbers)."""


_Dumper.add_implicit_resolver(_STANDARD + "float", _NUMBER_1_2, list("-+0123456789."))
_Dumper.add_implicit_resolver(_STANDARD + "int", _OCTAL_1_2, list("-+0"))


def dump_yaml(value: Any, **options: Any) -> str:
    """`yaml.safe_dump`, written so that segsim's reader gives `value` back."""
    return yaml.dump(value, Dumper=_Dumper, **options)


# libyaml composes (with marks) far faster than the pure-Python parser.
_Composer: type = getattr(yaml, "CSafeLoader", _Loader)


class _Builder:
    def __init__(self, file: str, text: str = "") -> None:
        self.file = file
        self.text = text
        self.marks: dict[tuple[object, ...], tuple[int, int]] = {}
        self.count = 0
        self.chars = 0  # of every scalar built, an alias's as often as it is used
        self.resolver = _Loader("")

    def fail(self, node: yaml.Node, path: tuple[object, ...], message: str) -> InputError:
        mark = node.start_mark
        return InputError([Problem(self.file, mark.line + 1, mark.column + 1, format_path(path), message)])

    def build(self, node: yaml.Node, path: tuple[object, ...], depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                path,
                f"the document has more than {MAX_NODES} nodes (an alias bomb or a file far too large for a scenario)",
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"nesting deeper than {MAX_DEPTH} levels is refused")
        self.marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag is None:  # a composer that left the tag unresolved
            kind = yaml.ScalarNode if isinstance(node, yaml.ScalarNode) else type(node)
            node.tag = self.resolver.resolve(kind, node.value if kind is yaml.ScalarNode else None, (True, False))
        if node.tag not in _ALLOWED_TAGS:
            raise self.fail(
                node, path, f"the YAML tag {node.tag!r} is not allowed (segsim reads plain mappings, lists and scalars)"
            )
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, path, "a mapping key must be a plain scalar")
                if key_node.tag == _STANDARD + "merge":
                    raise self.fail(key_node, path, "YAML merge keys (<<) are not supported")
                self.count_text(key_node, path)
                key = self.scalar(key_node, path)
                if key is None:
                    key = "null"
                if isinstance(key, (bool, int, float)):  # a key is a name: `TRUE:`, `1e3:`, `0x1F:` as written
                    key = key_node.value
                key = str(key)
                if key in result:
                    raise self.fail(key_node, path + (key,), f"duplicate key {key!r}")
                # A key's path is marked at the key itself, where people look for it.
                self.marks.setdefault(path + (key,), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
                result[key] = self.build(value_node, path + (key,), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        self.count_text(node, path)
        return self.scalar(node, path)

    def count_text(self, node: yaml.ScalarNode, path: tuple[object, ...]) -> None:
        """Every scalar built, a key or a value, an alias's as often as it is used."""
        self.chars += len(node.value)
        if self.chars > MAX_BYTES:
            raise self.fail(
                node,
                path,
                f"the document's aliases expand it past {MAX_BYTES // 1048576} MB of text "
                "(an alias bomb, or one long value repeated: write it once)",
            )

    def scalar(self, node: yaml.ScalarNode, path: tuple[object, ...]) -> Any:
        tag = node.tag
        text = node.value
        if not node.style:  # plain: resolved as YAML 1.1, read as 1.2 (unless a tag was written)
            if tag == _STANDARD + "bool" and not self._tagged(node):
                return _BOOLEANS_1_2.get(text, text)
            numeric = tag in (_STANDARD + "int", _STANDARD + "float")
            if numeric and (":" in text or _LEADING_ZERO.fullmatch(text)) and not self._tagged(node):
                return text
            if tag == _STANDARD + "str" and _NUMBER_1_2.fullmatch(text) and not self._tagged(node):
                tag = _STANDARD + "float"
            if tag == _STANDARD + "str" and _OCTAL_1_2.fullmatch(text) and not self._tagged(node):
                if len(text) > 40:
                    raise self.fail(node, path, f"the number {text[:20]}... is far too large ({len(text)} digits)")
                return int(text.replace("0o", "", 1), 8)
        if tag == _STANDARD + "null":
            return None
        if tag == _STANDARD + "bool":
            return self.resolver.construct_yaml_bool(node)
        if tag in (_STANDARD + "int", _STANDARD + "float"):
            if len(text) > 40:
                raise self.fail(node, path, f"the number {text[:20]}... is far too large ({len(text)} digits)")
            try:
                if tag == _STANDARD + "int":
                    return self.resolver.construct_yaml_int(node)
                number = self.resolver.construct_yaml_float(node)
            except ValueError:
                raise self.fail(node, path, f"{text!r} is not a number segsim can read") from None
            if not math.isfinite(number):
                # no JSON call can carry it, and the trace (--json) must stay JSON
                raise self.fail(node, path, f"{text!r} is not a finite number: JSON, and so the real APIs, have none")
            return number
        return str(text)

    def _tagged(self, node: yaml.ScalarNode) -> bool:
        """Was the plain scalar given a tag (`!!str 1e3`)? The composed node does not
        say, but its source does: its properties (an anchor `&a`, a tag `!!str`)
        come before the value, comments aside."""
        written = self.text[node.start_mark.index : node.end_mark.index]
        for line in written.splitlines():
            for word in line.split():
                if word.startswith("#"):
                    break  # a comment, to the end of its line
                if word.startswith("!"):
                    return True
                if not word.startswith("&"):
                    return False  # the value itself
        return False


def _top_level_key(text: str, line: int) -> str:
    """The top-level key whose value holds `line` (1-based), for a located error."""
    lines = text.splitlines()
    for number in range(min(line, len(lines)) - 1, -1, -1):
        candidate = lines[number]
        if candidate[:1].isalpha() and ":" in candidate:
            return candidate.split(":", 1)[0].strip()
    return ""


_UNCLOSED = (
    ("quoted scalar", "quoted text"),
    ("flow mapping", "flow mapping '{'"),
    ("flow sequence", "flow sequence '['"),
)


def _unclosed(exc: yaml.MarkedYAMLError) -> tuple[str, str] | None:
    """(what, its closer) for a quote the file ends inside, or a flow bracket that
    is not closed (or lacks a ',': YAML cannot tell the two apart), opened on an
    earlier line than the one where the parser gave up; None for any other error
    (a bad escape inside quoted text is told where it is)."""
    if exc.context_mark is None or exc.problem_mark is None or exc.context_mark.line >= exc.problem_mark.line:
        return None
    problem = exc.problem or ""
    for words, what in _UNCLOSED:
        if words not in (exc.context or ""):
            continue
        if what == "quoted text":
            # libyaml says "document indicator", the pure-Python parser "document separator"
            ends = any(words in problem for words in ("end of stream", "document indicator", "document separator"))
            return (what, "the same quote") if ends else None
        closer = "'}'" if "mapping" in words else "']'"
        # libyaml: "did not find expected ',' or '}'"; pure Python: "expected ',' or '}', but got ..."
        return (what, closer) if "expected ','" in problem else None
    return None


def _syntax_hint(reason: str, text: str, mark: Any) -> str:
    """What usually causes a YAML syntax error, in the writer's terms."""
    char, line = "", ""
    if mark is not None and 0 <= mark.index < len(text):
        char = text[mark.index]
    if mark is not None and 0 <= mark.line < len(lines := text.splitlines()):
        line = lines[mark.line]
    objects = [x.strip() for x in text.splitlines()[:50] if x.strip() and not x.lstrip().startswith("#")][:3]
    if len(objects) > 1 and all(x.startswith("{") and x.endswith("}") for x in objects[:2]):
        return (
            "one JSON object a line: an event log, not YAML; segsim lint WORKSPACE FILE reads logs, "
            "segsim replay FILE a call log"
        )
    if char == "\t" or line[: len(line) - len(line.lstrip())].count("\t"):
        return "a tab: YAML indents with spaces only"
    if "cannot start any token" in reason:
        return f"quote the value: YAML reads {char!r} at the start of a plain value as syntax"
    if "did not find expected key" in reason or "expected <block end>" in reason:
        return "check the indentation: the keys of one mapping start in the same column"
    if "mapping values are not allowed" in reason:
        return "a ': ' inside a value, or a line indented deeper than its mapping: quote the value or fix the indent"
    if "could not find expected ':'" in reason:
        return "a key needs ': ' after it, with a space after the colon"
    return ""


_NODE_EVENTS = (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent, yaml.AliasEvent)
_OPENS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSES = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def _past_limits(text: str) -> tuple[Any, str] | None:
    """Where the document passes MAX_NODES nodes or COMPOSE_DEPTH levels, and which,
    from the parser's events before any node is built. A dense file just under
    the size cap would otherwise take gigabytes to compose before the
    builder's count refuses it; and libyaml's composer recurses in C, once per
    level, with no limit of its own in some PyYAML releases (6.0.3): a deep
    enough file would crash the process instead of getting a message."""
    parser = _Composer(text)
    count = depth = documents = 0
    first_deep = None
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    return None  # composing refuses a second document before building any of it
            elif isinstance(event, _NODE_EVENTS):
                count += 1
                if count > MAX_NODES:
                    return event.start_mark, "nodes"  # a mark: .line, .column (0-based)
                if depth > MAX_DEPTH and first_deep is None:
                    first_deep = event.start_mark  # the builder refuses it, with its path, if composing is safe
                if depth > COMPOSE_DEPTH:
                    return first_deep, "depth"
                if isinstance(event, _OPENS):
                    depth += 1
            elif isinstance(event, _CLOSES):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        mark = first_deep or exc.problem_mark
        if "nesting depth" in (exc.problem or "") and mark is not None:  # libyaml's own limit (6.0.4), met first
            return mark, "depth"
        raise
    finally:
        parser.dispose()
    return None


def _second_document(file: str, line: int, col: int) -> Problem:
    """A `---` after the first document: a file holds one scenario or workspace."""
    return Problem(
        file,
        line,
        col,
        "",
        "a second YAML document starts here: a file holds one scenario or workspace",
        "remove the second document, or put it in a file of its own",
    )


def _could_pass_limits(text: str) -> bool:
    """A node takes at least one character, a flow level a bracket and two block
    levels at least a column of some line (a sequence may sit at its key's
    column: `k:` then `- k:`): only such a text can pass MAX_NODES or
    COMPOSE_DEPTH."""
    if len(text) > MAX_NODES:
        return True
    brackets = text.count("[") + text.count("{")
    return brackets + 2 * max(map(len, text.splitlines()), default=0) > COMPOSE_DEPTH


def load_yaml_text(text: str, file: str) -> YamlDoc:
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise InputError([Problem(file, 0, 0, "", f"the file is larger than {MAX_BYTES // 1048576} MB")])
    try:
        past = _past_limits(text) if _could_pass_limits(text) else None
        if past is not None:
            mark, limit = past
            message = (
                f"the document has more than {MAX_NODES} nodes (a file far too large for a scenario)"
                if limit == "nodes"
                else f"nesting deeper than {MAX_DEPTH} levels is refused"
            )
            raise InputError(
                [Problem(file, mark.line + 1, mark.column + 1, _top_level_key(text, mark.line + 1), message)]
            )
        loader = _Composer(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except RecursionError:
        raise InputError([Problem(file, 0, 0, "", "the document nests too deeply")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        reason = exc.problem or exc.context or "invalid YAML"
        opened = _unclosed(exc)
        if opened is not None and exc.context_mark is not None:
            # An unclosed quote or bracket is found where the parser gave up (often the
            # end of the file): told where it opened, where the writer must look.
            what, closer = opened
            start = exc.context_mark
            raise InputError(
                [
                    Problem(
                        file,
                        start.line + 1,
                        start.column + 1,
                        _top_level_key(text, start.line + 1),
                        f"invalid YAML: the {what} that starts here is not closed ({reason} at line {line}, "
                        f"column {col})"
                        if what == "quoted text"
                        else f"invalid YAML: {reason} at line {line}, column {col}, inside the {what} that starts here",
                        f"close it with {closer} where the text ends"
                        if what == "quoted text"
                        else f"close it with {closer}, or put a ',' between its entries",
                    )
                ]
            ) from None
        if "nesting depth" in reason:  # libyaml's own depth limit, met before ours
            key = _top_level_key(text, line)
            raise InputError(
                [Problem(file, line, col, key, f"nesting deeper than {MAX_DEPTH} levels is refused")]
            ) from None
        if "another document" in reason:
            raise InputError([_second_document(file, line, col)]) from None
        key = _top_level_key(text, line) if line else ""
        hint = _syntax_hint(reason, text, mark)
        raise InputError([Problem(file, line, col, key, f"invalid YAML: {reason}", hint)]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(file, 0, 0, "", f"invalid YAML: {exc}")]) from None
    if node is None:
        return YamlDoc(file, None, {})
    builder = _Builder(file, text)
    try:
        data = builder.build(node, (), 0)
    except RecursionError:
        raise InputError([Problem(file, 0, 0, "", "the document nests too deeply")]) from None
    return YamlDoc(file, data, builder.marks)


def load_yaml_file(path: Path | str) -> YamlDoc:
    file = str(path)
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise InputError([Problem(file, 0, 0, "", f"cannot read the file: {exc.strerror}")]) from None
    if p.is_dir():
        raise InputError([Problem(file, 0, 0, "", "this is a folder, not a file", "name one file in it")])
    if size > MAX_BYTES:
        raise InputError([Problem(file, 0, 0, "", f"the file is larger than {MAX_BYTES // 1048576} MB")])
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError([Problem(file, 0, 0, "", f"cannot read the file: {exc.strerror}")]) from None
    if b"\x00" in raw:
        raise InputError([Problem(file, 0, 0, "", "the file is binary, not YAML text")])
    try:
        text = raw.decode("utf-8-sig")  # a byte order mark is not part of the document
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise InputError(
            [
                Problem(
                    file,
                    line,
                    column,
                    "",
                    f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded",
                    "save the file as UTF-8",
                )
            ]
        ) from None
    return load_yaml_text(text, file)


# Past this size a folder search does not parse a file to learn its top-level
# keys (its lines decide): a scenario is a few kilobytes, and a search must stay
# quick on a folder of large YAML (the loader refuses such a file on its own).
SCAN_BYTES = 1024 * 1024


def top_level_keys(path: Path) -> dict[str, Any] | None:
    """The top-level keys of a YAML file's first document, each with its value
    when that is a scalar (else None): what a folder search needs to know of
    a file, read as YAML whatever its layout (JSON style, an indented root).
    None when the file is not read that way (over SCAN_BYTES, binary, invalid).
    Read from the parser's events, no node built; remembered per file version,
    since a pytest collection asks twice."""
    try:
        stat = path.stat()
    except OSError:
        return None
    if stat.st_size > SCAN_BYTES:
        return None
    return _top_level_keys(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _top_level_keys(file: str, _mtime_ns: int, _size: int) -> dict[str, Any] | None:
    try:
        text = Path(file).read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    if "\x00" in text:
        return None
    parser = _Composer(text)
    keys: dict[str, Any] = {}
    depth = 0  # of the event's collection: 1 is the root mapping
    key: Any = _NO_KEY  # the root key whose value comes next, or _NO_KEY when a key comes next
    root_is_a_mapping = False
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, yaml.DocumentEndEvent):
                break  # the first document only
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if depth == 0:
                    root_is_a_mapping = isinstance(event, yaml.MappingStartEvent)
                elif depth == 1 and root_is_a_mapping:
                    if key is _NO_KEY:
                        key = None  # a collection as a key: nothing to name
                    else:
                        if isinstance(key, str):
                            keys.setdefault(key, None)  # its value is a collection
                        key = _NO_KEY
                depth += 1
                if depth > MAX_DEPTH:
                    # Refused when loaded; reading on costs the square of the depth. The
                    # keys written at the start of a line name what the file is.
                    return dict.fromkeys(LINE_KEY.findall(text))
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
            elif depth == 1 and root_is_a_mapping and isinstance(event, (yaml.ScalarEvent, yaml.AliasEvent)):
                value = event.value if isinstance(event, yaml.ScalarEvent) else None
                if key is _NO_KEY:
                    key = value
                else:
                    if isinstance(key, str):
                        keys.setdefault(key, value)
                    key = _NO_KEY
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        parser.dispose()
    return keys


_NO_KEY = object()
# A key at the start of a line, plain, quoted, or opening a flow mapping (`{"scenario": ...`):
# what a file's lines say of its top-level keys when it is not read as YAML.
LINE_KEY = re.compile(r"""^(?:\{[ \t]*)?["']?([A-Za-z_][\w-]*)["']?[ \t]*:""", re.MULTILINE)
