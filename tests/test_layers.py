"""codesign/layers.py, the one table of hls4ml layer kinds: complete, matched on hls4ml's classes, the only home of
layer class names."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from codesign import layers
from codesign.layers import IMPLEMENTATIONS, KINDS, kind_of

PACKAGE = Path(layers.__file__).parent
IMPLEMENTING_MODULES = ("codesign.repairs", "codesign.vectorized", "codesign.compiled", "codesign.proof",
                        "codesign.estimate.features", "codesign.rtl")
# the table, the spec's QKeras builders (model.py) and the calibration-row parser, which reads vendor text
MODULES_THAT_NAME_CLASSES = {"layers.py", "model.py", "estimate/calibration.py"}


@pytest.fixture(scope="module")
def table():
    for module in IMPLEMENTING_MODULES:
        importlib.import_module(module)
    return KINDS


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_every_kind_has_a_function_or_a_reason(table, implementation):
    neither = [kind.name for kind in table if kind.handler(implementation) is None and implementation not in kind.declines]
    both = [kind.name for kind in table if kind.handler(implementation) is not None and implementation in kind.declines]
    assert (neither, both) == ([], [])


def test_every_kind_is_an_hls4ml_class_and_a_known_role():
    import hls4ml.backends.fpga.fpga_layers as fpga_layers
    import hls4ml.backends.fpga.passes.clone as clone
    import hls4ml.backends.fpga.passes.repack_stream as repack_stream
    import hls4ml.model.layers as model_layers

    modules = (model_layers, fpga_layers, repack_stream, clone)  # the layers hls4ml's backends insert (Repack, in io_stream) included
    classes = {name for module in modules for name, _ in inspect.getmembers(module, inspect.isclass)}
    assert [kind.name for kind in KINDS if kind.name not in classes] == []
    assert [kind.name for kind in KINDS if kind.role not in layers.ROLES] == []
    names = [name for kind in KINDS for name in (kind.name, *kind.aliases)]
    assert len(names) == len(set(names))


def test_a_layer_is_matched_to_its_most_derived_kind():
    """isinstance on hls4ml's classes: backend subclasses (VitisDense) find their base; a subclass with its own row
    (ApplyAlpha of BatchNormalization, Softmax of Activation, Conv2DBatchnorm of Conv2D) finds that row."""
    import hls4ml.model.layers as model_layers

    def instance(cls):
        return type(f"Vitis{cls.__name__}", (cls,), {}).__new__(type(f"Vitis{cls.__name__}", (cls,), {}))

    assert kind_of(instance(model_layers.Dense)) is layers.DENSE
    assert kind_of(instance(model_layers.ApplyAlpha)) is layers.APPLY_ALPHA
    assert kind_of(instance(model_layers.BatchNormalization)) is layers.BATCH_NORMALIZATION
    assert kind_of(instance(model_layers.Softmax)) is layers.SOFTMAX
    assert kind_of(instance(model_layers.Conv2DBatchnorm)) is layers.CONV2D_BATCHNORM
    assert kind_of(instance(model_layers.SimpleRNN)) is None


def test_an_unknown_class_is_declined_with_the_tables_name():
    assert "not in codesign's table" in layers.unhandled("SimpleRNN", "vectorized")
    assert layers.unhandled("DepthwiseConv1D", "vectorized") == layers.DEPTHWISE_CONV1D.declines["vectorized"]


def test_registering_over_a_reason_is_refused():
    with pytest.raises(RuntimeError, match="registered twice"):
        layers.implements("vectorized", layers.DEPTHWISE_CONV1D)(lambda: None)


def test_layer_class_names_are_written_only_in_the_table():
    """Everywhere else a kind is named by its table entry, never by a string."""
    names = {name for kind in KINDS for name in (kind.name, *kind.aliases)}
    names |= {"QActivation", "InputLayer", "QDense", "QConv2D", "QConv1D", "QBatchNormalization", "QDepthwiseConv2D"}
    found = {}
    for path in PACKAGE.rglob("*.py"):
        strings = {node.value for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)}
        if strings & names:
            found[str(path.relative_to(PACKAGE))] = sorted(strings & names)
    assert {module: named for module, named in found.items() if module not in MODULES_THAT_NAME_CLASSES} == {}
