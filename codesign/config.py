"""The experiment spec: one strict, typed schema for models/*.yaml (unknown keys and wrong types are errors)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, ClassVar, Literal, Union, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from codesign.errors import SpecError
from codesign.fixed import Fixed
from codesign.parts import check_full_name, find_part

PRECISION_POLICIES = ("bit-exact", "hls4ml-default", "as-configured", "as-repaired")
PositiveInt = Annotated[int, Field(gt=0)]


class Strict(BaseModel):
    """Base for every spec section: unknown keys are refused, values are not coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


# --- dataset -------------------------------------------------------------------------------------


class DatasetSpec(Strict):
    name: Literal["digits", "mnist", "cifar10", "svhn", "npz"] = Field(
        "digits", description="Which dataset: bundled scikit-learn digits, a network loader, or a user's .npz."
    )
    path: str | None = Field(None, description="The .npz file (x_train, y_train, x_test, y_test); only for name: npz.")
    test_fraction: float = Field(
        0.2, gt=0, lt=1, description="Share of the digits held out as the test set (digits only)."
    )
    synthetic: bool = Field(
        False, description="Random images and labels of the named dataset's shape, for offline runs: accuracy is meaningless."
    )
    synthetic_samples: list[PositiveInt] = Field(
        [512, 100], min_length=2, max_length=2, description="Train and test sample counts of synthetic data."
    )

    @model_validator(mode="after")
    def _path_only_for_npz(self) -> "DatasetSpec":
        if self.name == "npz" and not self.path:
            raise ValueError("dataset 'npz' needs 'path'")
        if self.name != "npz" and self.path:
            raise ValueError(f"'path' is only for dataset 'npz', not '{self.name}'")
        if self.synthetic and self.name == "npz":
            raise ValueError("'synthetic' needs a named dataset (its shape), not 'npz'")
        return self


# --- architecture --------------------------------------------------------------------------------

KernelSize = Union[PositiveInt, Annotated[list[PositiveInt], Field(min_length=2, max_length=2)]]


class LayerBase(Strict):
    trainable: ClassVar[bool] = False  # has weights that training learns (a model needs at least one such layer)

    name: str | None = Field(None, description="Layer name (default: '<type>_<n>'); used by per-layer overrides.")


class ConvolutionBase(LayerBase):
    """What every spec convolution has: a sliding kernel, its stride, Keras's padding and an optional bias."""

    trainable: ClassVar[bool] = True

    kernel_size: KernelSize = Field(3, description="Kernel height and width (int or [h, w]).")
    strides: KernelSize = Field(1, description="Stride (int or [h, w]).")
    padding: Literal["valid", "same"] = Field("valid", description="Keras padding mode.")
    use_bias: bool = Field(True, description="Whether the layer has a bias.")


class Conv2DLayer(ConvolutionBase):
    type: Literal["conv2d"]
    filters: int = Field(gt=0, description="Number of output channels.")


class DepthwiseConv2DLayer(ConvolutionBase):
    type: Literal["depthwise_conv2d"]
    depth_multiplier: int = Field(1, gt=0, description="Output channels per input channel.")


class Conv1DLayer(ConvolutionBase):
    type: Literal["conv1d"]
    filters: int = Field(gt=0, description="Number of output channels.")
    kernel_size: PositiveInt = Field(3, description="Kernel length.")
    strides: PositiveInt = Field(1, description="Stride.")


class SeparableConv2DLayer(ConvolutionBase):
    type: Literal["separable_conv2d"]
    filters: int = Field(gt=0, description="Number of output channels (of the pointwise convolution).")
    depth_multiplier: int = Field(1, gt=0, description="Depthwise output channels per input channel.")


class DenseLayer(LayerBase):
    trainable: ClassVar[bool] = True

    type: Literal["dense"]
    units: int = Field(gt=0, description="Number of outputs.")
    use_bias: bool = Field(True, description="Whether the layer has a bias.")


class ActivationLayer(LayerBase):
    type: Literal["activation"]
    activation: Literal["relu", "linear", "softmax"] = Field(
        description="relu and linear are quantized with quantization.activations; softmax only as the last layer."
    )


class PoolingLayer(LayerBase):
    type: Literal["max_pooling2d", "average_pooling2d"]
    pool_size: KernelSize = Field(2, description="Pooling window (int or [h, w]).")
    strides: KernelSize | None = Field(None, description="Stride (default: pool_size).")
    padding: Literal["valid", "same"] = Field("valid", description="Keras padding mode.")


class GlobalPoolingLayer(LayerBase):
    type: Literal["global_average_pooling2d", "global_max_pooling2d"]


class ZeroPadding2DLayer(LayerBase):
    type: Literal["zero_padding2d"]
    padding: KernelSize = Field(1, description="Zeros added on each side: an int, or [rows, columns].")


class UpSampling2DLayer(LayerBase):
    type: Literal["upsampling2d"]
    size: KernelSize = Field(2, description="Repetitions of rows and columns (int or [h, w]), nearest neighbour.")


class BatchNormLayer(LayerBase):
    type: Literal["batchnorm"]
    momentum: float = Field(0.99, gt=0, lt=1, description="Moving-average momentum of the statistics.")
    epsilon: float = Field(0.001, gt=0, description="Added to the variance.")


class FlattenLayer(LayerBase):
    type: Literal["flatten"]


class DropoutLayer(LayerBase):
    type: Literal["dropout"]
    rate: float = Field(ge=0, lt=1, description="Fraction of inputs dropped during training (none at inference).")


# The table of spec layer kinds: schema classes here; their QKeras and float builders are registered in model.py
# (a test checks every kind has both). Adding a kind: docs/architecture.md has the checklist.
SPEC_LAYERS = (Conv2DLayer, Conv1DLayer, DepthwiseConv2DLayer, SeparableConv2DLayer, DenseLayer, ActivationLayer, PoolingLayer,
               GlobalPoolingLayer, ZeroPadding2DLayer, UpSampling2DLayer, BatchNormLayer, FlattenLayer, DropoutLayer)
Layer = Annotated[Union[SPEC_LAYERS], Field(discriminator="type")]
LAYER_TAGS = {tag: kind for kind in SPEC_LAYERS for tag in get_args(kind.model_fields["type"].annotation)}
TRAINABLE_TYPES = tuple(tag for tag, kind in LAYER_TAGS.items() if kind.trainable)


class ModelSpec(Strict):
    layers: list[Layer] | None = Field(None, description="The architecture, input to output.")
    file: str | None = Field(None, description="A trained QKeras/Keras model (.h5/.keras) instead of 'layers'.")

    @model_validator(mode="after")
    def _layers_or_file(self) -> "ModelSpec":
        if (self.layers is None) == (self.file is None):
            raise ValueError("give exactly one of 'layers' or 'file'")
        if self.layers is not None:
            _check_layers(self.layers)
        return self

    def named_layers(self) -> list[tuple[str, Layer]]:
        """Layers with their resolved names ('<type>_<n>' where the spec gives none)."""
        counts: dict[str, int] = {}
        named = []
        for layer in self.layers or []:
            counts[layer.type] = counts.get(layer.type, 0) + 1
            named.append((layer.name or f"{layer.type}_{counts[layer.type]}", layer))
        return named


def _check_layers(layers: list) -> None:
    """Refuse architectures that cannot be built or converted bit-exactly, naming the layer."""
    if not layers:
        raise ValueError("'layers' is empty")
    for index, layer in enumerate(layers):
        where = f"layers[{index}] ({layer.type})"
        if isinstance(layer, ActivationLayer) and layer.activation == "softmax" and index != len(layers) - 1:
            raise ValueError(f"{where}: softmax is only allowed as the last layer")
        if isinstance(layer, BatchNormLayer):
            previous = layers[index - 1] if index else None
            if not isinstance(previous, Conv2DLayer):
                raise ValueError(
                    f"{where}: batchnorm must directly follow a conv2d (it is folded into it, QConv2DBatchnorm)"
                )
    if not any(layer.type in TRAINABLE_TYPES for layer in layers):
        raise ValueError(f"'layers' has no layer with weights ({', '.join(TRAINABLE_TYPES)})")


# --- quantization --------------------------------------------------------------------------------


class FixedPoint(Strict):
    bits: int = Field(ge=1, le=32, description="Total bits, sign included (QKeras quantized_bits 'bits').")
    integer: int = Field(ge=0, le=31, description="Integer bits, sign excluded (QKeras 'integer').")

    @model_validator(mode="after")
    def _integer_fits(self) -> "FixedPoint":
        if self.integer >= self.bits:
            raise ValueError(f"integer ({self.integer}) must be smaller than bits ({self.bits})")
        return self


class LayerQuantization(Strict):
    weights: FixedPoint | None = Field(None, description="Overrides quantization.weights for this layer.")
    biases: FixedPoint | None = Field(None, description="Overrides quantization.biases for this layer.")
    activations: FixedPoint | None = Field(None, description="Overrides quantization.activations for this layer.")


class QuantizationSpec(Strict):
    input: FixedPoint = Field(
        FixedPoint(bits=8, integer=0), description="Quantizer applied to the raw input (a QActivation first layer)."
    )
    weights: FixedPoint = Field(FixedPoint(bits=8, integer=0), description="Kernel quantizer of conv/dense layers.")
    biases: FixedPoint = Field(FixedPoint(bits=8, integer=0), description="Bias quantizer of conv/dense layers.")
    activations: FixedPoint = Field(
        FixedPoint(bits=8, integer=3), description="relu -> quantized_relu, linear -> quantized_bits."
    )
    layers: dict[str, LayerQuantization] = Field(default_factory=dict, description="Per-layer overrides, by name.")


# --- training ------------------------------------------------------------------------------------


class TrainingSpec(Strict):
    enabled: bool = Field(True, description="false: keep the seeded random initial weights (quantized), e.g. --no-train.")
    epochs: int = Field(20, gt=0, description="Passes over the training set.")
    batch_size: int = Field(32, gt=0, description="Samples per gradient step.")
    learning_rate: float = Field(0.003, gt=0, description="Adam learning rate.")
    seed: int = Field(0, ge=0, description="Seeds Python, NumPy and TensorFlow: a rerun gives the same model.")
    validation_fraction: float = Field(0.1, ge=0, lt=1, description="Share of the training set used for validation.")
    pruning_sparsity: float | None = Field(
        None, ge=0, lt=1, description="Target fraction of zero weights (magnitude pruning), or null for none."
    )


# --- hls -----------------------------------------------------------------------------------------


class LayerHLS(Strict):
    reuse_factor: int | None = Field(None, gt=0, description="Overrides hls.reuse_factor for this layer.")
    strategy: Literal["Latency", "Resource"] | None = Field(None, description="Overrides hls.strategy.")
    accum: str | None = Field(None, description="Accumulator type, e.g. 'ap_fixed<18,8>' (applied last).")
    result: str | None = Field(None, description="Output type, e.g. 'ap_fixed<16,6>' (applied last).")

    @field_validator("accum", "result")
    @classmethod
    def _ap_type(cls, value: str | None) -> str | None:
        if value is not None:
            parse_ap_fixed(value)
        return value


class HLSSpec(Strict):
    backend: Literal["Vitis", "Vivado"] = Field("Vitis", description="hls4ml backend.")
    part: str = Field("xcu250-figd2104-2L-e", min_length=1, description="FPGA part number.")
    clock_ns: float = Field(5.0, gt=0, description="Target clock period in ns.")
    io_type: Literal["io_parallel", "io_stream"] = Field("io_parallel", description="hls4ml IO type.")
    strategy: Literal["Latency", "Resource", "distributed_arithmetic"] = Field(
        "Latency", description="hls4ml strategy for every layer (distributed_arithmetic: Dense/Conv at reuse factor 1, on da4ml)."
    )
    reuse_factor: int = Field(1, gt=0, description="Multiplications sharing one multiplier.")
    precision: str = Field(
        "bit-exact", description="'bit-exact', 'hls4ml-default' or an explicit 'ap_fixed<W,I>' for every layer."
    )
    head: Literal["host", "firmware"] = Field(
        "host", description="Where a final softmax, sigmoid or tanh runs: 'host' (the firmware ends on the logits; the head is "
        "computed in float, as QKeras does) or 'firmware' (hls4ml's lookup tables; bit-exactness is judged on the logits and "
        "the tables' error reported). `softmax_in_firmware: true` is the older spelling of 'firmware'."
    )
    head_output: Literal["decision", "probabilities"] = Field(
        "decision", description="With the head in firmware, what it outputs: 'decision' (a softmax outputs the class, one-hot, "
        "with hls4ml's argmax implementation; a sigmoid or tanh its table value, with tables chosen so its side of the threshold "
        "is the model's) or 'probabilities' (a softmax's lookup tables; the decision is then checked, and proven where it can be)."
    )
    layers: dict[str, LayerHLS] = Field(default_factory=dict, description="Per-layer overrides, by name.")
    hls4ml_config: str | None = Field(
        None, description="An hls4ml HLSConfig (YAML): 'as-configured' converts with it as written (codesign import), 'as-repaired' "
        "with codesign's repairs (codesign repair); under 'bit-exact' its settings but the types are kept and the types searched."
    )


    @model_validator(mode="before")
    @classmethod
    def _older_head_spelling(cls, data):
        if isinstance(data, dict) and "softmax_in_firmware" in data:
            data = dict(data)
            older = data.pop("softmax_in_firmware")
            if older is not True and older is not False:
                raise ValueError("softmax_in_firmware: true or false (or use head: host|firmware)")
            data.setdefault("head", "firmware" if older else "host")
        return data

    @field_validator("precision")
    @classmethod
    def _known_policy(cls, value: str) -> str:
        if value not in PRECISION_POLICIES:
            parse_ap_fixed(value)
        return value

    @model_validator(mode="after")
    def _known_part(self) -> "HLSSpec":
        """A part of codesign's table, or any part an imported hls4ml project names (estimated by its family)."""
        try:
            check_full_name(self.part) if not self.hls4ml_config else find_part(self.part)  # a project's own part is what it is
        except ValueError as error:
            if not self.hls4ml_config:
                raise PydanticCustomError("unknown_part", "{message}", {"message": str(error), "key": "part"}) from None
        return self

    @model_validator(mode="after")
    def _configured_needs_a_config(self) -> "HLSSpec":
        if self.precision in ("as-configured", "as-repaired") and not self.hls4ml_config:
            raise ValueError(f"precision '{self.precision}' needs hls4ml_config: the hls4ml HLSConfig file to convert with")
        if self.hls4ml_config and not Path(self.hls4ml_config).is_file():
            raise ValueError(f"hls4ml_config '{self.hls4ml_config}' is not a file")
        return self


def parse_ap_fixed(text: str) -> Fixed:
    """A precision given as 'ap_fixed<W,I>' (or ap_ufixed, with modes); ValueError naming the policies otherwise."""
    try:
        return Fixed.parse_ap(text)
    except ValueError as error:
        if not text.strip().startswith("ap_"):
            raise ValueError(f"'{text}' is not a precision policy ({', '.join(PRECISION_POLICIES)}) or 'ap_fixed<W,I>'") from None
        raise error from None


# --- validation ----------------------------------------------------------------------------------


class ValidationSpec(Strict):
    cpp_samples: int = Field(
        300, ge=0, description="Test samples also run through the compiled C++ emulation when the vectorized one is used."
    )
    domain: list[float] | list[list[float]] | None = Field(
        None,
        description="The inputs bit-exactness is proven over: [low, high] for every input value, or one [low, high] per "
        "input value; default every value of the firmware's input type (with an input quantizer: every float32 input "
        "where QKeras's own quantizer is exact). docs/proof.md.",
    )

    @field_validator("domain")
    @classmethod
    def _ranges(cls, value):
        if value is None:
            return value
        pairs = [value] if value and not isinstance(value[0], list) else value
        for pair in pairs:
            if len(pair) != 2 or not all(math.isfinite(bound) for bound in pair) or pair[0] > pair[1]:
                raise ValueError(f"each range is [low, high] with finite low <= high, got {pair}")
        return value


# --- bench -------------------------------------------------------------------------------------


class BenchSpec(Strict):
    device: Literal["cpu", "gpu", "all"] = Field("all", description="Where to measure: the CPU, the GPUs, or both.")
    batch_sizes: list[PositiveInt] = Field(
        [1, 8, 64, 256, 1024], min_length=1, description="Batch sizes for the throughput measurements."
    )
    runs: int = Field(200, gt=0, description="Timed batch-1 calls behind the p50/p99 latency.")


# --- rtl --------------------------------------------------------------------------------------


class RTLSpec(Strict):
    enabled: bool = Field(False, description="Run the rtl step: Verilog per kernel, Verilator against the emulator, yosys counts.")
    synth: bool = Field(True, description="Synthesize each kernel with yosys (LUT/FF/CARRY4 counts).")
    family: Literal["xc7"] = Field("xc7", description="yosys synth_xilinx family.")


# --- the whole spec ------------------------------------------------------------------------------


class Spec(Strict):
    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", description="Run name (default: the file stem).")
    description: str = Field("", description="Free text, shown in reports.")
    dataset: DatasetSpec = Field(DatasetSpec(), description="Where the data comes from.")
    model: ModelSpec = Field(description="The architecture or a trained model file.")
    quantization: QuantizationSpec = Field(QuantizationSpec(), description="QKeras quantizers.")
    training: TrainingSpec = Field(TrainingSpec(), description="Quantization-aware training.")
    hls: HLSSpec = Field(HLSSpec(), description="hls4ml conversion settings.")
    validation: ValidationSpec = Field(ValidationSpec(), description="How the firmware is emulated for validation.")
    bench: BenchSpec = Field(BenchSpec(), description="The CPU/GPU reference measurements.")
    rtl: RTLSpec = Field(RTLSpec(), description="The open-source RTL path (distributed_arithmetic runs).")

    @model_validator(mode="after")
    def _rtl_needs_distributed_arithmetic(self) -> "Spec":
        if self.rtl.enabled and self.hls.strategy != "distributed_arithmetic":
            raise ValueError("rtl.enabled: the RTL path writes da4ml's adder graphs, which hls.strategy 'distributed_arithmetic' builds "
                             f"(this spec's strategy is {self.hls.strategy})")
        if self.hls.strategy == "distributed_arithmetic" and self.hls.reuse_factor != 1:
            raise ValueError("hls.reuse_factor: the distributed_arithmetic strategy takes reuse factor 1 only")
        return self

    @model_validator(mode="after")
    def _overrides_name_layers(self) -> "Spec":
        if self.model.layers is None:
            if self.quantization.layers:
                raise ValueError("quantization.layers: per-layer overrides need model.layers, not model.file")
            return self
        named = dict(self.model.named_layers())
        for section, overrides in (("quantization.layers", self.quantization.layers), ("hls.layers", self.hls.layers)):
            for layer_name in overrides:
                if layer_name not in named:
                    raise ValueError(f"{section}.{layer_name}: no layer of that name (layers: {', '.join(named)})")
        if len(named) != len(self.model.layers):
            raise ValueError("model.layers: two layers have the same name")
        last = self.model.layers[-1]
        if self.hls.head == "firmware" and not (isinstance(last, ActivationLayer) and last.activation == "softmax"):
            raise ValueError("hls.head: 'firmware' needs a final softmax activation (the last layer is not one)")
        return self

    def digest(self) -> str:
        """sha256 of the canonical resolved spec: equal digests mean the same experiment."""
        return digest_of(self.model_dump(mode="json"))

    def section_digest(self, *sections: str) -> str:
        """Digest of some sections only, so a step reruns only when what it reads changed."""
        data = self.model_dump(mode="json")
        return digest_of({key: data[key] for key in sections})

    def has_softmax(self) -> bool:
        """Whether the architecture ends in a softmax activation."""
        last = (self.model.layers or [None])[-1]
        return isinstance(last, ActivationLayer) and last.activation == "softmax"


def digest_of(data: object) -> str:
    """sha256 of a JSON-serialisable value in canonical form."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def load_spec(path: str | Path) -> Spec:
    """Read and validate a YAML spec; every failure is a SpecError naming the file and the key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SpecError(f"{path}: cannot read the spec ({error.strerror})") from None
    except UnicodeDecodeError as error:
        raise SpecError(f"{path}: not a YAML spec (undecodable byte at offset {error.start}: a binary file?)") from None
    if "\x00" in text:
        raise SpecError(f"{path}: not a YAML spec (it holds NUL bytes: a binary file?)")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise SpecError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: the spec must be a mapping of sections (dataset, model, ...)")
    _resolve_paths(data, path.parent)
    return spec_from_dict(data, source=str(path))


def _resolve_paths(data: dict, base: Path) -> None:
    """dataset.path and model.file are relative to the spec's folder, so a spec works from any directory."""
    for section, key in (("dataset", "path"), ("model", "file")):
        value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if isinstance(value, str) and value and not Path(value).is_absolute():
            data[section][key] = str((base / value).resolve())


def spec_from_dict(data: dict, source: str = "spec") -> Spec:
    """Validate a spec given as a dict (from YAML or built by the CLI)."""
    try:
        return Spec.model_validate(data)
    except ValidationError as error:
        raise SpecError(f"{source}: {_first_problem(error)}") from None


def hls_from_dict(data: dict, source: str) -> HLSSpec:
    """hls settings given outside a spec (CLI options): same checks, errors naming the source."""
    try:
        return HLSSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(f"{source}: {_first_problem(error)}") from None


def _first_problem(error: ValidationError) -> str:
    """One line for the first schema violation: the dotted key and what is wrong with it."""
    problem = error.errors()[0]
    location = [_printable(part) for part in problem["loc"] if not _is_union_tag(part)]
    if "key" in problem.get("ctx", {}):  # a check over several fields (a model validator) names the one at fault
        location.append(problem["ctx"]["key"])
    key = ".".join(location) or "(top level)"
    kind = problem["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{key}'"
    if kind == "missing":
        return f"missing key '{key}'"
    message = _printable(problem["msg"].removeprefix("Value error, "))  # it may quote the user's value
    if kind == "value_error" and not location:
        return message
    value = problem.get("input")
    shown = f" (got {value!r})" if not isinstance(value, (dict, list)) and str(value) not in message else ""
    return f"key '{key}': {message}{shown}"


def _printable(part: object) -> str:
    """A key as one printable line: control characters in user keys are escaped."""
    return str(part).encode("unicode_escape").decode("ascii")


def _is_union_tag(part: object) -> bool:
    """Pydantic puts the discriminator value and union member names into error locations; hide them."""
    return isinstance(part, str) and (
        part in LAYER_TAGS or part in ("int", "list") or "[" in part or part.startswith(("function-", "constrained-"))
    )


def dump_spec(spec: Spec) -> str:
    """The resolved spec as YAML (every default filled in), as saved next to a run's outputs."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
