"""Progress bars that fit where they run: a widget in a Jupyter notebook, a bar on a terminal, quiet in a log.

The mode is `auto` (bars in a notebook or when stderr is a terminal), `always` or `never`: set it with
`codesign.set_progress(...)` or the environment variable CODESIGN_PROGRESS. Where bars are off, the work says what the
caller's `say` printed before (one line per epoch, say), so CI logs keep their record and gain no bar noise.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

MODES = ("auto", "always", "never")
_settings = {"mode": os.environ.get("CODESIGN_PROGRESS", "auto")}


def set_progress(mode: str) -> None:
    """Show progress bars 'always', 'never', or in 'auto' mode (in a notebook, or when stderr is a terminal)."""
    if mode not in MODES:
        raise ValueError(f"progress mode {mode!r}: expected one of {', '.join(MODES)}")
    _settings["mode"] = mode


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where output is no terminal, yet a user is watching)."""
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def bars_shown() -> bool:
    """Whether a bar is drawn now: the mode, and in 'auto' mode where output goes."""
    mode = _settings["mode"] if _settings["mode"] in MODES else "auto"
    if mode != "auto":
        return mode == "always"
    return in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())


def _bar_class():
    """tqdm's notebook widget in a kernel that has ipywidgets, its text bar anywhere else."""
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401  (tqdm.notebook needs it, and falls back with a warning without it)
            from tqdm.notebook import tqdm

            return tqdm
        except ImportError:
            pass
    from tqdm.std import tqdm

    return tqdm


class Progress:
    """One piece of long work counted in steps: a bar where bars are shown, the caller's lines where they are not."""

    def __init__(self, total: int, description: str, unit: str, say: Callable[[str], None] | None = None):
        self._say = say
        self._bar = _bar_class()(total=total, desc=description, unit=unit, leave=True, file=sys.stderr) if bars_shown() else None

    def advance(self, steps: int = 1, line: str | None = None) -> None:
        """Count steps done; `line` is what was done (the bar's note, or a printed line where no bar is shown)."""
        if self._bar is not None:
            self._bar.update(steps)
            if line:
                self._bar.set_postfix_str(line.strip(), refresh=True)
        elif line and self._say is not None:
            self._say(line)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
