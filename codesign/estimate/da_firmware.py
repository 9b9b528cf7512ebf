"""The kernels hls4ml's distributed_arithmetic strategy writes as code (nnet_code_gen.h), read back as weights.

da4ml writes each kernel as an adder graph, `vK = vA + bit_shift<s>(vB)`, its constants (the bias) added as
`ap_ufixed<W,I>(c)` terms, its outputs casts of the last values: the products are spent and no weight file is
written. The graph is affine in the inputs, so following it with one coefficient vector per value (the inputs', then
the constant's) gives every weight and bias exactly (sums of signed powers of two). The firmware reader rebuilds the
layer with them and the strategy, and hls4ml 1.3 prices it as it prices the model's.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from codesign.errors import ModelError

GENERATED = Path("nnet_utils") / "nnet_code_gen.h"
KERNEL = re.compile(r"void\s+(dense_da_\d+)\s*\(\s*\w+\s+model_inp\[(\d+)\]\s*,\s*\w+\s+model_out\[(\d+)\]\s*\)\s*\{(.*?)\n\}", re.S)
INPUT = re.compile(r"v(\d+)\s*=\s*model_inp\[(\d+)\]\s*;")
ASSIGNED = re.compile(r"(?:v(\d+)|model_out\[(\d+)\])\s*=\s*(.+?)\s*;")
CAST = re.compile(r"ap_u?fixed<[-\d,\s]+>\s*\((.*)\)")  # a value written as (or cast to) a fixed-point type
NUMBER = r"[-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?"
TERM = re.compile(rf"\s*(-)?\s*(?:bit_shift<(-?\d+)>\s*\(\s*(-)?\s*v(\d+)\s*\)|v(\d+)|ap_u?fixed<[-\d,\s]+>\s*\(\s*({NUMBER})\s*\)|({NUMBER}))\s*")
OPERATOR = re.compile(r"\s*([+-])")


def da_kernels(firmware: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each `dense_da_N` kernel of the firmware's nnet_code_gen.h as (weights, shape (inputs, outputs) as a Keras
    Dense kernel; bias); ModelError naming the kernel and the statement codesign does not read."""
    path = Path(firmware) / GENERATED
    if not path.is_file():
        return {}
    return {name: _affine(name, int(inputs), int(outputs), body, path) for name, inputs, outputs, body in KERNEL.findall(path.read_text(errors="replace"))}


def _affine(name: str, inputs: int, outputs: int, body: str, path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's weights and bias: each value's coefficients over the inputs and a constant 1 (the last slot)."""
    values: dict[int, np.ndarray] = {}
    result = np.zeros((inputs + 1, outputs))
    for statement in (line.split("//")[0].strip() for line in body.splitlines()):
        if not statement or statement.startswith("#"):
            continue
        read, assigned = INPUT.search(statement), ASSIGNED.search(statement)
        try:
            if read:
                values[int(read.group(1))] = np.eye(inputs + 1)[int(read.group(2))]
            elif assigned and assigned.group(1):
                values[int(assigned.group(1))] = _expression(assigned.group(3), values, inputs)
            elif assigned:
                cast = CAST.fullmatch(assigned.group(3))
                result[:, int(assigned.group(2))] = _expression(cast.group(1) if cast else assigned.group(3), values, inputs)
            else:
                raise ValueError(statement)
        except (ValueError, KeyError, IndexError):
            raise ModelError(f"{path}: {name}: '{statement[:80]}' is not a statement codesign reads from a distributed_arithmetic kernel") from None
    return result[:inputs], result[inputs]


def _expression(text: str, values: dict[int, np.ndarray], inputs: int) -> np.ndarray:
    """A sum or difference of terms (±vX, ±bit_shift<s>(±vX), a constant) as coefficients; ValueError otherwise."""
    total, position, sign = np.zeros(inputs + 1), 0, 1.0
    while True:
        term = TERM.match(text, position)
        if term is None:
            raise ValueError(text)
        negate, shift, inner, shifted, plain, cast, number = term.groups()
        if shifted or plain:
            value = values[int(shifted or plain)] * (2.0 ** int(shift) if shift else 1.0) * (-1.0 if inner else 1.0)
        else:
            value = np.eye(inputs + 1)[inputs] * float(cast or number)
        total = total + sign * (-value if negate else value)
        position = term.end()
        if position == len(text):
            return total
        operator = OPERATOR.match(text, position)
        if operator is None:
            raise ValueError(text)
        sign, position = (-1.0 if operator.group(1) == "-" else 1.0), operator.end()
