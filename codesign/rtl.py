"""The open-source RTL path (docs/rtl.md): Verilog for each Dense/Conv kernel of a distributed_arithmetic run, from
the same da4ml adder graph hls4ml builds, simulated with Verilator on the whole test set against the emulator, and
synthesized with yosys for Xilinx 7-series LUT/FF/CARRY4 counts. No vendor tool is involved anywhere.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codesign.errors import ModelError, ToolchainError
from codesign.fixed import Fixed, from_float, of_precision
from codesign.layers import CONV1D, CONV2D, DENSE, RESHAPE, TRANSPOSE, Kind, implements, kind_of
from codesign.progress import Progress

TOOLS = {
    "verilator": "apt-get install verilator (Debian/Ubuntu; `make test` installs it)",
    "yosys": "apt-get install yosys (Debian/Ubuntu; `make test` installs it)",
}
CELLS = {  # yosys synth_xilinx cell names per counted resource (7-series primitives)
    "lut": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"),
    "ff": ("FDRE", "FDSE", "FDCE", "FDPE"),
    "carry": ("CARRY4",),
    "dsp": ("DSP48E1",),
}
FAMILIES = {"xc7": "Xilinx 7-series (yosys synth_xilinx -family xc7: LUT6, CARRY4, DSP48E1)"}
VERILATOR_OPT = "-O0"  # -Os (Verilator's default) took > 9 minutes on a 64x32 kernel; -O0 27 s (docs/rtl.md)
HARD_DC = 2  # da4ml's delay constraint, as hls4ml's distributed_arithmetic pass uses (DA_HARD_DC)


@dataclass
class Kernel:
    """One Dense/Conv layer as a constant-matrix multiply: its input/result types, weights, and where its inputs come from."""

    name: str
    kind: str
    weights: np.ndarray  # (inputs per output pixel, outputs)
    bias: np.ndarray
    input_type: Fixed
    result_type: Fixed
    source: str  # the traced layer whose output feeds this one
    geometry: dict = field(default_factory=dict)  # convolutions: input/output shape, filter, stride, padding

    @property
    def pixels(self) -> int:
        """Output pixels computed by this kernel (1 for Dense)."""
        return int(self.geometry.get("out_height", 1)) * int(self.geometry.get("out_width", 1))

    @property
    def instances(self) -> int:
        """Kernels hls4ml instantiates for this layer: a convolution's parallelization factor (hls4ml's default 1: one
        kernel computes every output pixel in turn), one for a Dense layer."""
        return min(int(self.geometry.get("parallelization_factor", 1)), self.pixels)


def tool_versions(synth: bool) -> dict:
    """Versions of the tools the path needs; ToolchainError (exit 2) naming each missing one and how to get it."""
    needed = ["verilator"] + (["yosys"] if synth else [])
    missing = [tool for tool in needed if shutil.which(tool) is None]
    if missing:
        raise ToolchainError("the RTL path needs " + "; ".join(f"{tool} ({TOOLS[tool]})" for tool in missing))
    try:
        import da4ml
    except ImportError:
        raise ToolchainError("the RTL path needs the da4ml package (pip install da4ml, pinned in pyproject.toml)") from None
    versions = {"da4ml": da4ml.__version__}
    for tool in needed:
        output = subprocess.run([tool, "--version" if tool == "verilator" else "-V"], capture_output=True, text=True, check=False).stdout
        versions[tool] = output.strip().splitlines()[0] if output.strip() else "unknown"
    return versions


def kernels_of(graph) -> list[Kernel]:
    """Every Dense/Conv layer of an hls4ml graph converted with stored weights, as kernels (each kind's `rtl` in
    codesign/layers.py: a kernel, or values passed through unchanged)."""
    found = []
    producer = {}
    for layer in graph.get_layers():
        kind = kind_of(layer)
        source = layer.inputs[0] if layer.inputs else None
        producer[layer.name] = producer.get(source, source) if kind is not None and kind.role == "reshape" else layer.name
        handle = kind.handler("rtl") if kind is not None else None
        kernel = handle(layer, kind, producer.get(source, source)) if handle is not None else None
        if kernel is not None:
            found.append(kernel)
    return found


@implements("rtl", RESHAPE, TRANSPOSE)
def _passes_through(layer, kind: Kind, producer: str | None) -> None:
    """Values pass unchanged: the next kernel reads the layer before."""


@implements("rtl", DENSE, CONV1D, CONV2D)  # what hls4ml's distributed_arithmetic strategy implements
def _kernel(layer, kind: Kind, producer: str | None) -> Kernel:
    outputs = int(layer.get_attr(kind.outputs_attribute))
    weights = np.asarray(layer.weights["weight"].data, dtype=np.float64).reshape(-1, outputs)
    bias = layer.weights.get("bias")
    input_type = of_precision(layer.get_input_variable().type.precision)
    result_type = of_precision(layer.types["result_t"].precision)
    if input_type is None or result_type is None:
        raise ModelError(f"layer '{layer.name}': the RTL path needs fixed-point input and result types")
    geometry = {key: int(layer.get_attr(key)) for key in (
        "in_height", "in_width", "n_chan", "out_height", "out_width", "filt_height", "filt_width",
        "stride_height", "stride_width", "pad_top", "pad_left", "parallelization_factor") if layer.get_attr(key) is not None}
    return Kernel(
        layer.name, kind.name, weights,
        np.asarray(bias.data, dtype=np.float64).reshape(-1) if bias is not None else np.zeros(outputs),
        input_type, result_type, producer, geometry,
    )


def _kif(fixed: Fixed) -> tuple[int, int, int]:
    """da4ml's (keep sign, integer bits without the sign, fraction bits) of a fixed-point type."""
    return int(fixed.signed), fixed.integer - int(fixed.signed), fixed.frac


def trace(kernel: Kernel):
    """da4ml's adder graph of x @ W + b for this kernel (the solution hls4ml's distributed_arithmetic pass builds)."""
    from da4ml.trace import FixedVariableArray, HWConfig, comb_trace

    size = kernel.weights.shape[0]
    k, i, f = (np.full(size, value) for value in _kif(kernel.input_type))
    inputs = FixedVariableArray.from_kif(k, i, f, HWConfig(1, -1, -1), solver_options={"hard_dc": HARD_DC})
    return comb_trace(inputs, inputs @ kernel.weights + kernel.bias)


def vectors(kernel: Kernel, source: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's input vectors (one per sample and output pixel: im2col for convolutions) and what the emulator
    computed for each (the layer's traced output)."""
    outputs = kernel.weights.shape[1]
    if kernel.kind == DENSE.name:
        return source.reshape(len(source), -1), expected.reshape(len(expected), -1)
    g = kernel.geometry
    height, width, channels = g.get("in_height", 1), g["in_width"], g["n_chan"]
    maps = source.reshape(len(source), height, width, channels)
    fh, fw = g.get("filt_height", 1), g["filt_width"]
    sh, sw = g.get("stride_height", 1), g.get("stride_width", 1)
    oh, ow = g.get("out_height", 1), g["out_width"]
    top, left = g.get("pad_top", 0), g.get("pad_left", 0)
    padded = np.zeros((len(maps), max(height + 2 * top, (oh - 1) * sh + fh), max(width + 2 * left, (ow - 1) * sw + fw), channels))
    padded[:, top : top + height, left : left + width] = maps
    patches = [padded[:, y * sh : y * sh + fh, x * sw : x * sw + fw, :].reshape(len(maps), -1) for y in range(oh) for x in range(ow)]
    return np.stack(patches, axis=1).reshape(-1, fh * fw * channels), expected.reshape(-1, outputs)


def cast(values: np.ndarray, target: Fixed) -> np.ndarray:
    """Exact values into the layer's result type, as the firmware casts the kernel's sum."""
    return from_float(values, target) * target.lsb


def module_name(layer: str) -> str:
    """A Verilog module name for a layer (a layer called 'output' would be a keyword)."""
    return "kernel_" + re.sub(r"\W", "_", layer)


# --- Verilator ------------------------------------------------------------------------------------


def _run(command: list[str], cwd: Path, log: Path) -> None:
    with open(log, "a") as stream:
        stream.write("$ " + " ".join(command) + "\n")
        stream.flush()
        result = subprocess.run(command, cwd=cwd, stdout=stream, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise ToolchainError(f"{command[0]} failed in {cwd} (exit {result.returncode}); see {log}")


def _verilator_root() -> Path:
    return Path(subprocess.run(["verilator", "--getenv", "VERILATOR_ROOT"], capture_output=True, text=True, check=True).stdout.strip())


def _runtime(root: Path, verilator_root: Path, log: Path) -> list[Path]:
    """Verilator's runtime objects, compiled once per run (Debian's Verilator 5.006 builds no libverilated.a)."""
    objects = []
    root.mkdir(parents=True, exist_ok=True)
    for name in ("verilated.cpp", "verilated_threads.cpp"):
        target = root / name.replace(".cpp", ".o")
        if not target.exists():
            _run(["g++", "-std=c++17", "-fPIC", "-O1", "-c", str(verilator_root / "include" / name), "-I", str(verilator_root / "include"),
                  "-I", str(verilator_root / "include" / "vltstd"), "-o", str(target)], root, log)
        objects.append(target)
    return objects


def simulate(solution, name: str, directory: Path, inputs: np.ndarray, runtime: list[Path], verilator_root: Path, log: Path) -> np.ndarray:
    """Write the kernel's Verilog (directory/src), verilate it, and run every input vector through the simulation."""
    from da4ml.codegen.rtl.rtl_model import VerilogModel

    model = VerilogModel(solution, name, str(directory), latency_cutoff=-1)
    model.write()
    for source in (directory / "src" / "static").glob("*.v"):  # a lint code Verilator 5.006 does not know yet
        source.write_text(re.sub(r"/\*\s*verilator lint_(off|on) WIDTHTRUNC\s*\*/", "", source.read_text()))
    sim = directory / "sim"
    for memfile in (directory / "src" / "memfiles").glob("*"):
        shutil.copy2(memfile, sim)
    wrapper = f"{name}_wrapper"
    _run(["verilator", "--cc", "--build", "-j", str(os.cpu_count() or 1), f"../src/{wrapper}.v", "--prefix", f"V{wrapper}",
          "-I../src", "-I../src/static", "-Wno-fatal", "-Wno-lint", "-CFLAGS", f"-std=c++17 -fPIC {VERILATOR_OPT}",
          "-MAKEFLAGS", f"OPT_FAST={VERILATOR_OPT} OPT_SLOW={VERILATOR_OPT} OPT_GLOBAL={VERILATOR_OPT}"], sim, log)
    library = sim / f"lib{wrapper}.so"
    _run(["g++", "-std=c++17", "-fPIC", VERILATOR_OPT, "-shared", "-o", str(library), f"{wrapper}_binder.cc",
          f"obj_dir/V{wrapper}__ALL.a", *map(str, runtime), "-I", "obj_dir", "-I", f"{verilator_root}/include",
          "-I", f"{verilator_root}/include/vltstd", "-I", "../src", "-pthread"], sim, log)
    model._lib = ctypes.CDLL(str(library))
    return np.asarray(model.predict(inputs.astype(np.float64), n_threads=1), dtype=np.float64)


# --- yosys ----------------------------------------------------------------------------------------


def synthesize(directory: Path, name: str, family: str, log: Path) -> dict:
    """yosys synth_xilinx of the kernel's Verilog: LUT, FF, CARRY4 and DSP cells, and the seconds it took."""
    started = time.perf_counter()
    top = (directory / "src" / f"{name}.v").read_text()
    used = [path for path in sorted((directory / "src" / "static").glob("*.v")) if re.search(rf"\b{path.stem}\b", top)]
    sources = " ".join(str(path) for path in [*used, directory / "src" / f"{name}.v"])
    script = f"read_verilog {sources}; synth_xilinx -flatten -family {family} -top {name}; tee -o {directory / 'yosys_stat.txt'} stat"
    _run(["yosys", "-q", "-p", script], directory, log)
    text = (directory / "yosys_stat.txt").read_text()
    cells = {match.group(1): int(match.group(2)) for match in re.finditer(r"^\s+(\w+)\s+(\d+)\s*$", text, flags=re.MULTILINE)}
    counts = {metric: sum(cells.get(cell, 0) for cell in names) for metric, names in CELLS.items()}
    return {**counts, "seconds": round(time.perf_counter() - started, 1)}


# --- the whole run --------------------------------------------------------------------------------


def run_rtl(kernels: list[Kernel], traced: dict[str, np.ndarray], model_input: np.ndarray, rtl_dir: Path, synth: bool,
            family: str, log: Path, say) -> dict:
    """Every kernel: Verilog, Verilator simulation against the emulator's traced values, and yosys counts."""
    rtl_dir, log = Path(rtl_dir).resolve(), Path(log).resolve()  # the tools run in the kernels' own directories
    shutil.rmtree(rtl_dir, ignore_errors=True)
    rtl_dir.mkdir(parents=True)
    verilator_root = _verilator_root()
    runtime = _runtime(rtl_dir / "_verilator_runtime", verilator_root, log)
    layers, synthesized = [], {}
    samples = len(model_input)
    mismatched = np.zeros(samples, dtype=bool)
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool, Progress(len(kernels), "Verilator simulation", "kernel") as bar:
        for kernel in kernels:
            started = time.perf_counter()
            source = model_input if kernel.source not in traced else traced[kernel.source]
            inputs, expected = vectors(kernel, source, traced[kernel.name])
            solution = trace(kernel)
            module = module_name(kernel.name)
            outputs = cast(simulate(solution, module, rtl_dir / kernel.name, inputs, runtime, verilator_root, log), kernel.result_type)
            wrong = ~(outputs == expected).all(axis=1)
            mismatched |= wrong.reshape(samples, -1).any(axis=1)
            entry = {
                "name": kernel.name, "type": kernel.kind, "verilog": f"{kernel.name}/src/{module}.v", "inputs": int(kernel.weights.shape[0]), "outputs": int(kernel.weights.shape[1]),
                "vectors": int(len(inputs)), "mismatched_vectors": int(wrong.sum()), "da4ml_cost": float(solution.cost),
                "instances": kernel.instances, "pixels": kernel.pixels, "simulate_seconds": round(time.perf_counter() - started, 1),
            }
            say(f"  {kernel.name}: {len(inputs):,} vectors simulated, {int(wrong.sum())} differ from the emulator")
            bar.advance(1, kernel.name)
            layers.append(entry)
            if synth:
                synthesized[kernel.name] = pool.submit(synthesize, rtl_dir / kernel.name, module, family, log)
        for entry in layers:
            if entry["name"] in synthesized:
                counts = synthesized[entry["name"]].result()
                scale = entry["instances"]
                entry.update({f"kernel_{key}": value for key, value in counts.items() if key != "seconds"})
                entry.update({key: value * scale for key, value in counts.items() if key != "seconds"}, seconds=counts["seconds"])
                entry.update({f"fully_parallel_{key}": value * entry["pixels"] for key, value in counts.items() if key != "seconds"})
                say(f"  {entry['name']}: {counts['lut']:,} LUT, {counts['ff']:,} FF, {counts['carry']:,} CARRY4 per kernel"
                    + (f" (x{scale} kernels)" if scale > 1 else "") + f", yosys {counts['seconds']} s")
    metrics = ("lut", "ff", "carry", "dsp")
    total = {key: sum(entry.get(key, 0) for entry in layers) for key in metrics} if synth else None
    fully_parallel = {key: sum(entry.get(f"fully_parallel_{key}", 0) for entry in layers) for key in metrics} if synth else None
    return {
        "bit_exact": not mismatched.any(),
        "samples": samples,
        "mismatched_samples": int(mismatched.sum()),
        "layers": layers,
        "total": total,
        "fully_parallel": fully_parallel,
        "family": family,
        "scaled": any(entry["instances"] > 1 for entry in layers),
        "note": "per kernel: Verilog of x @ W + b (da4ml, as hls4ml's distributed_arithmetic strategy), cast to the layer's result "
                "type as the firmware does; a convolution's kernel is simulated on every output pixel; totals count the kernels "
                "hls4ml instantiates (a convolution's parallelization factor, default one kernel reused over the pixels); "
                "`fully_parallel` is the figure with one kernel per output pixel, for comparison",
    }
