"""Text the UI shows: formulas in the narrow sidebar broken into lines at top-level + and − (never inside
brackets), and user text in messages escaped so Markdown shows it as typed."""

import re

import pytest

import optviz
from optviz.ui.controls import _visible_length, plain, wrapped_formula


def unwrapped(latex: str) -> str:
    """The formula without the line-breaking markup, spaces squeezed out, for comparing content."""
    text = re.sub(r"\\(begin|end)\{aligned\}|&\\quad|&|\\\\|\\quad|\\ ", "", latex)
    return re.sub(r"\s+", "", text)


def lines(latex: str) -> list[str]:
    body = latex.removeprefix(r"\begin{aligned}").removesuffix(r"\end{aligned}")
    return body.split(r" \\ ")


@pytest.mark.parametrize("name", list(optviz.SURFACES))
def test_every_surface_formula_fits_the_sidebar_and_keeps_its_content(name):
    latex = optviz.surface(name).spec.latex
    wrapped = wrapped_formula(latex)
    assert unwrapped(wrapped) == unwrapped(latex)
    for line in lines(wrapped):
        assert _visible_length(line.replace("&", "")) <= 26 + len(r"\quad"), line


def test_long_formulas_break_before_a_top_level_sign_and_align_under_the_equals_sign():
    wrapped = wrapped_formula(optviz.surface("beale").spec.latex)
    assert lines(wrapped) == [r"f &= (1.5 - x + xy)^2", r"&\quad + (2.25 - x + xy^2)^2",
                              r"&\quad + (2.625 - x + xy^3)^2"]


def test_statements_separated_by_quad_get_lines_of_their_own_aligned_at_their_own_equals_sign():
    wrapped = wrapped_formula(optviz.surface("quadratic").spec.latex)
    assert lines(wrapped) == [r"f(p) &= \tfrac12 p^\top H p,",
                              r"H &= R_\varphi \operatorname{diag}(1, 1/\kappa) R_\varphi^\top"]


def test_nothing_is_split_inside_brackets_or_on_the_left_of_the_equals_sign():
    inside = r"f(x, y) = \left(x^4 - 16x^2 + 5x + y^4 - 16y^2 + 5y + x^2 y^2 - 3xy\right)"
    assert wrapped_formula(inside) == inside
    short = r"f(x, y) = x^2 - y^2"
    assert wrapped_formula(short) == short


def test_a_typed_formula_is_wrapped_too():
    latex = optviz.custom_surface("sin(3*x)*cos(3*y) + 0.1*(x**2 + y**2) + exp(-x**2 - y**2)").spec.latex
    wrapped = wrapped_formula(latex)
    assert len(lines(wrapped)) >= 2 and unwrapped(wrapped) == unwrapped(latex)
    assert all(line.count(r"\left") == line.count(r"\right") for line in lines(wrapped))


@pytest.mark.parametrize("text", ["x**2 + y**2", "__import__('os')", "costs $5 and $6", "[link](http://x)",
                                  ":red[alarm] :smile:", "a|b ~~gone~~ #1 <b>bold</b> `code` back\\slash"])
def test_plain_escapes_every_markdown_character_and_nothing_is_lost(text):
    escaped = plain(text)
    assert re.sub(r"\\(.)", r"\1", escaped) == text                      # unescaping gives the text back
    assert not re.search(r"(?<!\\)[`*_\[\]<>$~|:#]", re.sub(r"\\\\", "", escaped))   # none left bare
