"""Seeded random QKeras models over the space users draw from, as JSON recipes that rebuild the same model (weights
included): the fuzzer's generator and what its shrinker edits (docs/fuzzing.md)."""

from __future__ import annotations

import copy
import functools
import json
import re

import numpy as np

GRID = 2.0**-8  # the fuzzer's inputs are N(0, 1) on this grid, as in hls4ml's own tests
KERNEL_QUANTIZERS = ("quantized_bits({b},{i},alpha=1)", "quantized_bits({b},{i})", "quantized_bits({b},{i},alpha='auto_po2')",
                     "quantized_bits({b},0,1,alpha=1)", "quantized_po2({b})", "binary(alpha=1)", "ternary(alpha=1)")
ACTIVATION_QUANTIZERS = ("quantized_bits({b},{i},alpha=1)", "quantized_bits({b},{i},keep_negative=0,alpha=1)", "quantized_relu({b},{i})",
                         "quantized_relu({b},0)", "quantized_tanh({b})", "quantized_sigmoid({b})", "quantized_bits({b},{i},1,alpha=1)")
SPATIAL_KINDS = ("conv", "conv", "conv", "separable", "depthwise", "conv_bn", "pool", "pool", "global_pool", "zero_pad", "upsample",
                 "qbn", "float_bn", "activation", "activation", "relu", "linear_conv", "residual", "concat")
FLAT_KINDS = ("dense", "dense", "activation", "qbn", "float_bn", "relu")
# Generation 2 (2026-12-05) also draws a leaky quantized_relu, Dropout, a quantizer as a layer's own activation= and
# use_bias=False; generation 3 (2026-12-05, later) float Keras layers among the quantized ones (a Dense, convolution or
# depthwise convolution without quantizers, as a QKeras model's last Dense often is; a Keras LeakyReLU); generation 4
# (2026-12-05, later still) Cropping, the other element-wise merges and a Keras Activation('linear'). Model I of seed S
# depends on the generation: generation 1 draws the models of every seed used before 2026-12-05, generation 2 those of
# seeds 1340-1357, generation 3 those of 1358-1366 (docs/fuzzing.md's sweeps, the tests that pin a seed's model).
# Generation 5 (2026-12-06) draws a LeakyReLU's alpha (LEAKY_ALPHAS; 0.25 before), generation 4 those of 1367-1375.
# Generation 6 (2026-12-07) draws a Keras PReLU (an alpha per value, seeded as the weights), generation 5 those of 1376-1382.
# Generation 7 (2026-12-08) draws a second output twice as often, and as a Dense of its own on what the last Dense reads
# (_second_output) as well as the sigmoid of the logits, the only one before; generation 6 those of 1382-1388.
# Generation 8 (2026-12-09) draws binary and ternary activations among the activation quantizers (docs/proof.md);
# generation 7 those of 1389-1395. Generation 9 (2026-12-06) draws a binary network's block (STEP_BLOCK: a binary or
# ternary kernel without bias, a batch normalization, a binary or ternary activation); generation 8 those of 1396-1405.
# Generation 10 (2026-12-06, later) draws the model's reuse factor (REUSE_FACTORS; 1 before), generation 9 those of 1406-1417.
# Generation 11 (2026-12-06, later still) draws hls4ml's Vivado backend one time in four (its templates differ from
# Vitis's in convolutions, poolings and streamed Dense; Vitis before), generation 10 those of 1418-1419.
# Generation 12 (2026-12-06, twenty-third stop) makes half the images wider than tall, and then some kernels, strides,
# pools, paddings, croppings and upsamplings rectangular (_rectangular; square before, so a height read as a width
# went unseen), generation 11 those of 1420-1423. Generation 13 (2026-12-06, twenty-fourth stop) widens one quantizer in
# three to 2-16 bits with up to 7 integer bits (up to one more than its bits) and deepens one model in two by 1-3
# layers (_wider_and_deeper; 2-10 bits, 0-3 integer bits and 1-4 trunk layers before), generation 12 those of 1424-1429.
# Generation 14 (2026-12-07, twenty-fifth stop) draws, one image model in two, 1-2 layers of a flat trunk right after
# its Flatten (_after_the_flatten; a Dense always came first before, so no generation drew an activation, a batch
# normalization or a step block reading a Flatten's stream), generation 13 those of 1430-1438.
# Generation 15 (2026-12-07, twenty-sixth stop) draws, one model in three with a flat trunk, a merge of a flat value
# with a quantized Dense branch of it (_flat_merge; merges were drawn in image trunks only, so no generation copied a
# Flatten's stream for a Dense and a merge), generation 14 those of 1438-1446.
# Generation 16 (2026-12-07, twenty-seventh stop) draws, one model in three, a Reshape, a Permute or a Concatenate along
# a spatial axis in an image trunk, or a flat input reshaped to a sequence for 1-2 layers of a 1D trunk (_reshaped;
# each was checked only on models written by hand), generation 15 those of 1447-1456.
# Generation 17 (2026-12-07, twenty-eighth stop) draws, one model in four each, a run of 1-3 layers packaged in a
# nested model called as a layer, and a layer that only acts in training (_packaged; both were refused or internal
# errors until model.inlined and model.without_training_only_layers), generation 16 those of 1457-1470.
GENERATION = 17
TRAINING_ONLY = ("GaussianNoise", "GaussianDropout", "SpatialDropout", "ActivityRegularization")  # generation 17's (SpatialDropout: 1D or 2D by the rank; on a flat value a GaussianDropout)
WIDE_BITS = (2, 16)  # generation 13: a widened quantizer's bits; QKeras's quantized_po2 overflows past about 12 bits,
PO2_BITS = 11  # so a power-of-two kernel stays at 11 (its smallest weight 2^-1023, float64's edge)
REUSE_FACTORS = (1, 1, 1, 2, 3, 4, 8, 16, 64)  # hls4ml takes the nearest factor valid for each layer
LEAKY_ALPHAS = (0.25, 0.3, 0.1, 0.01)  # Keras's default 0.3 and the usual others: most are no power of two
_GENERATION_2 = (ACTIVATION_QUANTIZERS + ("quantized_relu({b},{i},negative_slope=0.25)",), SPATIAL_KINDS + ("dropout",), FLAT_KINDS + ("dropout",))
_GENERATION_3 = (_GENERATION_2[0], _GENERATION_2[1] + ("leaky_relu",), _GENERATION_2[2] + ("leaky_relu",))
DRAWN = {1: (ACTIVATION_QUANTIZERS, SPATIAL_KINDS, FLAT_KINDS), 2: _GENERATION_2, 3: _GENERATION_3,
         4: (_GENERATION_3[0], _GENERATION_3[1] + ("crop", "merge", "linear"), _GENERATION_3[2] + ("linear",))}
DRAWN[5] = DRAWN[4]  # the same kinds, a leaky relu's alpha drawn
DRAWN[6] = (DRAWN[5][0], DRAWN[5][1] + ("prelu",), DRAWN[5][2] + ("prelu",))
DRAWN[7] = DRAWN[6]  # the same kinds, a second output drawn more often and of two kinds
DRAWN[8] = (DRAWN[7][0] + ("binary(alpha=1)", "ternary(alpha=1)"), DRAWN[7][1], DRAWN[7][2])
DRAWN[9] = (DRAWN[8][0], DRAWN[8][1] + ("step_block",), DRAWN[8][2] + ("step_block",))
DRAWN[10] = DRAWN[9]  # the same kinds, a reuse factor drawn
DRAWN[11] = DRAWN[10]  # the same kinds, the backend drawn
DRAWN[12] = DRAWN[11]  # the same kinds, images and windows rectangular
DRAWN[13] = DRAWN[12]  # the same kinds, wider quantizers, deeper models
DRAWN[14] = DRAWN[13]  # the same kinds, some after a Flatten
DRAWN[15] = DRAWN[14]  # the same kinds, some with a flat merge
DRAWN[16] = DRAWN[15]  # the same kinds, some reshaped, permuted or concatenated along a spatial axis
DRAWN[17] = DRAWN[16]  # the same kinds, some in a nested model, some beside a layer that only acts in training
FLAT_MERGES = ("residual", "concat", "merge")  # generation 15: where a flat trunk has one, a Dense branch
STEP_QUANTIZERS = ("binary(alpha=1)", "ternary(alpha=1)")  # a step block's kernel and activation (hls4ml's binary examples)
MERGES = ("average", "multiply", "subtract", "maximum", "minimum")  # a "merge": a quantized 1x1 branch combined with its input
# generation 16: a Reshape's target as a rule on the shape it reads (so a narrowed input still fits), by that shape's rank
RESHAPES = {1: ("1d",), 2: ("swap", "length", "image"), 3: ("rows", "columns", "swap")}
PERMUTATIONS = {2: ("2,1",), 3: ("2,1,3", "1,3,2", "3,2,1", "3,1,2", "2,3,1")}  # Keras's Permute dims, by rank
FLOAT_SHARE = 0.15  # generation 3: the share of weighted layers drawn without quantizers


def random_recipe(seed: int, index: int, generation: int = GENERATION) -> dict:
    """Model `index` of fuzzer seed `seed` (of the generator's `generation`): its input, layers, head, io type and
    strategy, reuse factor and backend (plain data)."""
    rng = np.random.default_rng([seed, index])
    activations, spatial_kinds, flat_kinds = DRAWN[generation]
    rank = int(rng.choice([0, 1, 2], p=[0.2, 0.35, 0.45]))
    shape = [int(rng.integers(4, 9))] * rank + [int(rng.integers(1, 4))] if rank else [int(rng.integers(4, 13))]
    recipe = {"seed": seed, "index": index, "input": shape,
              "input_quantizer": _quantizer(rng, ACTIVATION_QUANTIZERS[:2]) if rng.random() < 0.6 else None,
              "io_type": "io_stream" if rank and rng.random() < 0.3 else "io_parallel",
              "strategy": "Resource" if rng.random() < 0.2 else "Latency", "layers": [], "head": str(rng.choice(["linear", "softmax", "sigmoid"])),
              "outputs": 2 if rng.random() < (0.1 if generation >= 7 else 0.05) else 1}
    current = list(shape)
    for _ in range(int(rng.integers(1, 5))):
        kinds = spatial_kinds if len(current) > 1 else flat_kinds
        layer = _layer(rng, str(rng.choice(kinds)), current, generation)
        if layer is None:
            continue
        recipe["layers"].append(layer)
        try:
            current = output_shape(recipe)
        except ValueError:  # a kernel or pool larger than what is left of the input
            recipe["layers"].pop()
    if len(current) > 1:
        recipe["layers"].append({"kind": "flatten"})
    if rng.random() < 0.5:
        recipe["layers"] += [_layer(rng, "dense", [1], generation), {"kind": "activation", "quantizer": _quantizer(rng, activations)}]
    recipe["layers"].append({**_layer(rng, "dense", [1], generation), "units": 1 if recipe["head"] == "sigmoid" else int(rng.integers(2, 5))})
    if recipe["outputs"] > 1 and generation >= 7:
        recipe["second_output"] = _second_output(rng, generation)
    if generation >= 10:
        recipe["reuse_factor"] = int(rng.choice(REUSE_FACTORS))
    if generation >= 11:
        recipe["backend"] = "Vivado" if rng.random() < 0.25 else "Vitis"
    if generation >= 12:
        recipe = _rectangular(recipe)
    if generation >= 13:
        recipe = _wider_and_deeper(recipe)
    if generation >= 14:
        recipe = _after_the_flatten(recipe)
    if generation >= 15:
        recipe = _flat_merge(recipe)
    if generation >= 16:
        recipe = _reshaped(recipe)
    return _packaged(recipe) if generation >= 17 else recipe


def _packaged(recipe: dict) -> dict:
    """Generation 17: the model of generation 16 with, one model in four, a run of 1-3 of its layers (`nested`; not
    the last Dense, whose input a second output reads) built as a functional model called as one layer, and, one model
    in four, a layer that only acts in training (TRAINING_ONLY) inserted before one of its layers: what users'
    Keras code writes. Drawn from a stream of its own."""
    rng = np.random.default_rng([recipe["seed"], recipe["index"], 17])
    nested, noisy = rng.random() < 1 / 4, rng.random() < 1 / 4
    noise, noise_at, start, length = str(rng.choice(TRAINING_ONLY)), rng.random(), rng.random(), int(rng.integers(1, 4))
    if not (nested or noisy):
        return recipe
    packaged = copy.deepcopy(recipe)
    if noisy:
        packaged["layers"].insert(int(noise_at * len(recipe["layers"])), {"kind": "training_only", "op": noise})
    body = len(packaged["layers"]) - 1
    if nested and body:
        first = int(start * body)
        for layer in packaged["layers"][first:min(body, first + length)]:
            layer["nested"] = True
    return packaged if _fits(packaged) else recipe


def _flat_merge(recipe: dict) -> dict:
    """Generation 15: the model of generation 14 with, one model in three, a merge of a flat value and a quantized
    Dense branch of it (Add, Concatenate or one of MERGES) drawn before a flat layer (often right after the Flatten).
    Drawn from a stream of its own."""
    rng = np.random.default_rng([recipe["seed"], recipe["index"], 15])
    kinds = [layer["kind"] for layer in recipe["layers"]]
    first = kinds.index("flatten") + 1 if "flatten" in kinds else 0 if len(recipe["input"]) == 1 else None
    if first is None or rng.random() >= 1 / 3:
        return recipe
    merged = copy.deepcopy(recipe)
    position = int(rng.integers(first, len(kinds)))
    merged["layers"].insert(position, _layer(rng, str(rng.choice(FLAT_MERGES)), [1], 15))
    return merged if _fits(merged) else recipe


def _reshaped(recipe: dict) -> dict:
    """Generation 16: the model of generation 15 with, one model in three, a Reshape, a Permute or a Concatenate of a
    quantized 1x1 branch along a spatial axis drawn in its image trunk (its Flatten a Reshape to flat one time in
    three), or, for a flat input, that input reshaped to a sequence of one channel for 1-2 layers of a 1D trunk and a
    Flatten (as 1D CNNs of tabular data begin). Drawn from a stream of its own."""
    rng = np.random.default_rng([recipe["seed"], recipe["index"], 16])
    if rng.random() >= 1 / 3:
        return recipe
    reshaped = copy.deepcopy(recipe)
    kinds = [layer["kind"] for layer in recipe["layers"]]
    if len(recipe["input"]) == 1:
        trunk = [{"kind": "reshape", "op": "1d"}]
        for _ in range(int(rng.integers(1, 3))):
            shape = output_shape({**recipe, "layers": trunk})
            layer = _layer(rng, str(rng.choice(DRAWN[16][1])), shape, 16) if len(shape) > 1 else None  # none after a global pooling
            if layer is not None and _fits({**recipe, "layers": trunk + [layer, {"kind": "flatten"}] + recipe["layers"]}):
                trunk.append(layer)
        reshaped["layers"] = trunk + [{"kind": "flatten"}] + recipe["layers"]
        return reshaped if _fits(reshaped) else recipe
    image = [position for position in range(len(kinds)) if len(output_shape({**recipe, "layers": recipe["layers"][:position]})) > 1]
    position = int(rng.choice(image))  # before a layer that reads an image (a Flatten, a global pooling, ...)
    rank = len(output_shape({**recipe, "layers": recipe["layers"][:position]}))
    kind = str(rng.choice(["reshape", "permute", "concat"]))
    if kind == "reshape":
        layer = {"kind": kind, "op": str(rng.choice(RESHAPES[rank]))}
    elif kind == "permute":
        layer = {"kind": kind, "op": str(rng.choice(PERMUTATIONS[rank]))}
    else:
        layer = {**_layer(rng, "concat", [1], 16), "axis": int(rng.integers(1, rank))}
    reshaped["layers"].insert(position, layer)
    if "flatten" in kinds and rng.random() < 1 / 3:
        reshaped["layers"][kinds.index("flatten") + 1] = {"kind": "reshape", "op": "flat"}
    return reshaped if _fits(reshaped) else recipe


def reshaped_shape(rule: str, shape: list[int]) -> tuple[int, ...]:
    """The target of a generation-16 Reshape of this rule on an input of this shape (no batch); ValueError where the
    rule is not for this rank."""
    if rule == "flat":
        return (int(np.prod(shape)),)
    if rule not in RESHAPES.get(len(shape), ()):
        raise ValueError(f"no reshape {rule!r} of a shape of rank {len(shape)}")
    if len(shape) == 1:
        return (shape[0], 1)
    if len(shape) == 2:
        length, channels = shape
        return {"swap": (channels, length), "length": (length * channels, 1), "image": (length, channels, 1)}[rule]
    height, width, channels = shape
    return {"rows": (height * width, channels), "columns": (height, width * channels), "swap": (width, height, channels)}[rule]


def _after_the_flatten(recipe: dict) -> dict:
    """Generation 14: the model of generation 13 with, one image model in two, 1-2 layers of a flat trunk (DRAWN's
    third kinds, a Dense among them) drawn right after its Flatten, where they fit. Drawn from a stream of its own."""
    kinds = [layer["kind"] for layer in recipe["layers"]]
    rng = np.random.default_rng([recipe["seed"], recipe["index"], 14])
    if "flatten" not in kinds or rng.random() >= 0.5:
        return recipe
    after = copy.deepcopy(recipe)
    position = kinds.index("flatten") + 1
    for _ in range(int(rng.integers(1, 3))):
        layer = _layer(rng, str(rng.choice(DRAWN[14][2])), [1], 14)
        if layer is not None and _fits({**after, "layers": after["layers"][:position] + [layer] + after["layers"][position:]}):
            after["layers"].insert(position, layer)
            position += 1
    return after


def _rectangular(recipe: dict) -> dict:
    """Generation 12: the model of generation 11 with, one image in two, its width grown by 1-3 and then each window
    (kernel, stride, pool, padding, cropping, upsampling) made rectangular one time in two, no wider than it was, so
    every layer still fits (checked: where one does not, the square recipe stays). Drawn from a stream of its own."""
    if len(recipe["input"]) != 3:
        return recipe
    rng = np.random.default_rng([recipe["seed"], recipe["index"], 12])
    if rng.random() >= 0.5:
        return recipe
    wide = copy.deepcopy(recipe)
    wide["input"][1] += int(rng.integers(1, 4))
    for layer in wide["layers"]:
        for key in ("kernel", "strides", "size"):
            if isinstance(layer.get(key), int) and layer["kind"] != "upsample" and rng.random() < 0.5:
                layer[key] = [layer[key], int(rng.integers(1, layer[key] + 1))]
        if layer["kind"] == "upsample" and rng.random() < 0.5:
            layer["size"] = [layer["size"], 1]
        if layer["kind"] in ("zero_pad", "crop") and rng.random() < 0.5:
            key = "pad" if layer["kind"] == "zero_pad" else "crop"
            layer[key] = [[layer[key], int(rng.integers(0, 2))], [int(rng.integers(0, 2)), layer[key]]]
    return wide if _fits(wide) else recipe


def _wider_and_deeper(recipe: dict) -> dict:
    """Generation 13: the model of generation 12 with, one model in two, 1-3 more layers drawn at its trunk's end (where
    one does not fit, it is left out), and then one quantizer in three redrawn in the same form at WIDE_BITS with up to
    7 integer bits, and up to one more than its bits (an integer part of 0 stays 0: some forms fix it). Drawn from a
    stream of its own."""
    rng = np.random.default_rng([recipe["seed"], recipe["index"], 13])
    deeper = copy.deepcopy(recipe)
    if rng.random() < 0.5:
        kinds = [layer["kind"] for layer in deeper["layers"]]
        position = kinds.index("flatten") if "flatten" in kinds else len(kinds) - 1
        for _ in range(int(rng.integers(1, 4))):
            shape = output_shape({**deeper, "layers": deeper["layers"][:position]})
            layer = _layer(rng, str(rng.choice(DRAWN[13][1] if len(shape) > 1 else DRAWN[13][2])), shape, 13)
            if layer is not None and _fits({**deeper, "layers": deeper["layers"][:position] + [layer] + deeper["layers"][position:]}):
                deeper["layers"].insert(position, layer)
                position += 1
    for owner in [deeper] + deeper["layers"] + [deeper.get("second_output", {})]:
        for key in ("input_quantizer", "kernel_quantizer", "bias_quantizer", "quantizer", "activation"):
            if isinstance(owner.get(key), str) and rng.random() < 1 / 3:
                owner[key] = _widened(rng, owner[key])
    return deeper


def _widened(rng, quantizer: str) -> str:
    """The quantizer of this form with its bits (and a non-zero integer part) redrawn at generation 13's widths."""
    match = re.fullmatch(r"(quantized_\w+)\((\d+)(?:,(\d+))?(.*)", quantizer)
    if match is None:  # binary, ternary: no width
        return quantizer
    name, _, integer, rest = match.groups()
    bits = int(rng.integers(WIDE_BITS[0], (PO2_BITS if name == "quantized_po2" else WIDE_BITS[1]) + 1))
    if integer is None:
        return f"{name}({bits}{rest}"
    integer = 0 if integer == "0" else int(rng.integers(1, min(bits + 2, 8)))  # up to one more than the bits: a coarse grid
    return f"{name}({bits},{integer}{rest}"


def _second_output(rng, generation: int) -> dict:
    """Generation 7: a second output, a sigmoid of the logits (hls4ml's tables) or a Dense of 1-3 units of its own (a
    regression beside the classifier) on what the last Dense reads."""
    if rng.random() < 0.3:
        return {"kind": "sigmoid"}
    return {**_layer(rng, "dense", [1], generation), "units": int(rng.integers(1, 4))}


def _quantizer(rng, forms) -> str:
    bits = int(rng.integers(2, 11))
    return str(rng.choice(forms)).format(b=bits, i=int(rng.integers(0, min(bits, 4))))


def _layer(rng, kind: str, shape: list[int], generation: int = GENERATION) -> dict | None:
    """One layer of this kind that fits an input of this shape (None when none fits); from generation 3 a Dense,
    convolution or depthwise convolution is float (no quantizers, no activation) in FLOAT_SHARE of the draws."""
    layer = _quantized_layer(rng, kind, shape, generation)
    if generation < 3 or layer is None or layer["kind"] not in ("conv", "dense", "depthwise") or rng.random() >= FLOAT_SHARE:
        return layer
    return {**{key: value for key, value in layer.items() if key not in ("kernel_quantizer", "bias_quantizer", "activation")}, "float": True}


def _quantized_layer(rng, kind: str, shape: list[int], generation: int) -> dict | None:
    activations = DRAWN[generation][0]
    spatial, rank = shape[:-1], len(shape) - 1
    kernel, bias = _quantizer(rng, KERNEL_QUANTIZERS), f"quantized_bits({int(rng.integers(4, 11))},{int(rng.integers(0, 3))},alpha=1)"
    size = int(rng.integers(1, min(3, min(spatial, default=1)) + 1))
    if kind in ("conv", "linear_conv", "separable", "conv_bn"):
        if kind == "conv_bn" and rank != 2:
            kind = "conv"
        layer = {"kind": kind, "filters": int(rng.integers(1, 5)), "kernel": size, "strides": int(rng.integers(1, 3)),
                 "padding": str(rng.choice(["same", "valid"])), "kernel_quantizer": kernel, "bias_quantizer": bias}
        if kind != "conv":
            return layer
        if generation == 1:
            return {**layer, "quantizer": _quantizer(rng, activations)}
        # the quantizer after it as a QActivation, or as the layer's own activation= (as many public models write it)
        return _without_bias(rng, {**layer, ("activation" if rng.random() < 0.3 else "quantizer"): _quantizer(rng, activations)})
    if kind == "depthwise":
        return {"kind": kind, "kernel": size, "strides": 1, "padding": str(rng.choice(["same", "valid"])),
                "kernel_quantizer": kernel, "bias_quantizer": bias} if rank == 2 else None
    if kind == "pool":
        if min(spatial) < 2:
            return None
        pool = int(rng.integers(2, min(3, min(spatial)) + 1))  # strides up to 4, past the window too (an ECG classifier's MaxPooling1D(2, strides=4))
        return {"kind": kind, "op": str(rng.choice(["max", "max", "average"])), "size": pool, "strides": int(rng.integers(1, 5)),
                "padding": str(rng.choice(["same", "valid"]))}
    if kind == "global_pool":
        return {"kind": kind, "op": str(rng.choice(["max", "average"]))}
    if kind == "zero_pad":
        return {"kind": kind, "pad": 1}
    if kind == "upsample":
        return {"kind": kind, "size": 2} if max(spatial) <= 8 else None
    if kind == "leaky_relu" and generation >= 5:
        return {"kind": kind, "alpha": float(rng.choice(LEAKY_ALPHAS))}
    if kind in ("qbn", "float_bn", "relu", "flatten", "dropout", "leaky_relu", "linear", "prelu"):
        return {"kind": kind}
    if kind == "activation":
        return {"kind": kind, "quantizer": _quantizer(rng, activations)}
    if kind in ("residual", "concat"):
        return {"kind": kind, "kernel_quantizer": kernel, "bias_quantizer": bias, "quantizer": _quantizer(rng, activations)}
    if kind == "merge":
        return {"kind": kind, "op": str(rng.choice(MERGES)), "kernel_quantizer": kernel, "bias_quantizer": bias, "quantizer": _quantizer(rng, activations)}
    if kind == "crop":
        return {"kind": kind, "crop": 1} if min(spatial) >= 3 else None
    if kind == "step_block":  # a Dense or a convolution of a binary or ternary kernel, a normalization, a step activation
        width = {"filters": int(rng.integers(1, 5)), "kernel": size} if rank else {"units": int(rng.integers(2, 9))}
        return {"kind": kind, **width, "kernel_quantizer": str(rng.choice(STEP_QUANTIZERS + (kernel,))),
                "normalization": str(rng.choice(["float_bn", "qbn"])), "quantizer": str(rng.choice(STEP_QUANTIZERS))}
    if kind == "dense":
        layer = {"kind": kind, "units": int(rng.integers(2, 9)), "kernel_quantizer": kernel, "bias_quantizer": bias}
        if generation == 1:
            return layer
        return _without_bias(rng, {**layer, "activation": _quantizer(rng, activations)} if rng.random() < 0.25 else layer)
    raise ValueError(f"unknown fuzzer layer kind {kind!r}")


def _without_bias(rng, layer: dict) -> dict:
    """Some weighted layers with use_bias=False (no bias quantizer)."""
    if rng.random() >= 0.15:
        return layer
    return {**{key: value for key, value in layer.items() if key != "bias_quantizer"}, "use_bias": False}


def output_shape(recipe: dict) -> list[int]:
    """The shape (without batch) the recipe's body ends on; ValueError when a layer does not fit its input. Each
    layer's output shape follows from its input's alone (_keras_layer reads nothing else, and a nested run is its
    layers in turn), so the body's is folded layer by layer, each (layer, input shape) built in Keras once per process:
    the generator asks after every layer it draws, which rebuilt the whole model each time."""
    shape = tuple(int(dim) for dim in recipe["input"])
    for layer in recipe["layers"]:
        shape = _layer_output_shape(json.dumps({key: value for key, value in layer.items() if key != "nested"}, sort_keys=True), shape)
    return list(shape)


@functools.lru_cache(maxsize=8192)
def _layer_output_shape(layer: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The output shape of one recipe layer (JSON) on an input of `shape` (without batch)."""
    import tensorflow as tf
    from tensorflow import keras

    def output():
        return _keras_layer(json.loads(layer), "layer", keras.Input(shape=shape)).shape[1:]

    return tuple(int(dim) for dim in tf.autograph.experimental.do_not_convert(output)())


def build_model(recipe: dict, with_head: bool = True):
    """The Keras model of a recipe, its weights drawn from the recipe's seed (batchnorm statistics of a trained
    model's size); ValueError when its layers do not fit together. Built without autograph, which converted QKeras's
    call methods again on every build: the same models (layers, weights) in 0.7-0.85 of the time."""
    import tensorflow as tf

    return tf.autograph.experimental.do_not_convert(_model)(recipe, with_head)


def _model(recipe: dict, with_head: bool):
    from tensorflow import keras

    inputs = keras.Input(shape=tuple(recipe["input"]), name="inputs")
    x = inputs
    if recipe.get("input_quantizer"):
        from qkeras import QActivation

        x = QActivation(recipe["input_quantizer"], name="input_q")(x)
    trunk, layers, number = x, recipe["layers"], 0
    while number < len(layers):
        end = number + 1
        if layers[number].get("nested"):  # a run of nested layers: one functional model, called as a layer
            while end < len(layers) and layers[end].get("nested"):
                end += 1
            inner = keras.Input(tuple(x.shape[1:]), name=f"block{number}_in")
            y = inner
            for position in range(number, end):
                y = _keras_layer(layers[position], f"l{position}", y)
            trunk, x = x, keras.Model(inner, y, name=f"block{number}")(x)
        else:
            trunk, x = x, _keras_layer(layers[number], f"l{number}", x)
        number = end
    outputs = x
    if with_head:
        outputs = _head(recipe, x, trunk)
    model = keras.Model(inputs, outputs)
    return _seeded(model, recipe.get("seed", 0) * 1009 + recipe.get("index", 0))


def _head(recipe: dict, x, trunk):
    """The model's outputs: its head on the logits `x`, and a second output where the recipe has one (on the logits, or
    a Dense on `trunk`, what the last Dense reads)."""
    from tensorflow import keras

    heads = [keras.layers.Activation(recipe["head"], name="head")(x) if recipe["head"] != "linear" else x]
    second = recipe.get("second_output", {"kind": "sigmoid"})
    if recipe.get("outputs", 1) > 1 and second["kind"] == "sigmoid":
        heads.append(keras.layers.Activation("sigmoid", name="second_head")(x))
    elif recipe.get("outputs", 1) > 1:
        heads.append(_keras_layer(second, "second_head", trunk))
    return heads if len(heads) > 1 else heads[0]


def _keras_layer(layer: dict, name: str, x):
    """Apply one recipe layer to tensor x."""
    import qkeras
    from tensorflow import keras

    kind, rank = layer["kind"], len(x.shape) - 2
    quantized = {key: layer[key] for key in ("kernel_quantizer", "bias_quantizer", "activation", "use_bias") if key in layer}
    if layer.get("float"):
        return _float_layer(layer, name, x)
    if kind in ("conv", "linear_conv"):
        conv = qkeras.QConv2D if rank == 2 else qkeras.QConv1D
        y = conv(layer["filters"], layer["kernel"], strides=layer["strides"], padding=layer["padding"], name=name, **quantized)(x)
        return qkeras.QActivation(layer["quantizer"], name=f"{name}_q")(y) if layer.get("quantizer") else y
    if kind == "separable":
        conv = qkeras.QSeparableConv2D if rank == 2 else qkeras.QSeparableConv1D
        return conv(layer["filters"], layer["kernel"], strides=layer["strides"], padding=layer["padding"], name=name,
                    depthwise_quantizer=layer["kernel_quantizer"], pointwise_quantizer=layer["kernel_quantizer"],
                    bias_quantizer=layer["bias_quantizer"])(x)
    if kind == "conv_bn":
        return qkeras.QConv2DBatchnorm(layer["filters"], layer["kernel"], strides=layer["strides"], padding=layer["padding"], name=name,
                                       **quantized)(x)
    if kind == "depthwise":
        return qkeras.QDepthwiseConv2D(layer["kernel"], padding=layer["padding"], name=name, depthwise_quantizer=layer["kernel_quantizer"],
                                       bias_quantizer=layer["bias_quantizer"])(x)
    if kind == "dense":
        return qkeras.QDense(layer["units"], name=name, **quantized)(x)
    if kind == "step_block":
        weighted = (qkeras.QDense(layer["units"], name=name, kernel_quantizer=layer["kernel_quantizer"], use_bias=False) if rank == 0 else
                    (qkeras.QConv2D if rank == 2 else qkeras.QConv1D)(layer["filters"], layer["kernel"], padding="same", name=name,
                                                                       kernel_quantizer=layer["kernel_quantizer"], use_bias=False))
        normalization = qkeras.QBatchNormalization if layer["normalization"] == "qbn" else keras.layers.BatchNormalization
        return qkeras.QActivation(layer["quantizer"], name=f"{name}_q")(normalization(name=f"{name}_bn")(weighted(x)))
    if kind == "pool":
        pools = {(1, "max"): keras.layers.MaxPooling1D, (1, "average"): keras.layers.AveragePooling1D,
                 (2, "max"): keras.layers.MaxPooling2D, (2, "average"): keras.layers.AveragePooling2D}
        return pools[rank, layer["op"]](layer["size"], strides=layer["strides"], padding=layer["padding"], name=name)(x)
    if kind == "global_pool":
        pools = {(1, "max"): keras.layers.GlobalMaxPooling1D, (1, "average"): keras.layers.GlobalAveragePooling1D,
                 (2, "max"): keras.layers.GlobalMaxPooling2D, (2, "average"): keras.layers.GlobalAveragePooling2D}
        return pools[rank, layer["op"]](name=name)(x)
    if kind == "zero_pad":
        return (keras.layers.ZeroPadding2D if rank == 2 else keras.layers.ZeroPadding1D)(layer["pad"], name=name)(x)
    if kind == "upsample":
        return (keras.layers.UpSampling2D if rank == 2 else keras.layers.UpSampling1D)(layer["size"], name=name)(x)
    if kind == "qbn":
        return qkeras.QBatchNormalization(name=name)(x)
    if kind == "float_bn":
        return keras.layers.BatchNormalization(name=name)(x)
    if kind == "activation":
        return qkeras.QActivation(layer["quantizer"], name=name)(x)
    if kind == "relu":
        return keras.layers.Activation("relu", name=name)(x)
    if kind == "flatten":
        return keras.layers.Flatten(name=name)(x)
    if kind == "reshape":
        return keras.layers.Reshape(reshaped_shape(layer["op"], [int(dim) for dim in x.shape[1:]]), name=name)(x)
    if kind == "permute":
        if len(layer["op"].split(",")) != rank + 1:
            raise ValueError(f"permutation {layer['op']} of a tensor of rank {rank + 1}")
        return keras.layers.Permute(tuple(int(axis) for axis in layer["op"].split(",")), name=name)(x)
    if kind == "dropout":
        return keras.layers.Dropout(0.25, name=name)(x)
    if kind == "training_only":
        spatial = {1: keras.layers.SpatialDropout1D, 2: keras.layers.SpatialDropout2D}.get(rank, keras.layers.GaussianDropout)
        made = {"GaussianNoise": keras.layers.GaussianNoise, "GaussianDropout": keras.layers.GaussianDropout, "SpatialDropout": spatial,
                "ActivityRegularization": keras.layers.ActivityRegularization}[layer["op"]]
        return made(0.01 if layer["op"] == "ActivityRegularization" else 0.1, name=name)(x)
    if kind == "leaky_relu":
        return keras.layers.LeakyReLU(layer.get("alpha", 0.25), name=name)(x)
    if kind == "linear":
        return keras.layers.Activation("linear", name=name)(x)
    if kind == "prelu":
        return keras.layers.PReLU(name=name)(x)
    if kind == "crop":
        return (keras.layers.Cropping2D if rank == 2 else keras.layers.Cropping1D)(layer["crop"], name=name)(x)
    if kind in ("residual", "concat", "merge"):  # a 1x1 convolution's branch, or a Dense's of a flat value
        width = 2 if kind == "concat" and layer.get("axis", -1) == -1 else int(x.shape[-1])
        branch = (qkeras.QDense(width, name=f"{name}_dense", **quantized) if rank < 1 else
                  (qkeras.QConv2D if rank == 2 else qkeras.QConv1D)(width, 1, name=f"{name}_conv", **quantized))(x)
        branch = qkeras.QActivation(layer["quantizer"], name=f"{name}_q")(branch)
        merges = {"residual": keras.layers.Add, "concat": keras.layers.Concatenate, "average": keras.layers.Average,
                  "multiply": keras.layers.Multiply, "subtract": keras.layers.Subtract, "maximum": keras.layers.Maximum,
                  "minimum": keras.layers.Minimum}
        merge = merges[layer.get("op", kind)]
        return (merge(axis=layer["axis"], name=name) if "axis" in layer else merge(name=name))([x, branch])
    raise ValueError(f"unknown fuzzer layer kind {kind!r}")


def _float_layer(layer: dict, name: str, x):
    """A recipe's weighted layer as the Keras layer without quantizers (a QActivation after it where it has one)."""
    import qkeras
    from tensorflow import keras

    rank, settings = len(x.shape) - 2, {"use_bias": layer.get("use_bias", True), "activation": layer.get("activation"), "name": name}
    if layer["kind"] == "dense":  # an activation is a Keras one ('relu') in a recipe written by hand; never drawn
        return keras.layers.Dense(layer["units"], **settings)(x)
    if layer["kind"] == "depthwise":
        return keras.layers.DepthwiseConv2D(layer["kernel"], padding=layer["padding"], **settings)(x)
    conv = keras.layers.Conv2D if rank == 2 else keras.layers.Conv1D
    y = conv(layer["filters"], layer["kernel"], strides=layer["strides"], padding=layer["padding"], **settings)(x)
    return qkeras.QActivation(layer["quantizer"], name=f"{name}_q")(y) if layer.get("quantizer") else y


def _seeded(model, seed: int):
    """Every weight drawn from a seeded generator, at a trained model's scale (variances in [0.5, 2], gammas in
    [0.5, 1.5])."""
    rng = np.random.default_rng(seed)
    values = []
    for weight in model.weights:
        name, shape = weight.name, tuple(weight.shape)
        if "moving_variance" in name or "variance" in name.split("/")[-1]:
            values.append(rng.uniform(0.5, 2.0, shape))
        elif "gamma" in name:
            values.append(rng.uniform(0.5, 1.5, shape))
        elif "iteration" in name:
            values.append(np.zeros(shape))
        else:
            values.append(rng.normal(0.0, 0.5, shape))
    model.set_weights([value.astype(np.float32) for value in values])
    return model


def recipe_data(recipe: dict, samples: int = 100) -> dict[str, np.ndarray]:
    """x_train/y_train/x_test/y_test: inputs N(0, 1) on the 2^-8 grid; class labels for a classifier's head, float
    targets for a linear one."""
    rng = np.random.default_rng([recipe.get("seed", 0), recipe.get("index", 0), 7])
    arrays = {}
    for split, count in (("train", samples // 2), ("test", samples)):
        x = (np.round(rng.normal(size=(count, *recipe["input"])) / GRID) * GRID).astype(np.float32)
        y = rng.integers(0, 2, count) if recipe["head"] != "linear" else rng.normal(size=(count, 1)).astype(np.float32)
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, y
    return arrays


def describe(recipe: dict) -> str:
    """One line: input, layers, head, io type, strategy, a reuse factor other than 1 and a backend other than Vitis."""
    names = {"activation": "q", "relu": "relu", "flatten": "flat", "training_only": "train_only"}
    parts = [f"in{'x'.join(map(str, recipe['input']))}" + ("+q" if recipe.get("input_quantizer") else "")]
    layers = recipe["layers"]
    for position, layer in enumerate(layers):
        nested = layer.get("nested", False)
        opens = nested and not (position and layers[position - 1].get("nested"))  # a nested model's run in [ ]
        closes = nested and not (position + 1 < len(layers) and layers[position + 1].get("nested"))
        parts.append(("[" if opens else "") + names.get(layer["kind"], layer["kind"]) + (f"/{layer['op']}" if "op" in layer else "")
                     + (f"/{layer['padding']}s{layer['strides']}" if "padding" in layer and "strides" in layer else "")
                     + ("+q" if "activation" in layer else "") + ("/nobias" if layer.get("use_bias") is False else "")
                     + ("/float" if layer.get("float") else "") + (f"/{layer['alpha']:g}" if "alpha" in layer else "")
                     + (f"/axis{layer['axis']}" if "axis" in layer else "") + ("]" if closes else ""))
    second = recipe.get("second_output", {"kind": "sigmoid"})
    outputs = [f"2 outputs ({'sigmoid' if second['kind'] == 'sigmoid' else 'dense'})"] if recipe.get("outputs", 1) > 1 else []
    reuse = [f"rf{recipe['reuse_factor']}"] if recipe.get("reuse_factor", 1) > 1 else []
    backend = [recipe["backend"]] if recipe.get("backend", "Vitis") != "Vitis" else []
    extra = [recipe["head"]] + outputs + [recipe["io_type"], recipe["strategy"]] + reuse + backend
    return " ".join(parts) + " | " + " ".join(extra)


def smaller(recipe: dict) -> list[dict]:
    """Recipes one step smaller (a layer dropped, the input quantizer or a second output removed, a head made linear,
    a width or the input narrowed, default settings), the most radical first: the shrinker's moves."""
    found = []
    for position in range(len(recipe["layers"])):
        if recipe["layers"][position]["kind"] == "dense" and position == len(recipe["layers"]) - 1:
            continue
        found.append({**recipe, "layers": recipe["layers"][:position] + recipe["layers"][position + 1:]})
    if any(layer.get("nested") for layer in recipe["layers"]):  # the nested model's layers called in the outer model
        found.append({**recipe, "layers": [{key: value for key, value in layer.items() if key != "nested"} for layer in recipe["layers"]]})
    if recipe.get("outputs", 1) > 1:
        found.append({**recipe, "outputs": 1})
    if recipe.get("input_quantizer"):
        found.append({**recipe, "input_quantizer": None})
    if recipe["head"] != "linear":
        found.append({**recipe, "head": "linear"})
    for setting, plain in (("io_type", "io_parallel"), ("strategy", "Latency"), ("reuse_factor", 1), ("backend", "Vitis")):
        if recipe.get(setting, plain) != plain:
            found.append({**recipe, setting: plain})
    if len(recipe["input"]) > 1 and max(recipe["input"][:-1]) > 2:
        found.append({**recipe, "input": [max(2, dim - 2) for dim in recipe["input"][:-1]] + recipe["input"][-1:]})
    for position, layer in enumerate(recipe["layers"]):
        if "activation" in layer:  # its own activation dropped
            plain = copy.deepcopy(recipe)
            del plain["layers"][position]["activation"]
            found.append(plain)
        for key in ("filters", "units"):
            if layer.get(key, 1) > 1 and not (key == "units" and position == len(recipe["layers"]) - 1):
                narrowed = copy.deepcopy(recipe)
                narrowed["layers"][position][key] = 1
                found.append(narrowed)
    return [candidate for candidate in found if _fits(candidate)]


def _fits(recipe: dict) -> bool:
    """The recipe's layers fit together and end flat."""
    try:
        shape = output_shape(recipe)
    except (ValueError, TypeError):
        return False
    return len(shape) == 1 and bool(recipe["layers"]) and recipe["layers"][-1]["kind"] == "dense"
