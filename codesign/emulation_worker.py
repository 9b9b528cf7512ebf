"""Child process that calls the compiled firmware library through ctypes: a crash in it cannot kill the CLI.

Imports only numpy and the standard library, so it starts in a fraction of a second.
Usage: python -m codesign.emulation_worker LIB META INPUT.npy OUTPUT.npz [--trace]
"""

from __future__ import annotations

import ctypes
import json
import sys
import time

import numpy as np

PROGRESS_EVERY = 0.5  # seconds between progress lines on stderr


class _TraceData(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.c_void_p)]


def run(lib_path: str, meta_path: str, input_path: str, output_path: str, trace: bool) -> None:
    """Run every sample through the firmware's double-precision entry point; optionally record each layer."""
    meta = json.loads(open(meta_path).read())
    library = ctypes.cdll.LoadLibrary(lib_path)
    top = getattr(library, f"{meta['project']}_double")
    top.restype = None
    pointer = np.ctypeslib.ndpointer(np.float64, flags="C_CONTIGUOUS")
    top.argtypes = [pointer] * (len(meta["inputs"]) + len(meta["outputs"]))
    x = np.load(input_path).astype(np.float64)
    samples = len(x)
    flat = np.ascontiguousarray(x.reshape(samples, -1))
    if flat.shape[1] != sum(meta["inputs"]):
        raise SystemExit(f"input has {flat.shape[1]} values per sample, the firmware expects {sum(meta['inputs'])}")
    outputs = np.zeros((samples, sum(meta["outputs"])), dtype=np.float64)
    ends = np.cumsum(meta["outputs"])  # several outputs side by side in the row, each written through its own pointer
    starts = ends - meta["outputs"]
    traced = meta["traced_layers"] if trace else []
    layer_out = {layer["name"]: np.zeros((samples, layer["size"])) for layer in traced}
    if trace:
        library.allocate_trace_storage.argtypes = [ctypes.c_size_t]
        library.allocate_trace_storage(ctypes.sizeof(ctypes.c_double))
        collect = library.collect_trace_output
        collect.argtypes = [ctypes.POINTER(_TraceData)]
        buffers = (_TraceData * len(traced))()
    last = time.perf_counter()
    for index in range(samples):
        top(flat[index], *[outputs[index, start:end] for start, end in zip(starts, ends)])
        if trace:
            collect(buffers)
            for entry in buffers:
                name = entry.name.decode()
                size = layer_out[name].shape[1]
                values = ctypes.cast(entry.data, ctypes.POINTER(ctypes.c_double))
                layer_out[name][index] = np.ctypeslib.as_array(values, shape=(size,))
        if time.perf_counter() - last > PROGRESS_EVERY or index + 1 == samples:
            print(f"progress {index + 1} {samples}", file=sys.stderr, flush=True)
            last = time.perf_counter()
    np.savez(output_path, outputs=outputs, **{f"trace/{name}": values for name, values in layer_out.items()})


if __name__ == "__main__":
    arguments = sys.argv[1:]
    run(*arguments[:4], trace="--trace" in arguments[4:])
