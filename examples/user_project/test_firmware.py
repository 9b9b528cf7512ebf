"""A user's firmware tests: the codesign_build fixture (codesign's pytest plugin) builds the run once per session."""

from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

from codesign.testing import assert_bit_exact

SPEC = Path(__file__).with_name("tiny_net.yaml")


@pytest.fixture(scope="module")
def digits():
    """Inputs the firmware will see: 8x8 digits scaled to [0, 1), with their labels."""
    data = load_digits()
    return (data.images[:200] / 16.0).astype(np.float32)[..., np.newaxis], data.target[:200]


@pytest.mark.slow
def test_firmware_equals_the_quantized_model(codesign_build, digits):
    run = codesign_build(SPEC)
    x, y = digits
    assert np.array_equal(run.emulate(x), run.predict_qkeras(x).astype(np.float64))
    result = assert_bit_exact(run, x, y)
    assert result.samples == 200 and result.accuracy["emulation"] == result.accuracy["qkeras"]
    assert run.validate().mismatched_samples == 0  # the run's own test set


@pytest.mark.slow
def test_the_design_has_an_estimate(codesign_build):
    estimate = codesign_build(SPEC).estimate()
    assert estimate.total["lut"] > 0 and estimate.total["latency_cycles"] > 0


@pytest.mark.slow
def test_a_narrow_firmware_type_is_caught_and_its_layer_named(codesign_build, digits):
    run = codesign_build(SPEC, precision="ap_fixed<8,3>")
    with pytest.raises(AssertionError, match=r"samples differ .*first diverging layer: \w+"):
        assert_bit_exact(run, digits[0])
