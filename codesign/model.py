"""Spec -> a QKeras model and its float twin (same architecture, no quantizers): the firmware and its reference."""

from __future__ import annotations

import json
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Callable

from codesign.config import (
    ActivationLayer,
    BatchNormLayer,
    Conv1DLayer,
    Conv2DLayer,
    DenseLayer,
    DepthwiseConv2DLayer,
    DropoutLayer,
    FixedPoint,
    FlattenLayer,
    GlobalPoolingLayer,
    PoolingLayer,
    SeparableConv2DLayer,
    Spec,
    UpSampling2DLayer,
    ZeroPadding2DLayer,
)
from codesign.errors import ModelError, SpecError
from codesign.registry import registrar

INPUT_QUANTIZER_NAME = "input_quant"


HGQ_PROXY_LAYERS = ("FixedPointQuantizer", "UnaryLUT")  # the layers of an HGQ proxy model (HGQ.proxy)


def custom_objects(hgq: bool = False) -> dict:
    """What Keras needs to load a QKeras model from .h5; with `hgq`, an HGQ proxy model too (its FixedPointQuantizer and
    UnaryLUT layers, which hls4ml converts bit for bit)."""
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    if hgq:
        from HGQ.proxy import FixedPointQuantizer, UnaryLUT

        objects.update(zip(HGQ_PROXY_LAYERS, (FixedPointQuantizer, UnaryLUT)))
    return objects


def load_keras_model(path: str | Path, hgq: bool = True):
    """Load a QKeras/Keras model file (an HGQ proxy model too, unless `hgq` is False: the estimate of an hls4ml project
    reads an HGQ design from its firmware, as its calibration rows were read); ModelError naming the file when it is
    missing or not a model."""
    from tensorflow import keras

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    if not hgq and is_hgq_proxy_file(path):  # read from the file: HGQ, once imported, registers its layers with Keras for good
        raise ModelError(f"{path}: an HGQ proxy model ({', '.join(HGQ_PROXY_LAYERS)} layers): an hls4ml project holding one is estimated "
                         "from the firmware hls4ml wrote, as the calibration's HGQ rows are")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Keras warns about QKeras quantizers in constraints
            if path.suffix == ".keras":
                with tempfile.TemporaryDirectory(prefix="codesign-model-") as scratch:
                    model = keras.models.load_model(_readable_keras_file(path, Path(scratch)), custom_objects=custom_objects(hgq), compile=False)
            else:
                model = keras.models.load_model(path, custom_objects=custom_objects(hgq), compile=False)
            return without_training_only_layers(inlined(model, path, hgq), hgq)
    except (OSError, ValueError, TypeError, KeyError) as error:
        first = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        unknown = _unknown_layer_classes(path, hgq)
        if unknown:  # Keras's own message can be unrelated ("'str' object is not callable" for HGQ's proxy models)
            first = f"layer classes {', '.join(unknown)} are neither Keras nor QKeras layers; Keras said: {first}"
        raise ModelError(f"{path}: not a loadable Keras/QKeras model ({first})") from None


def inlined(keras_model, path: Path | str = "model", hgq: bool = False):
    """The model with every model nested in it (a Sequential block called as a layer) replaced by that model's own
    layers, called on the same tensors: the flat graph hls4ml converts layer by layer and codesign compares layer by
    layer (a nested model's inner layers have no output in the outer graph). Rebuilt from the flat graph's config, so
    that each layer has that graph's call alone, the weights copied by name; ModelError naming the layers where an
    inner layer's name is one the outer model already has."""
    import tensorflow as tf
    from tensorflow import keras

    if not any(isinstance(layer, keras.Model) for layer in keras_model.layers):
        return keras_model
    inputs = [keras.Input(tensor.shape[1:], dtype=tensor.dtype, name=layer.name)
              for tensor, layer in zip(keras_model.inputs, keras_model._input_layers)]
    try:
        outputs = _replayed(keras_model, inputs, tf)
        flat = keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs if len(outputs) > 1 else outputs[0], name=keras_model.name)
    except ValueError as error:
        if "unique" not in str(error):
            raise
        names = [layer.name for layer in _flat_layers(keras_model, keras)]
        repeated = sorted({name for name in names if names.count(name) > 1})
        raise ModelError(f"{path}: layer names {', '.join(repeated)} are used both inside a nested model and outside it: codesign "
                         "flattens nested models, and a flat model's layer names are unique: rename one of each") from None
    return _rebuilt(keras.Model, flat.get_config(), flat, hgq)


def _replayed(keras_model, inputs: list, tf) -> list:
    """Call the model's layers, in its graph's order, on `inputs` (one per model input), a nested model by its own
    layers (inlined): the outputs those calls give for the model's outputs."""
    from tensorflow import keras

    replaced = {id(tensor): new for tensor, new in zip(keras_model.inputs, inputs)}

    def new_of(value):
        return replaced.get(id(value), value)

    for depth in sorted(keras_model._nodes_by_depth, reverse=True):
        for node in keras_model._nodes_by_depth[depth]:
            if node.is_input:
                continue
            args, kwargs = tf.nest.map_structure(new_of, node.call_args), tf.nest.map_structure(new_of, node.call_kwargs)
            if isinstance(node.layer, keras.Model):
                outputs = _replayed(node.layer, tf.nest.flatten(args[0] if args else kwargs["inputs"]), tf)
            else:
                outputs = node.layer(*args, **kwargs)
            for tensor, new in zip(tf.nest.flatten(node.outputs), tf.nest.flatten(outputs)):
                replaced[id(tensor)] = new
    return [replaced[id(tensor)] for tensor in keras_model.outputs]


def _flat_layers(keras_model, keras) -> list:
    """The model's layers other than its input layers, a nested model's own in its place."""
    found = []
    for layer in keras_model.layers:
        if isinstance(layer, keras.Model):
            found += _flat_layers(layer, keras)
        elif not isinstance(layer, keras.layers.InputLayer):
            found.append(layer)
    return found


# Keras layers that only act in training (the identity when Keras predicts) and that hls4ml 1.3 has no converter for
# (it skips Dropout itself)
TRAINING_ONLY_LAYERS = ("GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                        "ActivityRegularization")


def training_only_layers(keras_model) -> list[tuple[str, str]]:
    """(name, class) of the model's layers that act only in training and are called once on one tensor (what
    without_training_only_layers takes out)."""
    return [(layer.name, type(layer).__name__) for layer in keras_model.layers
            if type(layer).__name__ in TRAINING_ONLY_LAYERS and len(layer._inbound_nodes) == 1 and len(layer._inbound_nodes[0].keras_inputs) == 1]


def dropped_training_only_layers(path: Path, keras_model) -> list[str]:
    """The training-only layers of a model file that load_keras_model took out of `keras_model`, named for the log."""
    kept = {layer.name for layer in keras_model.layers}

    def layers_in(config: dict) -> list[dict]:  # a nested model's layers in its place
        return [inner for layer in config.get("config", {}).get("layers", []) for inner in [layer, *layers_in(layer)]]

    return [f"'{layer['config']['name']}' ({layer['class_name']})" for layer in layers_in(_architecture(Path(path)))
            if layer.get("class_name") in TRAINING_ONLY_LAYERS and layer.get("config", {}).get("name") not in kept]


def without_training_only_layers(keras_model, hgq: bool = False):
    """The same model without its layers that act only in training (GaussianNoise, SpatialDropout2D, ...): the function
    Keras predicts with, which hls4ml converts where it has no converter for those layers. Each one's consumers read
    its input instead (an edit of the model's config, the other layers' weights copied by name)."""
    removed = {name for name, _ in training_only_layers(keras_model)}
    if not removed:
        return keras_model
    config = keras_model.get_config()
    layers = config["layers"]
    if "input_layers" not in config:  # a Sequential model: a list of layers, each reading the one before
        config["layers"] = [layer for layer in layers if layer["config"]["name"] not in removed]
    else:
        source = {layer["name"]: layer["inbound_nodes"][0][0][:3] for layer in layers if layer["name"] in removed}

        def read(reference):
            while isinstance(reference, list) and reference and reference[0] in source:  # a removed layer's reader reads its input
                reference = [*source[reference[0]], *reference[3:]]  # (through chained removed layers)
            return reference

        config["layers"] = [{**layer, "inbound_nodes": [[read(reference) for reference in node] for node in layer["inbound_nodes"]]}
                            for layer in layers if layer["name"] not in removed]
        config["output_layers"] = [read(reference) for reference in config["output_layers"]]
    return _rebuilt(type(keras_model), config, keras_model, hgq)


def _rebuilt(model_class, config: dict, weighted, hgq: bool):
    """A model of new layers from a config, each layer's weights those of `weighted`'s layer of its name."""
    rebuilt = model_class.from_config(config, custom_objects=custom_objects(hgq))
    for layer in rebuilt.layers:
        layer.set_weights(weighted.get_layer(layer.name).get_weights())
    return rebuilt


def is_hgq_proxy_file(path: Path) -> bool:
    """Whether a model file is an HGQ proxy model (its architecture names HGQ's proxy layers), read without TensorFlow."""
    names = [layer.get("class_name", "") for layer in _architecture(Path(path)).get("config", {}).get("layers", [])]
    return any(name.split(">")[-1] in HGQ_PROXY_LAYERS for name in names)


def _architecture(path: Path) -> dict:
    """A model file's architecture (its Keras config) without TensorFlow; {} when it has none readable."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                return json.loads(archive.read("config.json"))
        import h5py

        with h5py.File(path, "r") as file:
            text = file.attrs["model_config"]
            return json.loads(text if isinstance(text, str) else text.decode())
    except (OSError, KeyError, ValueError):
        return {}


STREAM_MIN_PIXELS = 32 * 32  # a convolution over this many input pixels or more is built in io_stream by default


def recommended_io_type(path: Path) -> str | None:
    """Why a model file should stream, or None: a convolutional model whose input has STREAM_MIN_PIXELS or more.
    hls4ml recommends io_stream for CNNs of that size (its tutorial streams its 32x32 CNN): io_parallel unrolls every
    pixel, and its compile and synthesis grow with the image."""
    layers = _architecture(Path(path)).get("config", {}).get("layers", [])
    shapes = [layer.get("config", {}).get("batch_input_shape") or layer.get("config", {}).get("batch_shape") for layer in layers]
    shape = next((shape for shape in shapes if shape), None)
    if not shape or len(shape) < 3 or not any("Conv" in layer.get("class_name", "") for layer in layers):
        return None
    pixels = 1
    for size in shape[1:-1]:
        pixels *= int(size or 1)
    if pixels < STREAM_MIN_PIXELS:
        return None
    return f"a convolutional model over {'x'.join(str(size) for size in shape[1:-1])} inputs is built in io_stream, as hls4ml recommends (set hls.io_type in a spec to choose)"


def _unknown_layer_classes(path: Path, hgq: bool = True) -> list[str]:
    """Layer class names in a model file's architecture that neither Keras, QKeras nor a registered custom object
    defines (HGQ's FixedPointQuantizer, a layer of a newer QKeras); [] when there is none or the file has no readable
    architecture."""
    from tensorflow import keras

    config = _architecture(path)
    if not config:
        return []
    known = set(custom_objects(hgq)) | set(keras.utils.get_custom_objects()) | {name for name in dir(keras.layers) if name[:1].isupper()}
    names = [layer.get("class_name", "") for layer in config.get("config", {}).get("layers", [])]
    return sorted({name for name in names if name and name not in known and name.split(">")[-1] not in known})


# Builders per spec layer kind (config.SPEC_LAYERS): a QKeras one for the firmware's model and a float one for its
# twin; a kind registered twice is refused.
QKERAS_BUILDERS: dict[type, Callable] = {}
FLOAT_BUILDERS: dict[type, Callable] = {}
_qkeras_builder = registrar(QKERAS_BUILDERS, "the QKeras builder of")
_float_builder = registrar(FLOAT_BUILDERS, "the float builder of")


def _readable_keras_file(path: Path, scratch: Path) -> Path:
    """A .keras file QKeras can load: the Keras 3 format stores a QActivation's quantizer as a serialized dict, which
    QActivation cannot take back (TensorFlow 2.14 fails with 'could not be deserialized properly'); QKeras's own text
    form ('quantized_relu(6,2)') loads."""
    from qkeras.quantizers import get_quantizer

    if not zipfile.is_zipfile(path):
        return path  # an HDF5 file named .keras (older hls4ml): Keras reads it as such
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
        members = {name: archive.read(name) for name in archive.namelist()}
    changed = False
    for layer in config.get("config", {}).get("layers", []):
        activation = layer.get("config", {}).get("activation")
        if layer.get("class_name") == "QActivation" and isinstance(activation, dict) and "class_name" in activation:
            layer["config"]["activation"] = str(get_quantizer({"class_name": activation["class_name"], "config": activation["config"]}))
            changed = True
    if not changed:
        return path
    patched = scratch / path.name
    with zipfile.ZipFile(patched, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, json.dumps(config) if name == "config.json" else data)
    return patched


def build_qkeras(spec: Spec, input_shape: tuple[int, ...], with_softmax: bool = False):
    """The quantized model: an input quantizer, then each spec layer with its QKeras quantizers."""
    from qkeras import QActivation
    from tensorflow import keras

    quant = spec.quantization
    inputs = keras.Input(shape=input_shape, name="model_input")
    x = QActivation(_bits(quant.input), name=INPUT_QUANTIZER_NAME)(inputs)
    named = spec.model.named_layers()
    for index, (name, layer) in enumerate(named):
        following = named[index + 1][1] if index + 1 < len(named) else None
        if isinstance(layer, BatchNormLayer) or (_is_softmax(layer) and not with_softmax):
            continue  # folded into the conv2d before it; the softmax runs on the host
        x = _apply(index, name, QKERAS_BUILDERS[type(layer)](spec, name, layer, following), x)
    return keras.Model(inputs, x, name=f"{spec.name or 'model'}_qkeras")


def build_float(spec: Spec, input_shape: tuple[int, ...]):
    """The float twin: plain Keras layers, batchnorm kept as its own layer, softmax left out (logits)."""
    from tensorflow import keras

    inputs = keras.Input(shape=input_shape, name="model_input")
    x = inputs
    for index, (name, layer) in enumerate(spec.model.named_layers()):
        if _is_softmax(layer):
            continue
        x = _apply(index, name, FLOAT_BUILDERS[type(layer)](name, layer), x)
    return keras.Model(inputs, x, name=f"{spec.name or 'model'}_float")


def _is_softmax(layer) -> bool:
    """The final softmax runs on the host unless asked for in firmware: the models end in logits."""
    return isinstance(layer, ActivationLayer) and layer.activation == "softmax"


def _apply(index: int, name: str, keras_layer, x):
    """Call a layer on its input; a shape Keras refuses (kernel larger than input, ...) names the spec layer."""
    try:
        return keras_layer(x)
    except ValueError as error:
        message = " ".join(str(error).split()).split(". ")[0][:200]
        raise SpecError(f"model.layers[{index}] ({name}): impossible for input shape {tuple(x.shape[1:])}: {message}") from None


def _quantizers(spec: Spec, name: str) -> tuple[FixedPoint, FixedPoint, FixedPoint]:
    """Weights, biases and activations quantization of a layer: its overrides, else the spec's."""
    override = spec.quantization.layers.get(name)
    quant = spec.quantization
    return (
        (override and override.weights) or quant.weights,
        (override and override.biases) or quant.biases,
        (override and override.activations) or quant.activations,
    )


@_qkeras_builder(Conv2DLayer)
def _qkeras_conv2d(spec: Spec, name: str, layer: Conv2DLayer, following):
    """QConv2D; followed by a batchnorm, a folded QConv2DBatchnorm."""
    from qkeras import QConv2D, QConv2DBatchnorm

    weights, biases, _ = _quantizers(spec, name)
    common = dict(
        filters=layer.filters,
        kernel_size=layer.kernel_size,
        strides=layer.strides,
        padding=layer.padding,
        use_bias=layer.use_bias,
        kernel_quantizer=_bits(weights),
        bias_quantizer=_bits(biases),
        name=name,
    )
    if isinstance(following, BatchNormLayer):
        return QConv2DBatchnorm(momentum=following.momentum, epsilon=following.epsilon, **common)
    return QConv2D(**common)


@_qkeras_builder(Conv1DLayer)
def _qkeras_conv1d(spec: Spec, name: str, layer: Conv1DLayer, following):
    from qkeras import QConv1D

    weights, biases, _ = _quantizers(spec, name)
    return QConv1D(layer.filters, layer.kernel_size, strides=layer.strides, padding=layer.padding, use_bias=layer.use_bias,
                   kernel_quantizer=_bits(weights), bias_quantizer=_bits(biases), name=name)


@_qkeras_builder(SeparableConv2DLayer)
def _qkeras_separable(spec: Spec, name: str, layer: SeparableConv2DLayer, following):
    """QSeparableConv2D: both kernels (depthwise, pointwise) with the layer's weights quantizer."""
    from qkeras import QSeparableConv2D

    weights, biases, _ = _quantizers(spec, name)
    return QSeparableConv2D(layer.filters, layer.kernel_size, strides=layer.strides, padding=layer.padding,
                            depth_multiplier=layer.depth_multiplier, use_bias=layer.use_bias, depthwise_quantizer=_bits(weights),
                            pointwise_quantizer=_bits(weights), bias_quantizer=_bits(biases), name=name)


@_qkeras_builder(DepthwiseConv2DLayer)
def _qkeras_depthwise(spec: Spec, name: str, layer: DepthwiseConv2DLayer, following):
    from qkeras import QDepthwiseConv2D

    weights, biases, _ = _quantizers(spec, name)
    return QDepthwiseConv2D(
        kernel_size=layer.kernel_size,
        strides=layer.strides,
        padding=layer.padding,
        depth_multiplier=layer.depth_multiplier,
        use_bias=layer.use_bias,
        depthwise_quantizer=_bits(weights),
        bias_quantizer=_bits(biases),
        name=name,
    )


@_qkeras_builder(DenseLayer)
def _qkeras_dense(spec: Spec, name: str, layer: DenseLayer, following):
    from qkeras import QDense

    weights, biases, _ = _quantizers(spec, name)
    return QDense(layer.units, use_bias=layer.use_bias, kernel_quantizer=_bits(weights), bias_quantizer=_bits(biases), name=name)


@_qkeras_builder(ActivationLayer)
def _qkeras_activation(spec: Spec, name: str, layer: ActivationLayer, following):
    """relu -> quantized_relu, linear -> quantized_bits, softmax as Keras computes it."""
    from qkeras import QActivation
    from tensorflow import keras

    _, _, activations = _quantizers(spec, name)
    if layer.activation == "relu":
        return QActivation(_relu(activations), name=name)
    if layer.activation == "linear":
        return QActivation(_bits(activations), name=name)
    return keras.layers.Activation("softmax", name=name)


@_qkeras_builder(BatchNormLayer)
def _qkeras_batchnorm(spec: Spec, name: str, layer: BatchNormLayer, following):
    raise ModelError(f"layer '{name}': a batchnorm is folded into the conv2d before it")  # build_qkeras skips it


@_float_builder(Conv2DLayer)
def _float_conv2d(name: str, layer: Conv2DLayer):
    from tensorflow import keras

    return keras.layers.Conv2D(layer.filters, layer.kernel_size, layer.strides, layer.padding, use_bias=layer.use_bias, name=name)


@_float_builder(Conv1DLayer)
def _float_conv1d(name: str, layer: Conv1DLayer):
    from tensorflow import keras

    return keras.layers.Conv1D(layer.filters, layer.kernel_size, layer.strides, layer.padding, use_bias=layer.use_bias, name=name)


@_float_builder(SeparableConv2DLayer)
def _float_separable(name: str, layer: SeparableConv2DLayer):
    from tensorflow import keras

    return keras.layers.SeparableConv2D(layer.filters, layer.kernel_size, layer.strides, layer.padding,
                                        depth_multiplier=layer.depth_multiplier, use_bias=layer.use_bias, name=name)


@_float_builder(DepthwiseConv2DLayer)
def _float_depthwise(name: str, layer: DepthwiseConv2DLayer):
    from tensorflow import keras

    return keras.layers.DepthwiseConv2D(
        layer.kernel_size, layer.strides, layer.padding, depth_multiplier=layer.depth_multiplier, use_bias=layer.use_bias, name=name
    )


@_float_builder(DenseLayer)
def _float_dense(name: str, layer: DenseLayer):
    from tensorflow import keras

    return keras.layers.Dense(layer.units, use_bias=layer.use_bias, name=name)


@_float_builder(BatchNormLayer)
def _float_batchnorm(name: str, layer: BatchNormLayer):
    from tensorflow import keras

    return keras.layers.BatchNormalization(momentum=layer.momentum, epsilon=layer.epsilon, name=name)


@_float_builder(ActivationLayer)
def _float_activation(name: str, layer: ActivationLayer):
    from tensorflow import keras

    return keras.layers.Activation(layer.activation, name=name)


def _shared_layer(name: str, layer):
    """Layers without quantizers, the same in both models."""
    from tensorflow import keras

    if isinstance(layer, PoolingLayer):
        cls = keras.layers.MaxPooling2D if layer.type == "max_pooling2d" else keras.layers.AveragePooling2D
        return cls(layer.pool_size, layer.strides, layer.padding, name=name)
    if isinstance(layer, GlobalPoolingLayer):
        cls = keras.layers.GlobalAveragePooling2D if layer.type == "global_average_pooling2d" else keras.layers.GlobalMaxPooling2D
        return cls(name=name)
    if isinstance(layer, ZeroPadding2DLayer):
        return keras.layers.ZeroPadding2D(layer.padding, name=name)
    if isinstance(layer, UpSampling2DLayer):
        return keras.layers.UpSampling2D(layer.size, interpolation="nearest", name=name)
    if isinstance(layer, FlattenLayer):
        return keras.layers.Flatten(name=name)
    return keras.layers.Dropout(layer.rate, name=name)


SHARED_LAYERS = (PoolingLayer, GlobalPoolingLayer, ZeroPadding2DLayer, UpSampling2DLayer, FlattenLayer, DropoutLayer)
_float_builder(*SHARED_LAYERS)(_shared_layer)
_qkeras_builder(*SHARED_LAYERS)(lambda spec, name, layer, following: _shared_layer(name, layer))


def _bits(fixed: FixedPoint):
    """QKeras quantized_bits(bits, integer) with alpha=1: values on the ap_fixed<bits, integer+1> grid."""
    from qkeras import quantized_bits

    return quantized_bits(fixed.bits, fixed.integer, alpha=1)


def _relu(fixed: FixedPoint):
    """QKeras quantized_relu(bits, integer): values on the ap_ufixed<bits, integer> grid."""
    from qkeras import quantized_relu

    return quantized_relu(fixed.bits, fixed.integer)


def check_output_shape(model, shape_source: str, num_outputs: int | None) -> None:
    """A classifier's last layer must have one output per class; name the mismatch before training."""
    if num_outputs is None:
        return
    outputs = model.output_shape[-1]
    if len(model.output_shape) != 2 or outputs != num_outputs:
        raise ModelError(
            f"{shape_source}: the model's output shape is {model.output_shape[1:]}, but the data has {num_outputs} "
            f"classes (make the last dense layer units: {num_outputs})"
        )
