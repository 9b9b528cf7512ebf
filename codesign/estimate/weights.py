"""Whether a model's weights are still its initializer's draws: an untrained design's DSP and LUT counts are not
the trained design's (docs/estimation.md, "Untrained weights")."""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
from scipy import stats

MIN_WEIGHTS = 64  # a kernel with fewer weights decides nothing
MAX_WEIGHTS = 4096  # a larger kernel is tested on this many of its weights (seeded): the test is as sharp, and fast
DRAW_P_VALUE = 1e-3  # a kernel whose Kolmogorov-Smirnov p-value against an initializer exceeds this is taken as its draw
TRUNCATED_STD = 0.87962566103423978  # Keras VarianceScaling: the std of a normal truncated at 2 sigma, per unit


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's fan-in and fan-out of a kernel (a convolution's receptive field times its channels)."""
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def initializer_draws(shape: tuple[int, ...]) -> dict[str, object]:
    """Keras's initializers for a kernel of this shape, as distributions."""
    fan_in, fan_out = _fans(shape)
    mean_fan = (fan_in + fan_out) / 2
    uniform = lambda limit: stats.uniform(loc=-limit, scale=2 * limit)  # noqa: E731
    truncated = lambda scale, fan: stats.truncnorm(-2, 2, scale=math.sqrt(scale / fan) / TRUNCATED_STD)  # noqa: E731
    return {
        "glorot_uniform": uniform(math.sqrt(3 / mean_fan)),
        "lecun_uniform": uniform(math.sqrt(3 / fan_in)),
        "he_uniform": uniform(math.sqrt(6 / fan_in)),
        "random_uniform": uniform(0.05),
        "glorot_normal": truncated(1, mean_fan),
        "lecun_normal": truncated(1, fan_in),
        "he_normal": truncated(2, fan_in),
        "random_normal": stats.norm(scale=0.05),
    }


def _kernels(keras_model) -> list[tuple[str, np.ndarray, str]]:
    """Every layer's kernel (QKeras's before quantization), named by its layer, with its configured initializer."""
    found = []
    for layer in keras_model.layers:
        for attribute in ("kernel", "depthwise_kernel"):
            variable = getattr(layer, attribute, None)
            if variable is not None:
                with warnings.catch_warnings():  # Keras warns when QKeras's quantizers serialize as constraints
                    warnings.simplefilter("ignore")
                    configured = layer.get_config().get(f"{attribute}_initializer") or {}
                while isinstance(configured, dict) and isinstance(configured.get("config", {}).get("initializer"), dict):
                    configured = configured["config"]["initializer"]  # QKeras's QInitializer wraps a Keras one
                name = configured.get("class_name", "") if isinstance(configured, dict) else str(configured)
                found.append((layer.name, np.asarray(variable), re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()))
    return found


def untrained(keras_model) -> str | None:
    """A sentence naming the initializer every decided kernel is a draw of, or None when any kernel is not one (or
    no kernel has MIN_WEIGHTS weights to decide)."""
    if keras_model is None:
        return None
    drawn = []
    for name, kernel, configured in _kernels(keras_model):
        if kernel.size < MIN_WEIGHTS:
            continue
        values = kernel.ravel().astype(np.float64)
        if values.size > MAX_WEIGHTS:
            values = np.random.default_rng(0).choice(values, MAX_WEIGHTS, replace=False)
        fits = [label for label, distribution in initializer_draws(kernel.shape).items() if stats.kstest(values, distribution.cdf).pvalue > DRAW_P_VALUE]
        if not fits:
            return None
        drawn.append(f"{name} ({configured if configured in fits else fits[0]})")
    if not drawn:
        return None
    return f"the weights look untrained: every kernel is a draw of its initializer ({', '.join(drawn)})"
