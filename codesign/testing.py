"""Assertions for users' own tests: the firmware of a run is bit-exact on their samples."""

from __future__ import annotations

from codesign.api import Run
from codesign.results import ValidationResult
from codesign.steps import divergence_line


def assert_bit_exact(run: Run, x, y=None) -> ValidationResult:
    """Raise AssertionError naming how many samples differ and the first diverging layer unless the firmware's outputs
    equal the quantized model's on every output of every sample of x; the validation result otherwise."""
    result = run.validate(x, y)
    if not result.bit_exact:
        raise AssertionError(f"the firmware of {run.path} is not bit-exact: {divergence_line(result.dump())}")
    return result
