"""A C-synthesis report's per-layer rows: each top-level instance matched to the hls4ml layer whose kernel it is.

hls4ml names every layer's function after its kernel and its config struct (`dense_latency_..._config2_s`,
`conv_2d_cl_..._config5_s`, `relu_..._config4_s`); the number is the layer's index in the graph that wrote the
firmware, which another hls4ml version (or an HGQ model's quantizer layers) can number differently. So instances
are matched to layers kernel by kernel in graph order, and only where a kernel has as many instances as layers:
a layer the tool inlined has no instance of its own (its cost sits in the top function), and is left unmatched.
A build that shortened the names (`dense_resource`, `dense_resource_1`, ...: Vivado HLS 2019.2 numbers them in no
graph order, nicologhielmetti/hls4ml-pynq) says which instance is which layer only where a kernel has one.
"""

from __future__ import annotations

import re

from codesign.layers import KINDS, kind_of

ACTIVATION_FUNCTIONS = ("relu", "leaky_relu", "linear", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "hard_sigmoid", "hard_tanh")
KERNELS = sorted({kind.kernel for kind in KINDS if kind.kernel} | set(ACTIVATION_FUNCTIONS), key=len, reverse=True)
CONFIG_INDEX = re.compile(r"_config(\d+)(?:_s)?(?:_|$)")


def kernel_of_layer(layer) -> str | None:
    """The kernel an hls4ml layer's function is named after (an activation's: its function), or None."""
    kind = kind_of(layer)
    if kind is None:
        return None
    if kind.role == "activation":
        return str(layer.get_attr("activation", "")).lower() or None
    return kind.kernel or None


def kernel_of_module(module: str) -> str | None:
    """The kernel a report's module implements, from its name, or None (wrappers, AXI adapters, processes)."""
    return next((kernel for kernel in KERNELS if module.startswith(kernel)), None)


def _order(instance: dict) -> tuple[int, str]:
    match = CONFIG_INDEX.search(instance["module"])
    return (int(match.group(1)) if match else 1 << 30, instance["instance"])


def matched(instances: list[dict], layers: list[dict]) -> list[tuple[dict, dict]]:
    """(layer features, report instance) pairs, kernel by kernel in graph order, for the kernels whose instances
    and layers are as many and whose instances say their order (a config number each, or one instance); `layers` are
    codesign's per-layer features (each with `kernel` and `index`)."""
    pairs = []
    kernels = {layer.get("kernel") for layer in layers} - {None}
    for kernel in sorted(kernels):
        of_layers = sorted((layer for layer in layers if layer.get("kernel") == kernel), key=lambda layer: layer["index"])
        of_instances = sorted((row for row in instances if kernel_of_module(row["module"]) == kernel), key=_order)
        unordered = len(of_instances) > 1 and not all(CONFIG_INDEX.search(row["module"]) for row in of_instances)
        if of_instances and len(of_instances) == len(of_layers) and not unordered:
            pairs.extend(zip(of_layers, of_instances))
    return sorted(pairs, key=lambda pair: pair[0]["index"])

