"""The vectorized emulator against the compiled C++ emulation, bit for bit, over layer types, io types,
strategies, rounding and overflow modes, narrow and wide types, and inputs that overflow."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from codesign.commands import build_run
from codesign.compiled import CompiledEmulator
from codesign.config import spec_from_dict
from codesign.data import load_digits
from codesign.emulate import run_emulation
from codesign.layout import RunLayout
from codesign.fixed import Fixed, from_float, quantize
from codesign.vectorized import VectorizedEmulator
from conftest import BASE_ALL_LAYERS, TINY_SPEC

MAX_POOL_ONLY = [layer if layer["type"] != "average_pooling2d" else {**layer, "type": "max_pooling2d"} for layer in BASE_ALL_LAYERS]
CASES = {
    "parallel_latency": {},
    "stream_resource_rf2": {"hls": {"io_type": "io_stream", "strategy": "Resource", "reuse_factor": 2}},
    "all_layers_parallel": {"model": {"layers": MAX_POOL_ONLY}},
    "all_layers_stream": {"model": {"layers": MAX_POOL_ONLY}, "hls": {"io_type": "io_stream"}},
    "narrow_wrapping_types": {"hls": {"precision": "ap_fixed<8,3>"}},
    "hls4ml_default": {"hls": {"precision": "hls4ml-default"}},
    "rounding_and_saturation_modes": {
        "hls": {"layers": {"fc1": {"accum": "ap_fixed<10,3,RND_CONV,SAT>", "result": "ap_fixed<8,2,RND,SAT_SYM>"},
                           "output": {"accum": "ap_fixed<12,4,RND_ZERO,WRAP>", "result": "ap_fixed<9,3,TRN_ZERO,SAT>"}}}
    },
}


COMPILED_DECLINES = {  # left to the numpy arithmetic: saturating accumulators, products rounded one by one
    "rounding_and_saturation_modes": "accumulator ap_fixed<10,3,AP_RND_CONV,AP_SAT>",
    "hls4ml_default": "rounding each product",
    "narrow_wrapping_types": "rounding each product",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_identical_to_the_cpp_emulation(tmp_path, case):
    data = copy.deepcopy(TINY_SPEC)
    data["training"] = {"enabled": False, "seed": 3}
    for section, values in CASES[case].items():
        data.setdefault(section, {}).update(values)
    spec = spec_from_dict(data)
    build_run(spec, tmp_path / case, lambda _: None, to_step="compile")
    layout = RunLayout(tmp_path / case)
    emulator = VectorizedEmulator(layout.hls_dir)
    assert emulator.unsupported() is None
    rng = np.random.default_rng(0)
    digits = load_digits().x_test[:150]
    wild = rng.uniform(-6, 6, size=(150, 8, 8, 1))  # far outside the input type: saturation and wrapping
    x = np.concatenate([digits, wild])
    theirs = run_emulation(layout.library, layout.emulation_meta, x, lambda _: None).outputs
    ours = emulator.predict_numpy(x)
    assert ours.shape == theirs.shape
    assert np.array_equal(ours, theirs), f"numpy: {int((ours != theirs).any(axis=1).sum())} samples differ"
    graph = CompiledEmulator(emulator)
    if case in COMPILED_DECLINES:
        assert COMPILED_DECLINES[case] in graph.unsupported()
    else:
        assert graph.unsupported() is None
        compiled = graph.predict(x)
        assert np.array_equal(compiled, theirs), f"compiled: {int((compiled != theirs).any(axis=1).sum())} samples differ"
        ties = np.concatenate([np.round(wild * 2.0**k) / 2.0**k for k in range(2, 12)])  # on every rounding's ties
        x32 = np.concatenate([x, ties, wild * 1e30]).astype(np.float32)  # float32 data stay float32 through the input cast
        assert np.array_equal(graph.predict(x32), emulator.predict_numpy(x32.astype(np.float64)))


@pytest.mark.slow
def test_average_pooling_is_declined_by_name(tmp_path):
    data = copy.deepcopy(TINY_SPEC)
    data.update(model={"layers": BASE_ALL_LAYERS}, training={"enabled": False})
    build_run(spec_from_dict(data), tmp_path / "avg", lambda _: None, to_step="convert")
    assert VectorizedEmulator(RunLayout(tmp_path / "avg").hls_dir).unsupported() == "Average pooling of layer 'avg1'"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("TRN", [-3, -2, -2, 1, 1, 2]), ("TRN_ZERO", [-2, -1, -1, 1, 1, 2]), ("RND", [-2, -1, -1, 1, 2, 3]),
     ("RND_ZERO", [-2, -1, -1, 1, 1, 2]), ("RND_INF", [-3, -2, -1, 1, 2, 3]), ("RND_MIN_INF", [-3, -2, -1, 1, 1, 2]),
     ("RND_CONV", [-2, -2, -1, 1, 2, 2])],
)
def test_rounding_modes_on_ties_and_between(mode, expected):
    values = np.array([-2.5, -1.5, -1.25, 1.25, 1.5, 2.5])  # raw with 2 fraction bits: -10, -6, -5, 5, 6, 10
    target = Fixed(8, 8, True, mode, "WRAP")
    assert quantize(np.round(values * 4).astype(np.int64), 2, target).tolist() == expected
    assert from_float(values, target).tolist() == expected


@pytest.mark.parametrize(
    ("mode", "expected"),
    [("WRAP", [-128, 127, 127, 126]), ("SAT", [127, 127, -128, -128]), ("SAT_ZERO", [0, 127, 0, 0]), ("SAT_SYM", [127, 127, -127, -127])],
)
def test_overflow_modes(mode, expected):
    raw = np.array([128, 127, -129, -130])
    assert quantize(raw, 0, Fixed(8, 8, True, "TRN", mode)).tolist() == expected


def test_a_relu_feeding_a_max_pooling_runs_after_it_with_the_same_outputs(tiny_run):
    """The graph pools conv1's sums before relu1's cast (a monotone cast commutes with max: a quarter of the work);
    every output equals the numpy emulator's, which keeps the model's order, on inputs far outside the input type."""
    layout = RunLayout(tiny_run[0])
    emulator = VectorizedEmulator(layout.hls_dir)
    compiled = CompiledEmulator(emulator)
    assert compiled.unsupported() is None and set(compiled._after_pooling) == {"pool1"}
    x = np.random.default_rng(5).normal(0, 40, (1100, 8, 8, 1)).astype(np.float32)
    assert np.array_equal(compiled.predict(x), emulator.predict_numpy(x))


@pytest.mark.slow
def test_a_model_of_two_outputs_is_emulated_side_by_side_by_every_emulator(tmp_path):
    """The corpus's two_outputs_conv: the logits and the relu's feature map, which also feeds a max pooling (so the
    graph must not run that relu after the pooling): the TensorFlow graph, numpy and the C++ give the same outputs."""
    from qkeras_corpus import CORPUS, build_saved, corpus_data

    entry = next(entry for entry in CORPUS if entry.name == "two_outputs_conv")
    entry.build().save(tmp_path / "model.h5")
    np.savez(tmp_path / "data.npz", **corpus_data(entry))
    layout = RunLayout(build_saved(entry, tmp_path))
    emulator = VectorizedEmulator(layout.hls_dir)
    compiled = CompiledEmulator(emulator)
    assert emulator.output_names() == ["out", "features"] and compiled.unsupported() is None and not compiled._after_pooling
    x = np.random.default_rng(6).uniform(-8, 8, (1100, 6, 6, 2)).astype(np.float32)
    ours = compiled.predict(x)
    assert ours.shape == (1100, 3 + 48) and np.array_equal(ours, emulator.predict_numpy(x))
    assert np.array_equal(ours[:100], run_emulation(layout.library, layout.emulation_meta, x[:100], lambda _: None).outputs)
