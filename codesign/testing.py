"""Assertions for users' own tests: the firmware of a run is bit-exact on their samples, or proven so for every input; its head
in firmware decides as the model does."""

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


def assert_decision_exact(run: Run, x=None) -> ValidationResult:
    """Raise AssertionError unless the run's head in firmware (softmax, sigmoid, tanh) takes the model's decision on
    every sample of x, or, without x, on the run's test set and, proven, for every input of the run's domain: naming
    the samples that flip, or the proof's counterexample file or what it could not show. The validation result otherwise."""
    result = run.validate(x) if x is not None else run.validate()
    head = result.head or {}
    if head.get("runs_on") != "firmware":
        raise AssertionError(f"the run {run.path} has no head in firmware (build it with --head firmware)")
    if head.get("flips"):
        raise AssertionError(f"the firmware of {run.path} decides {head['flips']} of {head['samples']} samples otherwise than the model "
                             f"({head['decision']})")
    proof = head.get("proof") or {}
    if x is None and proof.get("status") != "proven":
        where = f"; inputs that flip are in {head['counterexample']}" if head.get("counterexample") else ""
        raise AssertionError(f"the decision of {run.path}'s firmware is not proven the model's: {proof.get('why') or 'no decision proof ran'}{where}")
    return result
