"""Versions of the stack, recorded in every manifest so a run can be reproduced."""

from __future__ import annotations

import platform
import shutil
import subprocess
from functools import lru_cache
from importlib import metadata

_PACKAGES = ("codesign", "tensorflow", "qkeras", "hls4ml", "numpy", "tensorflow-model-optimization")


@lru_cache(maxsize=1)
def stack_versions() -> dict[str, str]:
    """Installed versions of the packages and compiler that determine a build's output."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["g++"] = gxx_version() or "not found"
    return found


def gxx_version() -> str | None:
    """First line of `g++ --version`, or None when g++ is not on PATH."""
    gxx = shutil.which("g++")
    if gxx is None:
        return None
    out = subprocess.run([gxx, "--version"], capture_output=True, text=True, check=False).stdout
    return out.splitlines()[0] if out else None
