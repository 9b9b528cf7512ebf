"""Progress bars: drawn where someone watches (notebook, terminal, or when asked), the old lines where nobody does."""

from __future__ import annotations

import pytest

from codesign import progress
from codesign.progress import Progress, bars_shown, set_progress


@pytest.fixture
def mode():
    """Restore the module's progress mode after the test."""
    before = progress._settings["mode"]
    yield set_progress
    progress._settings["mode"] = before


def test_an_unknown_mode_is_refused_by_name(mode):
    with pytest.raises(ValueError, match="'sometimes'"):
        mode("sometimes")


def test_in_a_log_no_bar_is_drawn_and_the_lines_stay(mode, capsys):
    mode("auto")  # pytest's captured stderr is no terminal, and this is no notebook
    assert not progress.in_notebook() and not bars_shown()
    lines: list[str] = []
    with Progress(3, "training qkeras", "epoch", lines.append) as bar:
        bar.advance(1, "  epoch 1/3  loss 0.5")
        bar.advance(1)
    assert lines == ["  epoch 1/3  loss 0.5"] and capsys.readouterr().err == ""


def test_asked_for_a_bar_draws_one_instead_of_lines(mode, capsys):
    mode("always")
    lines: list[str] = []
    with Progress(4, "C++ emulation", "sample", lines.append) as bar:
        bar.advance(2, "emulated 2/4 samples")
    err = capsys.readouterr().err
    assert "C++ emulation" in err and "2/4" in err and "emulated 2/4 samples" in err and lines == []


def test_never_is_quiet_even_on_a_terminal(mode, monkeypatch, capsys):
    mode("never")
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert not bars_shown()
    Progress(2, "sweep points", "task").advance(1, "done")
    assert capsys.readouterr().err == ""
