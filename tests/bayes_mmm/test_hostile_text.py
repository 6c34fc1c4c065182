"""Text from input is data, never markup: rich markup, ANSI escapes and mathtext print as written."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from bayes_mmm.surfaces import plots
from bayes_mmm.surfaces.cli import esc

HOSTILE = ["[/bold]", "[/]", "[/x]", "[bold red]x", "\x1b[31mred\x1b[0m", "$\\frac{a}{$", "a]b[c", "\x07bell"]


def render(text: str) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(f"[bold]label:[/] {esc(text)}", highlight=False)
    return console.export_text()


def test_markup_and_escape_codes_print_literally() -> None:
    for text in HOSTILE:
        shown = render(text)
        assert "\x1b" not in shown and "\x07" not in shown
        assert shown.startswith("label: ")
    assert render("[/bold] x").strip() == "label: [/bold] x"
    assert render("\x1b[31mred").strip() == "label: ?[31mred"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=30))
def test_any_text_prints_without_error_and_without_control_codes(text: str) -> None:
    shown = render(text)
    assert not any(0x00 <= ord(ch) < 0x20 and ch != "\n" for ch in shown)


def test_a_dollar_channel_name_draws_as_written() -> None:
    fig = plots.fig_allocation(["$meta$", "[/x]"], [1.0, 2.0], [1.5, 1.0])
    fig.canvas.draw()  # mathtext would raise on an unbalanced "$…"; parse_math is off
    labels = [t.get_text() for ax in fig.axes for t in ax.get_xticklabels() + ax.get_yticklabels()]
    labels += [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any("$meta$" in s for s in labels)
    plots.fig_allocation(["$\\frac{a}{$"], [1.0], [np.float64(2.0)]).canvas.draw()
