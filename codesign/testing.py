"""Assertions for users' own tests: the firmware of a run is bit-exact on their samples, or proven so for every input."""

from __future__ import annotations

from codesign.api import Run
from codesign.results import ValidationResult
from codesign.validate import divergence_line, proof_line


def assert_bit_exact(run: Run, x, y=None) -> ValidationResult:
    """Raise AssertionError naming how many samples differ and the first diverging layer unless the firmware's outputs
    equal the quantized model's on every output of every sample of x; the validation result otherwise."""
    result = run.validate(x, y)
    if not result.bit_exact:
        raise AssertionError(f"the firmware of {run.path} is not bit-exact: {divergence_line(result.dump())}")
    return result


def assert_proven_exact(run: Run, domain=None) -> ValidationResult:
    """Raise AssertionError unless the firmware is proven to equal the quantized model on every input of the run's
    domain (or of `domain`, [low, high], which becomes the run's): naming the counterexample file and the layer that
    breaks, or what could not be shown. The validation result otherwise."""
    result = run.validate(domain=domain) if domain is not None else run.validate()
    proof = result.proof or {}
    if proof.get("status") != "proven":
        raise AssertionError(f"the firmware of {run.path} is not proven bit-exact: {proof_line(proof) if proof else 'no proof ran'}")
    return result
