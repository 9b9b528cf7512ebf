"""The CPU/GPU reference: batch-1 latency and throughput of the float and QKeras models, beside the FPGA figures."""

from __future__ import annotations

import os
import platform
import time
from typing import Callable

import numpy as np

from codesign.errors import CodesignError

Say = Callable[[str], None]
WARMUP_CALLS = 5
THROUGHPUT_SECONDS = 0.3  # minimum measured time per batch size


def find_devices(wanted: str) -> list[dict]:
    """The TensorFlow devices to measure: the CPU and/or every GPU TensorFlow sees."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if wanted == "gpu" and not gpus:
        raise CodesignError("--device gpu: no GPU found (TensorFlow sees none; install the 'gpu' extra on a CUDA machine)")
    devices = [] if wanted == "gpu" else [{"kind": "cpu", "tf_name": "/CPU:0", **cpu_info()}]
    if wanted in ("gpu", "all"):
        for index, gpu in enumerate(gpus):
            details = tf.config.experimental.get_device_details(gpu)
            devices.append(
                {
                    "kind": "gpu",
                    "tf_name": f"/GPU:{index}",
                    "name": details.get("device_name", gpu.name),
                    "compute_capability": ".".join(map(str, details.get("compute_capability", ()))) or None,
                    "memory_gib": _gpu_memory_gib(index),
                }
            )
    return devices


def cpu_info() -> dict:
    """CPU model, cores and TensorFlow's thread settings (0 means TensorFlow picks)."""
    import tensorflow as tf

    model = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as stream:
            model = next((line.split(":", 1)[1].strip() for line in stream if line.startswith("model name")), model)
    except OSError:
        pass
    return {
        "name": model,
        "cores": os.cpu_count(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
    }


def _gpu_memory_gib(index: int) -> float | None:
    """Total memory of GPU `index` from nvidia-smi, when it is there."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return None
    query = ["nvidia-smi", f"--id={index}", "--query-gpu=memory.total", "--format=csv,noheader,nounits"]
    result = subprocess.run(query, capture_output=True, text=True, check=False)
    try:
        return round(float(result.stdout.strip().splitlines()[0]) / 1024, 1)
    except (ValueError, IndexError):
        return None


def _one_tensor(outputs):
    """A model's outputs as one tensor (several flattened side by side), whose .numpy() waits for all of them."""
    import tensorflow as tf

    if not isinstance(outputs, (list, tuple)):
        return outputs
    return tf.concat([tf.reshape(output, (tf.shape(output)[0], -1)) for output in outputs], axis=1)


def measure_model(model, samples: np.ndarray, device: str, batch_sizes: list[int], runs: int) -> dict:
    """Batch-1 latency (p50/p99 over `runs` calls after warm-up) and throughput at each batch size.

    The model runs as a compiled tf.function (no Keras predict() overhead); each call ends with .numpy(), so a
    GPU call is finished before the clock stops.
    """
    import tensorflow as tf

    with tf.device(device):
        forward = tf.function(lambda x: _one_tensor(model(x, training=False)), reduce_retracing=True)
        single = tf.constant(samples[:1])
        for _ in range(WARMUP_CALLS):
            forward(single).numpy()
        times = []
        for index in range(runs):
            x = tf.constant(samples[index % len(samples)][np.newaxis])
            started = time.perf_counter()
            forward(x).numpy()
            times.append(time.perf_counter() - started)
        throughput = {}
        for batch in batch_sizes:
            x = tf.constant(np.resize(samples, (batch, *samples.shape[1:])))
            for _ in range(WARMUP_CALLS):
                forward(x).numpy()
            calls, started = 0, time.perf_counter()
            while calls < 3 or time.perf_counter() - started < THROUGHPUT_SECONDS:
                forward(x).numpy()
                calls += 1
            throughput[str(batch)] = round(batch * calls / (time.perf_counter() - started), 1)
    milliseconds = np.array(times) * 1e3
    return {
        "latency_ms": {"p50": round(float(np.percentile(milliseconds, 50)), 4), "p99": round(float(np.percentile(milliseconds, 99)), 4)},
        "throughput_per_s": throughput,
        "runs": runs,
    }


def fpga_figures(estimate: dict | None) -> dict:
    """The FPGA's latency and throughput: from the vendor's C synthesis when it ran, else from the estimate."""
    if not estimate:
        return {"source": None, "note": "no resource/latency estimate in this run"}
    clock = estimate["clock_ns"]
    csynth = estimate.get("vendor", {}).get("csynth")
    if csynth and csynth.get("latency_cycles"):
        figures, source = csynth, "vendor csynth"
    else:
        figures, source = estimate["total"], "estimated"
    return {
        "source": source,
        "latency_ns": round(figures["latency_cycles"] * clock, 3),
        "throughput_per_s": round(1e9 / (max(figures["ii"], 1) * clock), 1),
        "resources": {key: figures.get(key) for key in ("dsp", "lut", "ff", "bram_18k")},
    }


def comparison_table(bench: dict, validation: dict | None) -> list[dict]:
    """Rows target | accuracy | batch-1 latency | throughput | resources, with speed-ups against float on the CPU."""
    accuracy = (validation or {}).get("accuracy", {})
    rows = []
    for measured in bench["measurements"]:
        best = max(measured["throughput_per_s"].values())
        rows.append(
            {
                "target": f"{measured['model']} {measured['device_kind'].upper()}",
                "accuracy": accuracy.get(measured["model"]),
                "latency_ms": measured["latency_ms"]["p50"],
                "throughput_per_s": best,
                "resources": None,
                "kind": "measured",
            }
        )
    fpga = bench["fpga"]
    rows.append(
        {
            "target": f"FPGA ({fpga['source']})" if fpga["source"] else "FPGA (not estimated yet)",
            "accuracy": accuracy.get("emulation"),
            "latency_ms": fpga["latency_ns"] / 1e6 if fpga.get("latency_ns") else None,
            "throughput_per_s": fpga.get("throughput_per_s"),
            "resources": fpga.get("resources"),
            "kind": fpga["source"] or "none",
        }
    )
    rows.append(
        {
            "target": "emulation (C++ here: validation cost, not FPGA speed)",
            "accuracy": accuracy.get("emulation"),
            "latency_ms": None,
            "throughput_per_s": (validation or {}).get("emulation_samples_per_s"),
            "resources": None,
            "kind": "validation",
        }
    )
    baseline = next((row for row in rows if row["target"] == "float CPU"), None)
    for row in rows:
        row["latency_speedup"] = _ratio(baseline and baseline["latency_ms"], row["latency_ms"])
        row["throughput_speedup"] = _ratio(row["throughput_per_s"], baseline and baseline["throughput_per_s"])
        if row["kind"] == "validation":
            row["throughput_speedup"] = None
    return rows


def _ratio(numerator, denominator) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def duration(milliseconds: float | None) -> str:
    """'0.689 ms', or microseconds below 0.1 ms (FPGA latencies)."""
    if milliseconds is None:
        return "-"
    return f"{milliseconds:.3f} ms" if milliseconds >= 0.1 else f"{milliseconds * 1000:.2f} us"


def format_table(rows: list[dict]) -> list[str]:
    """The comparison table as aligned text lines for the terminal."""
    header = ("target", "accuracy", "batch-1 latency", "throughput", "vs float CPU")
    lines = []
    for row in rows:
        latency = duration(row["latency_ms"])
        throughput = f"{row['throughput_per_s']:,.0f}/s" if row["throughput_per_s"] else "-"
        speedups = ", ".join(
            f"{label} x{value}" for label, value in (("latency", row["latency_speedup"]), ("thr.", row["throughput_speedup"])) if value
        )
        accuracy = f"{row['accuracy']:.4f}" if row["accuracy"] is not None else "-"
        lines.append((row["target"], accuracy, latency, throughput, speedups or "-"))
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    return ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths)).rstrip() for line in [header, *lines]]
