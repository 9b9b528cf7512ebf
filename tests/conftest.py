"""Shared fixtures: small specs, and one real tiny build reused by every test that only reads it."""

from __future__ import annotations

import copy
import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ["CODESIGN_CALIBRATION"] = os.devnull + ".codesign-calibration.json"  # estimates as shipped, whatever the developer calibrated

TINY_SPEC = {
    "name": "tiny",
    "dataset": {"name": "digits"},
    "model": {
        "layers": [
            {"type": "conv2d", "name": "conv1", "filters": 4, "kernel_size": 3},
            {"type": "activation", "name": "relu1", "activation": "relu"},
            {"type": "max_pooling2d", "name": "pool1"},
            {"type": "flatten", "name": "flatten"},
            {"type": "dense", "name": "fc1", "units": 16},
            {"type": "activation", "name": "relu2", "activation": "relu"},
            {"type": "dense", "name": "output", "units": 10},
            {"type": "activation", "name": "softmax", "activation": "softmax"},
        ]
    },
    "quantization": {"weights": {"bits": 6, "integer": 0}, "biases": {"bits": 6, "integer": 0}},
    "training": {"epochs": 3, "seed": 1},
    "bench": {"batch_sizes": [1, 64], "runs": 30},
}


# Every layer type the spec offers, in one model (batchnorm folds into conv1).
BASE_ALL_LAYERS = [
    {"type": "conv2d", "name": "conv1", "filters": 4, "kernel_size": 3, "padding": "same"},
    {"type": "batchnorm", "name": "bn1"},
    {"type": "activation", "name": "relu1", "activation": "relu"},
    {"type": "depthwise_conv2d", "name": "dw1", "kernel_size": 3},
    {"type": "activation", "name": "lin1", "activation": "linear"},
    {"type": "average_pooling2d", "name": "avg1", "pool_size": 2},
    {"type": "max_pooling2d", "name": "max1", "pool_size": [1, 1]},
    {"type": "flatten", "name": "flat"},
    {"type": "dropout", "name": "drop", "rate": 0.1},
    {"type": "dense", "name": "fc1", "units": 12},
    {"type": "activation", "name": "relu2", "activation": "relu"},
    {"type": "dense", "name": "out", "units": 10},
]


@pytest.fixture
def tiny_spec_dict() -> dict:
    """A fresh copy of a tiny, valid spec as a dict, to mutate freely."""
    return copy.deepcopy(TINY_SPEC)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One real build of the tiny spec (train, convert, g++ compile, validate), shared by read-only tests."""
    from codesign.commands import build_run
    from codesign.config import spec_from_dict

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    messages: list[str] = []
    build_run(spec_from_dict(copy.deepcopy(TINY_SPEC)), run_dir, messages.append)
    return run_dir, messages


@pytest.fixture(scope="session")
def hls4ml_project(tmp_path_factory) -> Path:
    """A project written by hls4ml 1.3's own API, as a notebook user leaves it (no vendor report)."""
    import hls4ml
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu

    tf.keras.utils.set_random_seed(0)
    inputs = tf.keras.Input((16,), name="features")
    x = QDense(32, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="fc1")(inputs)
    x = QActivation(quantized_relu(6, 2), name="relu1")(x)
    outputs = QDense(5, kernel_quantizer=quantized_bits(6, 0, alpha=1), bias_quantizer=quantized_bits(6, 0, alpha=1), name="out")(x)
    model = tf.keras.Model(inputs, outputs)
    folder = tmp_path_factory.mktemp("notebook") / "my_prj"
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    config["Model"]["ReuseFactor"] = 4
    graph = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, output_dir=str(folder), backend="Vitis", part="xc7z020clg400-1", clock_period=10, io_type="io_parallel"
    )
    graph.write()
    return folder
