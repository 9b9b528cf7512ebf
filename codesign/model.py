"""Spec -> a QKeras model and its float twin (same architecture, no quantizers): the firmware and its reference."""

from __future__ import annotations

import warnings
from pathlib import Path

from codesign.config import (
    ActivationLayer,
    BatchNormLayer,
    Conv2DLayer,
    DenseLayer,
    DepthwiseConv2DLayer,
    DropoutLayer,
    FixedPoint,
    FlattenLayer,
    PoolingLayer,
    Spec,
)
from codesign.errors import ModelError, SpecError

INPUT_QUANTIZER_NAME = "input_quant"


def custom_objects() -> dict:
    """What Keras needs to load a QKeras model from .h5."""
    from qkeras.utils import _add_supported_quantized_objects

    objects: dict = {}
    _add_supported_quantized_objects(objects)
    return objects


def load_keras_model(path: str | Path):
    """Load a QKeras/Keras model file; ModelError naming the file when it is missing or not a model."""
    from tensorflow import keras

    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: model file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # Keras warns about QKeras quantizers in constraints
            return keras.models.load_model(path, custom_objects=custom_objects(), compile=False)
    except (OSError, ValueError, TypeError, KeyError) as error:
        first = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise ModelError(f"{path}: not a loadable Keras/QKeras model ({first})") from None


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
            continue
        x = _apply(index, name, _quantized_layer(spec, name, layer, following), x)
    return keras.Model(inputs, x, name=f"{spec.name or 'model'}_qkeras")


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


def _quantized_layer(spec: Spec, name: str, layer, following):
    """One QKeras layer; a conv2d followed by batchnorm becomes a folded QConv2DBatchnorm."""
    from qkeras import QActivation, QConv2D, QConv2DBatchnorm, QDense, QDepthwiseConv2D
    from tensorflow import keras

    override = spec.quantization.layers.get(name)
    weights = (override and override.weights) or spec.quantization.weights
    biases = (override and override.biases) or spec.quantization.biases
    activations = (override and override.activations) or spec.quantization.activations
    if isinstance(layer, Conv2DLayer):
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
    if isinstance(layer, DepthwiseConv2DLayer):
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
    if isinstance(layer, DenseLayer):
        return QDense(
            layer.units, use_bias=layer.use_bias, kernel_quantizer=_bits(weights), bias_quantizer=_bits(biases), name=name
        )
    if isinstance(layer, ActivationLayer):
        if layer.activation == "relu":
            return QActivation(_relu(activations), name=name)
        if layer.activation == "linear":
            return QActivation(_bits(activations), name=name)
        return keras.layers.Activation("softmax", name=name)
    return _shared_layer(name, layer)


def build_float(spec: Spec, input_shape: tuple[int, ...]):
    """The float twin: plain Keras layers, batchnorm kept as its own layer, softmax left out (logits)."""
    from tensorflow import keras

    inputs = keras.Input(shape=input_shape, name="model_input")
    x = inputs
    for index, (name, layer) in enumerate(spec.model.named_layers()):
        if _is_softmax(layer):
            continue
        x = _apply(index, name, _float_layer(name, layer), x)
    return keras.Model(inputs, x, name=f"{spec.name or 'model'}_float")


def _float_layer(name: str, layer):
    """One plain Keras layer of the float twin."""
    from tensorflow import keras

    if isinstance(layer, Conv2DLayer):
        return keras.layers.Conv2D(
            layer.filters, layer.kernel_size, layer.strides, layer.padding, use_bias=layer.use_bias, name=name
        )
    if isinstance(layer, DepthwiseConv2DLayer):
        return keras.layers.DepthwiseConv2D(
            layer.kernel_size,
            layer.strides,
            layer.padding,
            depth_multiplier=layer.depth_multiplier,
            use_bias=layer.use_bias,
            name=name,
        )
    if isinstance(layer, DenseLayer):
        return keras.layers.Dense(layer.units, use_bias=layer.use_bias, name=name)
    if isinstance(layer, BatchNormLayer):
        return keras.layers.BatchNormalization(momentum=layer.momentum, epsilon=layer.epsilon, name=name)
    if isinstance(layer, ActivationLayer):
        return keras.layers.Activation(layer.activation, name=name)
    return _shared_layer(name, layer)


def _shared_layer(name: str, layer):
    """Layers without quantizers, the same in both models."""
    from tensorflow import keras

    if isinstance(layer, PoolingLayer):
        cls = keras.layers.MaxPooling2D if layer.type == "max_pooling2d" else keras.layers.AveragePooling2D
        return cls(layer.pool_size, layer.strides, layer.padding, name=name)
    if isinstance(layer, FlattenLayer):
        return keras.layers.Flatten(name=name)
    if isinstance(layer, DropoutLayer):
        return keras.layers.Dropout(layer.rate, name=name)
    raise ModelError(f"layer '{name}': type '{layer.type}' has no builder")  # the schema makes this unreachable


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
