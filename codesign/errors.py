"""Typed errors, so the CLI can tell a user's mistake (exit 2) from a failed check (exit 3) or a bug (exit 1)."""

from __future__ import annotations


class CodesignError(Exception):
    """A problem the user can fix; the message is one line naming the file, key, layer or value."""

    exit_code = 2


class SpecError(CodesignError):
    """The YAML spec is malformed or inconsistent."""


class DataError(CodesignError):
    """A dataset cannot be loaded or has the wrong content."""


class ModelError(CodesignError):
    """A user's model cannot be loaded or converted."""


class ToolchainError(CodesignError):
    """A tool the build needs (g++) is missing or failed."""


class CompileFailed(ToolchainError):
    """g++ refused the project hls4ml wrote; `first_error` is the compiler's first error, in one line."""

    def __init__(self, message: str, first_error: str):
        super().__init__(message)
        self.first_error = first_error


class EmulationCrash(CodesignError):
    """The compiled emulation died (e.g. a segmentation fault); contained in a child process."""


class RunDirError(CodesignError):
    """A run directory is missing, incomplete or unusable."""


class InternalError(CodesignError):
    """A bug, not the user's mistake: the message names the log holding the traceback."""

    exit_code = 1


class ValidationFailed(CodesignError):
    """A bit-exact policy did not give bit-exact firmware; the report says where it diverged."""

    exit_code = 3
