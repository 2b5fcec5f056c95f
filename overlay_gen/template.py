"""Advice templates: Go code with placeholders, checked when the aspect loads.

A template is Go source of a given :class:`Form` (statements, an expression,
declarations...) with ``{{name}}`` placeholders for what the join point
captured (see :mod:`overlay_gen.captures` for the names); a placeholder that
takes an argument has it after a colon (``{{function.arg:context.Context}}``),
and ``{{name|quote}}`` gives the value as a Go string literal, quotes and
backslashes escaped. It declares the packages it uses::

    imports = { fmt = "fmt" }
    template = 'fmt.Println("enter {{function.name}}")'

and refers to them by those keys. When the template is used, each ``fmt.X``
becomes ``<alias>.X`` with an alias the engine chose so that it cannot collide
with a name of the file, and the import is added to the file.

Nothing in a template is executed: placeholders are plain substitutions from
a fixed list, checked here, and the code must parse as its form (with each
placeholder standing in as an identifier) or the aspect does not load.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping

import attrs

from .parse import parse_bytes
from .tomlkeys import Loc, suggest

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z][\w.-]*)(?::([^\s|{}]+))?\s*(?:\|\s*(\w+)\s*)?\}\}")
FILTERS = ("quote",)


class Form(enum.Enum):
    """What a template must parse as, and the Go wrapped around it to check that."""

    STATEMENTS = ("statements", "package p\nfunc _() {\n", "\n}\n")
    EXPRESSION = ("an expression", "package p\nvar _ = ", "\n")
    ARGUMENTS = ("call arguments", "package p\nvar _ = f(", ")\n")
    DECLARATIONS = ("declarations", "package p\n", "\n")
    FIELDS = ("struct fields", "package p\ntype _ struct {\n", "\n}\n")

    def __init__(self, label: str, before: str, after: str) -> None:
        self.label = label
        self.before = before
        self.after = after


@attrs.frozen
class Placeholder:
    name: str
    quote: bool = False  # {{name|quote}}: the value as a Go string literal
    argument: str | None = None  # {{name:argument}}

    @property
    def ref(self) -> str:
        """The placeholder as written, without its filter: what its value is looked up by."""
        return self.name if self.argument is None else f"{self.name}:{self.argument}"


@attrs.frozen
class ImportRef:
    key: str


Segment = str | Placeholder | ImportRef


@attrs.frozen
class Template:
    form: Form
    segments: tuple[Segment, ...]
    imports: Mapping[str, str]  # key -> import path

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholders' :attr:`Placeholder.ref`."""
        return frozenset(s.ref for s in self.segments if isinstance(s, Placeholder))

    def render(self, values: Mapping[str, str], aliases: Mapping[str, str]) -> str:
        """The code, with placeholder ``values`` (by ref) and import ``aliases`` (key -> alias)."""
        out = []
        for segment in self.segments:
            if isinstance(segment, Placeholder):
                value = values[segment.ref]
                out.append(go_string(value) if segment.quote else value)
            elif isinstance(segment, ImportRef):
                out.append(aliases[segment.key])
            else:
                out.append(segment)
        return "".join(out)


def compile_template(
    text: str,
    imports: Mapping[str, str],
    form: Form,
    known: frozenset[str],
    loc: Loc,
    takes_argument: frozenset[str] = frozenset(),
) -> Template:
    """Check ``text`` and split it into literal code, placeholders and import references.

    ``loc`` points at the advice table; errors name its ``template`` or
    ``imports`` key.
    """
    for key, path in imports.items():
        if not key.isidentifier() or key == "_":
            raise (loc / "imports" / key).error(f"{key!r} is not a usable package name")
        if not path or " " in path:
            raise (loc / "imports" / key).error(f"{path!r} is not an import path")

    # Placeholders become identifiers of the same role, so the code parses.
    parts: list[tuple[int, int, Placeholder | None]] = []  # (start, end, placeholder) in `sentinel`
    sentinel = ""
    last = 0
    for index, match in enumerate(PLACEHOLDER.finditer(text)):
        name, argument, filter_name = match.group(1), match.group(2), match.group(3)
        if name not in known:
            raise (loc / "template").error(
                f"unknown placeholder {{{{{name}}}}}", hint=suggest(name, known) or f"known: {', '.join(sorted(known))}"
            )
        if (argument is None) == (name in takes_argument):
            needs = f"needs an argument: {{{{{name}:...}}}}" if argument is None else "takes no argument"
            raise (loc / "template").error(f"placeholder {match.group(0)} {needs}")
        if filter_name is not None and filter_name not in FILTERS:
            raise (loc / "template").error(
                f"unknown filter {filter_name!r} in {match.group(0)}", hint=f"known: {', '.join(FILTERS)}"
            )
        sentinel += text[last : match.start()]
        stand_in = f"_ogph{index}_"
        parts.append(
            (len(sentinel), len(sentinel) + len(stand_in), Placeholder(name, filter_name == "quote", argument))
        )
        sentinel += stand_in
        last = match.end()
    sentinel += text[last:]
    if "{{" in sentinel or "}}" in sentinel:
        raise (loc / "template").error("unbalanced '{{' or '}}'", hint="placeholders look like {{function.name}}")

    source = (form.before + sentinel + form.after).encode()
    tree = parse_bytes(source)
    if tree.root_node.has_error:
        line = _first_error_line(tree.root_node) - form.before.count("\n")
        raise (loc / "template").error(f"not valid Go {form.label} (line {max(line, 1)} of the template)")

    offset = len(form.before.encode())
    used: set[str] = set()
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        operand = None
        if node.type == "selector_expression":
            operand = node.child_by_field_name("operand")
        elif node.type == "qualified_type":
            operand = node.child_by_field_name("package")
        if operand is None or operand.type not in ("identifier", "package_identifier"):
            continue
        name = source[operand.start_byte : operand.end_byte].decode()
        if name in imports:
            used.add(name)
            start = len(source[offset : operand.start_byte].decode())
            parts.append((start, start + len(name), None))
    unused = sorted(set(imports) - used)
    if unused:
        raise (loc / "imports" / unused[0]).error(
            "declared but not used by the template", hint=f"refer to it as {unused[0]}.Name"
        )

    segments: list[Segment] = []
    last = 0
    for start, end, placeholder in sorted(parts, key=lambda part: part[0]):
        if start > last:
            segments.append(sentinel[last:start])
        segments.append(placeholder if placeholder is not None else ImportRef(sentinel[start:end]))
        last = end
    if last < len(sentinel):
        segments.append(sentinel[last:])
    return Template(form=form, segments=tuple(segments), imports=dict(imports))


def go_string(value: str) -> str:
    """``value`` as a Go interpreted string literal."""
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _first_error_line(node: object) -> int:
    stack = [node]
    while stack:
        current = stack.pop(0)
        if current.type == "ERROR" or current.is_missing:  # type: ignore[attr-defined]
            return int(current.start_point[0]) + 1  # type: ignore[attr-defined]
        stack = [c for c in current.children if c.has_error or c.is_missing] + stack  # type: ignore[attr-defined]
    return 1
