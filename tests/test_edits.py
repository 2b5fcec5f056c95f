"""The one place edits are applied: order, overlaps, imports and //line directives."""

from __future__ import annotations

import pytest

from overlay_gen.edits import Edit, Import, apply
from overlay_gen.errors import RewriteError

SRC = b"package p\n\nfunc f() {\n\tg()\n}\n"
BRACE = SRC.index(b"{") + 1


def test_insertion_with_newlines_restores_the_next_line_number() -> None:
    out = apply(SRC, [Edit(BRACE, BRACE, "\na()\nb()\n", "x")], display="p.go")
    assert out == b"package p\n\nfunc f() {\na()\nb()\n//line :3:11\n\n\tg()\n}\n"


def test_inline_insertion_keeps_lines_without_a_directive() -> None:
    call = SRC.index(b"g()")
    out = apply(SRC, [Edit(call, call, "w(", "x"), Edit(call + 3, call + 3, ")", "x")], display="p.go")
    assert out == b"package p\n\nfunc f() {\n\tw(g())\n}\n"


def test_multiline_inline_insertion_uses_the_inline_directive() -> None:
    call = SRC.index(b"g()")
    out = apply(SRC, [Edit(call, call, "w(\nv, ", "x"), Edit(call + 3, call + 3, ")", "x")], display="p.go")
    assert out.endswith(b"\tw(\nv, /*line :4:2*/g())\n}\n")


def test_imports_go_on_the_package_line() -> None:
    out = apply(
        SRC,
        [],
        display="p.go",
        imports=[Import("_og_fmt", "fmt"), Import("_", "embed")],
        import_at=len(b"package p"),
    )
    assert out.startswith(b'package p; import (_og_fmt "fmt"; _ "embed")\n\nfunc f()')


def test_insertions_at_one_place_keep_priority_order() -> None:
    out = apply(SRC, [Edit(BRACE, BRACE, "B", "b", 2), Edit(BRACE, BRACE, "A", "a", 1)], display="p.go")
    assert b"{AB\n" in out


def test_identical_edits_from_two_aspects_apply_once() -> None:
    out = apply(SRC, [Edit(BRACE, BRACE, "A", "a"), Edit(BRACE, BRACE, "A", "a")], display="p.go")
    assert out.count(b"A") == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [((20, 24), (22, 26)), ((20, 24), (22, 22)), ((20, 24), (20, 24))],
    ids=["crossing", "insert-inside", "same-range"],
)
def test_overlapping_edits_name_both_aspects(first: tuple[int, int], second: tuple[int, int]) -> None:
    edits = [Edit(*first, "x", "first.aspect"), Edit(*second, "y", "second.aspect")]
    with pytest.raises(RewriteError) as info:
        apply(SRC, edits, display="p.go")
    assert "p.go:" in str(info.value)
    assert "'first.aspect'" in str(info.value) and "'second.aspect'" in str(info.value)


def test_touching_edits_do_not_overlap() -> None:
    call = SRC.index(b"g()")
    out = apply(SRC, [Edit(call, call + 1, "h", "a"), Edit(call + 1, call + 3, "[]", "b")], display="p.go")
    assert b"\th[]\n" in out
