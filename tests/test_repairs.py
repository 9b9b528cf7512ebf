"""codesign's repairs run as hls4ml passes before hls4ml's templates (codesign/repairs.py); the project they write is
what plain hls4ml reads."""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml

from codesign.config import HLSSpec
from codesign.convert import BIT_EXACT_CANDIDATES, build_graph, check_resource_convolutions, convert
from codesign.errors import ModelError, SpecError
from qkeras_corpus import CORPUS

EXACT = next(candidate for candidate in BIT_EXACT_CANDIDATES if candidate.key == "exact-accumulators")


def _model(name: str):
    return next(entry for entry in CORPUS if entry.name == name).build()


@pytest.mark.parametrize("backend", ["Vitis", "Vivado"])
def test_the_repairs_run_before_the_templates_and_leave_no_trace_in_the_written_config(backend, tmp_path):
    hls = HLSSpec(backend=backend, layers={"fc1": {"accum": "ap_fixed<30,10>", "result": "ap_fixed<18,8>"}})
    graph = build_graph(_model("dense_relu"), hls, tmp_path / "graph", None, tmp_path / "log", EXACT)
    applied = [flow for group in graph._applied_flows for flow in group]
    templates = next(index for index, flow in enumerate(applied) if flow.endswith(":apply_templates"))
    assert applied.index("codesign:repairs") == templates - 1
    fc1 = next(layer for layer in graph.get_layers() if layer.name == "fc1")
    assert (str(fc1.types["accum_t"].precision), str(fc1.types["result_t"].precision)) == ("fixed<30,10,TRN,WRAP,0>", "fixed<18,8,TRN,WRAP,0>")

    convert(_model("dense_relu"), hls, tmp_path / "hls", None, tmp_path / "log", EXACT)
    defines = (tmp_path / "hls" / "firmware" / "defines.h").read_text()
    assert re.search(r"typedef ap_fixed<30,10> fc1_accum_t;", defines) and re.search(r"typedef ap_fixed<18,8> fc1_result_t;", defines)
    written = yaml.safe_load(re.sub(r"!keras_model ", "", (tmp_path / "hls" / "hls4ml_config.yml").read_text()))
    assert "Flows" not in written["HLSConfig"] and "CodesignRepairs" not in written["HLSConfig"]["Model"]


def test_an_exception_in_a_repair_is_codesigns_bug_and_hls4ml_refusing_a_model_the_users_error(tmp_path, monkeypatch):
    """Both reach hls4ml's conversion as bare exceptions: a repair's was reported as 'hls4ml cannot convert this
    model', sending the user after their model for a bug of codesign's (codesign/hls4ml_graph.py)."""
    import tensorflow as tf

    import codesign.repairs

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug in a repair")

    monkeypatch.setattr(codesign.repairs, "exact_sum", broken)
    with pytest.raises(ZeroDivisionError, match="a bug in a repair"):
        build_graph(_model("dense_relu"), HLSSpec(), tmp_path / "graph", None, tmp_path / "log", EXACT)
    monkeypatch.undo()
    lambda_model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Lambda(lambda x: 2 * x, name="double"), tf.keras.layers.Dense(2, name="fc")])
    with pytest.raises(ModelError, match=r"^hls4ml cannot (convert|read) this model.*Unsupported layer type: Lambda"):
        build_graph(lambda_model, HLSSpec(), tmp_path / "lambda", None, tmp_path / "log", EXACT)


def test_an_override_of_a_layer_hls4ml_does_not_have_is_a_spec_error(tmp_path):
    hls = HLSSpec(layers={"fc1_linear": {"accum": "ap_fixed<30,10>"}})
    with pytest.raises(SpecError, match=r"^hls\.layers\.fc1_linear: no layer of that name in the converted model \(has: inputs, fc1,"):
        build_graph(_model("dense_relu"), hls, tmp_path / "graph", None, tmp_path / "log", EXACT)


def _upsampling_model():
    import qkeras
    import tensorflow as tf

    inputs = tf.keras.Input((4, 4, 1))
    x = qkeras.QConv2D(2, 3, padding="same", name="conv", kernel_quantizer="quantized_bits(6,1,alpha=1)", bias_quantizer="quantized_bits(6,1,alpha=1)")(inputs)
    x = tf.keras.layers.UpSampling2D(2, name="up")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    return tf.keras.Model(inputs, qkeras.QDense(1, name="fc", kernel_quantizer="quantized_bits(6,1,alpha=1)")(x))


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_an_upsampling_keeps_the_type_of_the_layer_before_it_however_that_was_retyped(io_type, tmp_path):
    """hls4ml's resize_nearest<data_T> reads and writes one type: a retyped layer before it (a spec's override here;
    the exact accumulators' widening of an alpha scale in fuzz seed 1314) left a project g++ refused."""
    hls = HLSSpec(io_type=io_type, layers={"conv": {"accum": "ap_fixed<30,10>", "result": "ap_fixed<20,8>"}})
    graph = build_graph(_upsampling_model(), hls, tmp_path / "graph", None, tmp_path / "log", EXACT)
    up = next(layer for layer in graph.get_layers() if layer.name == "up")
    assert str(up.types["result_t"].precision) == "fixed<20,8,TRN,WRAP,0>"
    fc = next(layer for layer in graph.get_layers() if layer.name == "fc")
    assert str(fc.types["accum_t"].precision).startswith("fixed<") and int(str(fc.types["accum_t"].precision)[6:].split(",")[0]) >= 20 + 6
    with pytest.raises(SpecError, match=r"^hls\.layers\.up\.result: a Resize \(UpSampling\) keeps its input's type"):
        build_graph(_upsampling_model(), HLSSpec(io_type=io_type, layers={"up": {"result": "ap_fixed<20,8>"}}), tmp_path / "g2", None,
                    tmp_path / "log", EXACT)


def test_two_batch_normalizations_in_a_row_stay_two_layers_each_repaired_with_its_own_parameters(tmp_path):
    """hls4ml fuses a batch normalization into one before it whose type is 'auto'; codesign's repair then rebuilt the
    fused layer from its own parameters alone (fuzz seed 1319 model 12: outputs off by 2.5)."""
    import qkeras
    import tensorflow as tf

    inputs = tf.keras.Input((4,))
    x = tf.keras.layers.BatchNormalization(name="bn0")(inputs)
    x = qkeras.QBatchNormalization(name="bn1")(tf.keras.layers.Dropout(0.25, name="drop")(x))
    model = tf.keras.Model(inputs, qkeras.QDense(2, name="fc", kernel_quantizer="quantized_bits(6,1,alpha=1)")(x))
    model.set_weights([np.random.default_rng(0).uniform(0.5, 1.5, w.shape).astype(np.float32) for w in model.get_weights()])
    graph = build_graph(model, HLSSpec(), tmp_path / "graph", None, tmp_path / "log", EXACT)
    assert [layer.name for layer in graph.get_layers() if layer.class_name == "BatchNormalization"] == ["bn0", "bn1"]


def test_float_weights_are_stored_exactly_and_weights_no_type_holds_are_named(tmp_path):
    """A Keras Dense among QKeras layers: hls4ml types its weights fixed<16,6> and rounds them; the repair stores each
    float32 weight exactly (the QDense's quantized weights keep their quantizer's type). A weight of 3e-9 beside ones
    near 1 needs more than FLOAT_WEIGHT_WIDTH bits: left as hls4ml typed it, and why_not_exact names that kernel."""
    import qkeras
    from tensorflow import keras

    from codesign.fixed import of_precision
    from codesign.repairs import FLOAT_WEIGHT_WIDTH
    from codesign.typesearch import why_not_exact

    inputs = keras.Input((4,))
    x = qkeras.QDense(3, kernel_quantizer="quantized_bits(6,1,alpha=1)", bias_quantizer="quantized_bits(6,1,alpha=1)", name="q")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2, name="float")(x))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.7, weight.shape).astype(np.float32) for weight in model.get_weights()])
    graph = build_graph(model, HLSSpec(), tmp_path / "graph", None, tmp_path / "log", EXACT)
    layers = {layer.name: layer for layer in graph.get_layers()}
    for key, keras_values in (("weight", model.layers[-1].kernel.numpy()), ("bias", model.layers[-1].bias.numpy())):
        fixed = of_precision(layers["float"].types[f"{key}_t"].precision)
        stored = np.asarray(layers["float"].weights[key].data, dtype=np.float64)
        assert fixed.width <= FLOAT_WEIGHT_WIDTH and np.array_equal(stored, keras_values.astype(np.float64).reshape(stored.shape))
        assert np.array_equal(np.round(stored / fixed.lsb) * fixed.lsb, stored)  # on the type's grid: held exactly
    assert str(layers["q"].types["weight_t"].precision) == "fixed<6,2,TRN,WRAP,0>"
    assert "no fixed-point type" not in (why_not_exact(model, "float", None) or "")

    kernel = model.layers[-1].kernel.numpy()
    kernel[0, 0] = 3e-9
    model.layers[-1].kernel.assign(kernel)
    graph = build_graph(model, HLSSpec(), tmp_path / "wide", None, tmp_path / "log", EXACT)
    assert str(next(layer for layer in graph.get_layers() if layer.name == "float").types["weight_t"].precision) == "fixed<16,6,TRN,WRAP,0>"
    assert why_not_exact(model, "float", None).startswith(f"its kernel holds float32 values that no fixed-point type of up to {FLOAT_WEIGHT_WIDTH} bits")


@pytest.mark.slow
@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_a_pointwise_convolution_keeps_the_reuse_factor_hls4ml_chose_for_it(io_type, tmp_path):
    """hls4ml takes 4 for a 1x1 Conv2D of 8 channels and 2 filters at Resource reuse factor 5 (5 does not divide its 16
    products), then optimize_pointwise_conv remakes it from the config with 5, and its kernel walks past its weights:
    plain hls4ml's compiled project differs from Keras on integers in a wide type. codesign's conversion keeps 4, and an
    estimate of plain hls4ml's graph (a user's project) says the factor it has computes wrong values."""
    import hls4ml
    import tensorflow as tf

    from codesign.estimate.model import estimate_graph
    from codesign.hls4ml_graph import hls4ml_graph
    from codesign.parts import find_part

    inputs = tf.keras.Input((3, 3, 8))
    model = tf.keras.Model(inputs, tf.keras.layers.Conv2D(2, 1, use_bias=False, name="conv")(inputs))
    model.set_weights([np.random.default_rng(0).integers(-3, 4, size=(1, 1, 8, 2)).astype(np.float32)])
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision="fixed<32,16>")
    config["Model"].update(Strategy="Resource", ReuseFactor=5)
    config["LayerName"]["conv"].update(Strategy="Resource", ReuseFactor=5)
    plain = hls4ml_graph(model, config, "pointwise", output_dir=tmp_path / "plain", backend="Vitis", io_type=io_type)
    assert plain.graph["conv"].class_name == "PointwiseConv2D" and plain.graph["conv"].get_attr("reuse_factor") == 5
    notes = estimate_graph(plain, find_part("xcvu13p-flga2577-2-e"), 5.0, io_type, "Vitis")["notes"]
    assert "layer 'conv' (Resource, reuse factor 5, which hls4ml's own check rejects) computes wrong values or does not compile" in " ".join(notes)
    data = np.random.default_rng(1).integers(-4, 5, size=(20, 3, 3, 8)).astype(np.float32)
    plain.compile()
    assert not np.array_equal(np.asarray(plain.predict(data)).reshape(20, -1), model.predict(data, verbose=0).reshape(20, -1))

    hls = HLSSpec(io_type=io_type, strategy="Resource", reuse_factor=5)
    repaired = build_graph(model, hls, tmp_path / "graph", None, tmp_path / "log", EXACT)
    assert repaired.graph["conv"].get_attr("reuse_factor") == 4
    assert not any("computes wrong values" in note for note in estimate_graph(repaired, find_part("xcvu13p-flga2577-2-e"), 5.0, io_type, "Vitis")["notes"])


def test_a_resource_convolution_past_its_kernels_inputs_takes_the_largest_factor_that_computes_right(tmp_path):
    """The model's reuse factor 50 for a Conv2D of 2x2x2 = 8 inputs (hls4ml takes 24, where its io_parallel Resource
    kernel computes wrong values): codesign's conversion takes 8, the largest factor hls4ml accepts up to the inputs,
    and logs it; the same factor set for that layer is the user's own, and is refused by name."""
    import tensorflow as tf

    inputs = tf.keras.Input((6, 6, 2))
    model = tf.keras.Model(inputs, tf.keras.layers.Conv2D(3, 2, name="conv")(inputs))
    hls = HLSSpec(strategy="Resource", reuse_factor=50)
    graph = build_graph(model, hls, tmp_path / "graph", None, tmp_path / "log", EXACT)
    assert graph.graph["conv"].get_attr("reuse_factor") == 8
    assert "codesign: layer 'conv' reuse factor 24 -> 8: hls4ml's io_parallel Resource convolution is correct only up to its kernel's 8 inputs" in (tmp_path / "log").read_text()
    own = HLSSpec(strategy="Resource", reuse_factor=50, layers={"conv": {"reuse_factor": 50}})
    with pytest.raises(SpecError, match=re.escape("layer 'conv' (Conv2D at reuse factor 24): hls4ml's io_parallel Resource convolution")):
        check_resource_convolutions(build_graph(model, own, tmp_path / "own", None, tmp_path / "log2", EXACT))


def test_an_io_parallel_depthwise_convolution_takes_latency_where_resource_came_from_the_model(tmp_path):
    """hls4ml's io_parallel depthwise_conv_2d_cl asserts that Resource is not supported (the emulation aborted on every
    model-wide Resource design with a DepthwiseConv2D; under synthesis the function computes nothing): a strategy
    that came from the model's takes Latency for that layer, logged; one set for the layer stays."""
    import qkeras
    import tensorflow as tf

    inputs = tf.keras.Input((6, 6, 2))
    x = qkeras.QDepthwiseConv2D(3, name="dw", depthwise_quantizer="quantized_bits(6,1,alpha=1)", bias_quantizer="quantized_bits(6,1,alpha=1)")(inputs)
    model = tf.keras.Model(inputs, qkeras.QDense(2, name="fc", kernel_quantizer="quantized_bits(6,1,alpha=1)")(tf.keras.layers.Flatten()(x)))
    graph = build_graph(model, HLSSpec(strategy="Resource"), tmp_path / "graph", None, tmp_path / "log", EXACT)
    assert graph.graph["dw"].get_attr("strategy") == "latency" and graph.graph["fc"].get_attr("strategy") == "resource"
    assert "codesign: layer 'dw' strategy Resource -> Latency" in (tmp_path / "log").read_text()
    own = build_graph(model, HLSSpec(strategy="Resource", layers={"dw": {"strategy": "Resource"}}), tmp_path / "own", None, tmp_path / "log2", EXACT)
    assert own.graph["dw"].get_attr("strategy") == "resource"
    from codesign.estimate.model import estimate_graph
    from codesign.parts import find_part

    said = [note for part_graph in (graph, own) for note in estimate_graph(part_graph, find_part("xcvu13p-flga2577-2-e"), 5.0, "io_parallel")["notes"]
            if "hls4ml writes no such kernel" in note]
    assert said == ["layer 'dw' (DepthwiseConv2D, Resource, io_parallel): hls4ml writes no such kernel, so its C simulation aborts and its "
                    "synthesized function computes nothing (codesign build takes Latency for it; docs/architecture.md)"]


def test_power_of_two_kernel_scales_are_folded_into_a_copy_that_computes_the_same_function():
    """QKeras 0.9 gives a quantized_bits without alpha the scale 'auto_po2', which hls4ml 1.3 cannot convert in a
    separable or depthwise convolution, into whose node it merges a Dense's two quantizers after, and which it fuses
    into a batch normalization after (with a quantizer between, whose cast it then loses): the copy's alpha=1
    quantizers hold QKeras's quantized kernels exactly, so the two models agree on every input (checked on 400 of the
    2^-8 grid), and a model with no such scale (a scaled Dense followed by one quantizer or none) is itself."""
    import qkeras
    import tensorflow as tf

    from codesign.kernel_scales import with_folded_kernel_scales

    inputs = tf.keras.Input((7, 7, 3))
    x = qkeras.QSeparableConv2D(2, 3, depthwise_quantizer="quantized_bits(6,0)", pointwise_quantizer="quantized_bits(5,1)",
                                bias_quantizer="quantized_bits(6,1,alpha=1)", name="sep")(inputs)
    x = qkeras.QDepthwiseConv2D(2, depthwise_quantizer="quantized_bits(4,2)", name="dw")(x)
    x = qkeras.QDense(3, kernel_quantizer="quantized_bits(5,1)", activation="quantized_bits(8,3,alpha=1)", name="scaled")(tf.keras.layers.Flatten()(x))
    x = qkeras.QActivation("quantized_bits(6,2,alpha=1)", name="second")(x)  # hls4ml would merge both into the scale's node
    x = qkeras.QDense(4, kernel_quantizer="quantized_bits(5,1)", bias_quantizer="quantized_bits(6,1,alpha=1)", name="quantized")(x)
    x = tf.keras.layers.BatchNormalization()(qkeras.QActivation("quantized_bits(6,2,1,alpha=1)")(x))  # hls4ml fuses the scale's node into it
    x = tf.keras.layers.BatchNormalization()(qkeras.QDense(4, kernel_quantizer="quantized_bits(5,1)", name="normalized")(x))  # the same
    model = tf.keras.Model(inputs, qkeras.QDense(2, kernel_quantizer="quantized_bits(6,1,alpha=1)", name="fc")(x))
    rng = np.random.default_rng(0)
    model.set_weights([np.abs(rng.normal(0, 0.6, weight.shape)).astype(np.float32) + 0.1 if "variance" in weight.name else rng.normal(0, 0.6, weight.shape).astype(np.float32)
                       for weight in model.weights])
    folded = with_folded_kernel_scales(model)
    assert folded is not model and [layer.name for layer in folded.layers] == [layer.name for layer in model.layers]
    for name, attribute in (("sep", "depthwise_quantizer"), ("sep", "pointwise_quantizer"), ("dw", "depthwise_quantizer"),
                            ("scaled", "kernel_quantizer"), ("quantized", "kernel_quantizer"), ("normalized", "kernel_quantizer")):
        quantizer = getattr(folded.get_layer(name), f"{attribute}_internal")
        assert quantizer.alpha == 1 and quantizer.bits <= 12, (name, attribute, str(quantizer))
    x = (np.round(rng.normal(size=(400, 7, 7, 3)) * 256) / 256).astype(np.float32)
    assert np.array_equal(model.predict(x, verbose=0), folded.predict(x, verbose=0))
    plain = tf.keras.Model(inputs, qkeras.QDense(2, kernel_quantizer="quantized_bits(6,1)", name="fc2")(tf.keras.layers.Flatten()(inputs)))
    assert with_folded_kernel_scales(plain) is plain


def _dense_over_axes(shape: tuple):
    """A QDense over the last axis of a `shape` input, as a Deep Sets network applies one per particle."""
    import qkeras
    import tensorflow as tf

    inputs = tf.keras.Input(shape)
    x = qkeras.QActivation("quantized_bits(8,3,alpha=1)", name="q_in")(inputs)
    x = qkeras.QDense(5, kernel_quantizer="quantized_bits(6,1,alpha=1)", bias_quantizer="quantized_bits(6,1,alpha=1)",
                      activation="quantized_relu(6,2)", name="per_value")(x)
    x = qkeras.QDense(3, kernel_quantizer="quantized_bits(4,0)", use_bias=False, name="scaled")(x)
    model = tf.keras.Model(inputs, tf.keras.layers.Flatten()(x))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.6, weight.shape).astype(np.float32) for weight in model.get_weights()])
    return model, (np.round(rng.normal(size=(400, *shape)) * 256) / 256).astype(np.float32)


@pytest.mark.parametrize("shape", [(6, 3), (4, 4, 3)])
def test_a_quantized_dense_over_a_sequence_or_an_image_is_converted_as_the_1x1_convolution_it_computes(shape):
    """The copy's QConv1D/QConv2D of kernel size 1 (same name, quantizers, activation, weights) agrees with the QDense
    on 400 inputs of the 2^-8 grid; a model whose Dense layers are flat is itself."""
    import tensorflow as tf

    from codesign.dense_pointwise import with_pointwise_dense

    model, x = _dense_over_axes(shape)
    rewritten = with_pointwise_dense(model)
    kind = "QConv1D" if len(shape) == 2 else "QConv2D"
    assert [type(layer).__name__ for layer in rewritten.layers] == ["InputLayer", "QActivation", kind, kind, "Flatten"]
    assert rewritten.get_layer("per_value").kernel_size == (1,) * (len(shape) - 1) and rewritten.get_layer("per_value").filters == 5
    assert str(rewritten.get_layer("scaled").kernel_quantizer_internal) == str(model.get_layer("scaled").kernel_quantizer_internal)
    assert np.array_equal(model.predict(x, verbose=0), rewritten.predict(x, verbose=0))
    flat = tf.keras.Model(model.input, model.get_layer("q_in").output)
    assert with_pointwise_dense(flat) is flat


@pytest.mark.slow
def test_plain_hls4ml_drops_a_dense_over_a_sequences_quantizers_and_codesigns_conversion_keeps_them(tmp_path):
    """hls4ml 1.3 makes the QDense on (6, 3) inputs a pointwise convolution with its float kernel: its compiled project
    differs from QKeras; codesign's converts the 1x1 QConv1D and equals QKeras on every sample."""
    import hls4ml

    from codesign.hls4ml_graph import hls4ml_graph

    model, x = _dense_over_axes((6, 3))
    expected = model.predict(x, verbose=0)
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", default_precision="fixed<32,16>")
    plain = hls4ml_graph(model, config, "dense", output_dir=tmp_path / "plain", backend="Vitis", io_type="io_parallel")
    plain.compile()
    assert not np.array_equal(np.asarray(plain.predict(x)).reshape(len(x), -1), expected)
    repaired = build_graph(model, HLSSpec(), tmp_path / "graph", None, tmp_path / "log", EXACT)
    repaired.compile()
    assert np.array_equal(np.asarray(repaired.predict(x)).reshape(len(x), -1), expected)


@pytest.mark.slow
def test_a_thresholded_relus_theta_is_compared_as_keras_compares_it(tmp_path):
    """hls4ml held a ThresholdedReLU's theta in its input's type, 0.3 as 0.300048828125 in fixed<16,3,RND_CONV,SAT>,
    so that input itself was 0 where Keras passes it, and its result in fixed<16,6>, which truncates the input's 13
    fraction bits: theta is stored as Keras's float32 theta, the result covers the input, and the firmware gives
    Keras's output."""
    import qkeras
    from tensorflow import keras

    from codesign.fixed import Fixed, from_float, of_precision, to_hls4ml

    inputs = keras.Input((1,), name="x")
    model = keras.Model(inputs, keras.layers.ThresholdedReLU(0.3, name="thr")(qkeras.QActivation("quantized_bits(16,2,alpha=1)", name="q")(inputs)))
    graph = build_graph(model, HLSSpec(), tmp_path / "graph", None, tmp_path / "log", EXACT)
    next(layer for layer in graph.get_layers() if layer.name == "x").get_output_variable().type.precision = to_hls4ml(Fixed(16, 3, True))  # the quantizer's grid
    param = of_precision(next(layer for layer in graph.get_layers() if layer.name == "thr").types["param_t"].precision)
    assert int(from_float(np.float64([np.float32(0.3)]), param)[0]) * param.lsb == float(np.float32(0.3))
    x = np.array([[0.300048828125], [0.30029296875], [0.25], [1.5]], dtype=np.float32)
    graph.compile()
    assert np.array_equal(np.asarray(graph.predict(x)).reshape(-1), model.predict(x, verbose=0).reshape(-1))


@pytest.mark.slow
@pytest.mark.parametrize("trunk", ["dense", "convolution"])
def test_a_ternary_compare_reading_a_ternary_compare_keeps_the_types_its_template_takes(trunk, tmp_path):
    """A ternary step block, a batch normalization and a ternary activation: the second compare reads the first's
    ap_int<2> output, and its thresholds, written again on that grid, were typed ap_fixed<2,2>, the same values in
    another C++ type, so no candidate compiled (no matching normalize_ternary_tanh; found from fuzz seed 1459 model 3);
    after a convolution, the Flatten's exact type rewrote the compare's own ap_int<2> result (the io_parallel Flatten
    shares its input's type) as ap_fixed<2,2>. Thresholds take the input's own precision, a type already exact is kept,
    and the firmware gives QKeras's output."""
    import qkeras
    from tensorflow import keras

    shape = (8,) if trunk == "dense" else (4, 4, 2)
    inputs = keras.Input(shape, name="x")
    x = qkeras.QActivation("quantized_bits(10,3,alpha=1)", name="xq")(inputs)
    x = (qkeras.QDense(6, kernel_quantizer="binary(alpha=1)", use_bias=False, name="d")(x) if trunk == "dense" else
         qkeras.QConv2D(3, 3, padding="same", kernel_quantizer="binary(alpha=1)", use_bias=False, name="d")(x))
    x = qkeras.QActivation("ternary(alpha=1)", name="t1")(keras.layers.BatchNormalization(name="bn1")(x))
    x = qkeras.QActivation("ternary(alpha=1)", name="t2")(keras.layers.BatchNormalization(name="bn2")(x))
    x = x if trunk == "dense" else keras.layers.Flatten(name="flat")(x)
    model = keras.Model(inputs, qkeras.QDense(3, kernel_quantizer="quantized_bits(8,2,alpha=1)", bias_quantizer="quantized_bits(8,2,alpha=1)",
                                              name="out")(x))
    graph = build_graph(model, HLSSpec(), tmp_path / "graph", None, tmp_path / "log", EXACT)
    second = next(layer for layer in graph.get_layers() if layer.name.endswith("t2_scale"))
    types = {second.types[f"{key}_t"].precision.definition_cpp() for key in ("threshold_hi", "threshold_lo")}
    assert types == {second.get_input_variable().type.precision.definition_cpp()} == {"ap_int<2>"}
    assert second.types["result_t"].precision.definition_cpp() == "ap_int<2>"
    x = np.round(np.random.default_rng(0).normal(size=(300, *shape)) * 256) / 256
    graph.compile()
    assert np.array_equal(np.asarray(graph.predict(x.astype(np.float32))).reshape(len(x), -1), model.predict(x, verbose=0))
