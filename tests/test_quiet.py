"""Dependencies' own deprecation warnings are silenced around codesign's calls into them, and only there."""

from __future__ import annotations

import subprocess
import sys
import warnings

from codesign.quiet import dependency_warnings_silenced

PLOT_UNDER_ERRORS = """
import warnings
from codesign.report import plots
assert plots.latency_per_layer({"layers": [{"name": "fc1", "latency_cycles": 3}]})  # imports matplotlib: pyparsing warns
try:
    warnings.warn_explicit("a user's own call into matplotlib", DeprecationWarning, "user.py", 1, module="matplotlib.user")
except DeprecationWarning:
    print("still shown outside codesign's calls")
"""


def test_matplotlib_warnings_do_not_surface_from_codesign_plots_but_are_not_filtered_globally():
    """With every DeprecationWarning an error, codesign's plot (which first imports matplotlib, whose pyparsing use
    warns) still draws; afterwards the same kind of warning from elsewhere is an error again."""
    result = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", PLOT_UNDER_ERRORS],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "still shown outside codesign's calls" in result.stdout


def test_only_the_dependencies_are_silenced():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with dependency_warnings_silenced():
            warnings.warn_explicit("tf", DeprecationWarning, "dtypes.py", 1, module="tensorflow.python.framework.dtypes")
            warnings.warn_explicit("non-integer arguments to randrange()", DeprecationWarning, "random.py", 1, module="random")
            warnings.warn_explicit("mine", DeprecationWarning, "user.py", 1, module="user_code")
            warnings.warn_explicit("other random", DeprecationWarning, "random.py", 2, module="random")
    assert [str(warning.message) for warning in caught] == ["mine", "other random"]
