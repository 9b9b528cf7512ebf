"""Typed records of the JSON files a run and a sweep hold: each is written from its model and read through it, so
writers, readers and docs/reports.md cannot drift apart (results.py adds the Python API's behaviour to two of them).

A field a file may lack (written by an older codesign, or only in some runs) has a default; a file is written with
the fields its writer set, no others (`dump`).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from codesign.layout import read_json, write_json


class Stored:
    """A model stored as one JSON file: read and written through the model (which says how it dumps)."""

    @classmethod
    def read(cls, path: Path):
        return cls(**read_json(path))

    @classmethod
    def read_if_exists(cls, path: Path):
        """The record, or None when a step has not written it (yet)."""
        return cls.read(path) if Path(path).exists() else None

    def write(self, path: Path) -> None:
        write_json(path, self.dump())


class Record(Stored, BaseModel):
    """One JSON file of a run, with the fields its writer set."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def dump(self) -> dict:
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class ValidationRecord(Stored, BaseModel):
    """The firmware compared with the reference model on every output of every sample (reports/validate.json)."""

    model_config = ConfigDict(extra="forbid")

    warning: str | None = None  # synthetic data: accuracy is meaningless (only written when set)
    samples: int
    outputs_per_sample: int
    mismatched_samples: int
    mismatched_elements: int
    max_abs_diff: float
    bit_exact: bool
    reference: str = "qkeras"
    argmax_agreement: float | None
    task: str | None
    task_note: str | None
    accuracy: dict[str, float | None]
    error: dict[str, dict[str, float] | None] | None
    emulators: dict | None = None
    emulation_samples_per_s: float | None = None
    policy: str | None = None
    head: dict | None = None  # a final softmax/sigmoid/tanh: function, layer, runs_on (host | firmware)
    firmware_head: dict | None = None  # with the head in firmware: its lookup tables against the exact function
    first_diverging_layer: dict | None = None
    input_type: dict | None = None
    candidates: list[dict] | None = None
    computed_in_float: list[str] = []
    exact_reference: dict | None = None  # QKeras's model evaluated exactly: available, float32_layers, who differs (codesign/exact.py)
    proof: dict | None = None  # over every input of a domain: status proven / counterexample / unproven (docs/proof.md)
    outputs: list[dict] | None = None  # a model of several outputs: each one's layer, size and float heads, in the order compared

    @model_validator(mode="before")
    @classmethod
    def _older_head_fields(cls, data):
        """validate.json written before heads of any model: `softmax` (host|firmware|none), `firmware_softmax`."""
        if isinstance(data, dict) and ("softmax" in data or "firmware_softmax" in data):
            data = dict(data)
            where = data.pop("softmax", None)
            data.setdefault("head", {"function": "softmax", "layer": None, "runs_on": where} if where in ("host", "firmware") else None)
            older = data.pop("firmware_softmax", None)
            if older is not None:
                data.setdefault("firmware_head", {"function": "softmax", "max_abs_diff": older["max_abs_diff"], "mean_abs_diff": None,
                                                  "decision": "argmax", "agreement": older["argmax_agreement"]})
        return data

    def dump(self) -> dict:
        """The JSON content: every field, but the warning only when there is one (it comes first)."""
        data = self.model_dump(mode="json")
        if data["warning"] is None:
            del data["warning"]
        if data["firmware_head"] is None:
            del data["firmware_head"]
        return data


class EstimateRecord(Stored, BaseModel):
    """Resources and latency of a design, per layer and in total (reports/estimate.json; docs/estimation.md)."""

    model_config = ConfigDict(extra="allow")

    total: dict
    layers: list[dict]
    utilization: dict
    interval: dict  # [low, high] per metric (dsp, lut, ff, bram_18k, latency_cycles): where the vendor figure fell for at least 80% of the calibration rows predicted without their source

    def dump(self) -> dict:
        return self.model_dump(mode="json")


class TrainRecord(Record):
    """reports/train.json: where the model came from and how accurate it is."""

    warning: str | None = None  # synthetic data
    source: str  # 'trained', 'untrained (seeded random weights)', or the user's model file
    qkeras: dict  # history, test_accuracy (or the metrics of a user's model)
    float_twin: dict | None = Field(None, alias="float")  # the float twin's history and test accuracy
    head: dict | None = None  # a user's model's float head: layer, function, folded
    output_heads: list[dict] | None = None  # a model of several outputs: the float heads its outputs end on (on the host)
    weight_sparsity: float | None = None
    dataset: dict | None = None  # name, train, test


class ConversionRecord(Record):
    """reports/convert.json: how the firmware's types were chosen and what hls4ml built."""

    policy: str
    hls4ml_config: str | None = None
    candidate: str | None = None  # the candidate's stable key (runs before 2026-11 have only `conversion`)
    conversion: str  # the candidate's display name
    backend: str
    part: str
    clock_ns: float
    io_type: str
    strategy: str
    reuse_factor: int
    layers: list[dict]
    input_type: dict | None = None  # type, why (the bit-exact policy)
    candidates: list[dict] | None = None  # every candidate tried, its outcome, proof, and which one was kept
    head_settings: dict | None = None  # a head in firmware: its hls4ml settings, chosen for its decision (codesign/head.py)
    head_note: str | None = None  # ... and why no setting makes it decision-exact, with the smallest change


class CompileRecord(Record):
    """reports/compile.json: the emulation library and what compiling it cost."""

    library: str
    reused: bool
    compile_seconds: float
    compiler_peak_memory_mib: float


class BenchRecord(Record):
    """reports/bench.json: CPU/GPU timings of the models beside the FPGA's estimated figures."""

    warning: str | None = None
    environment: dict
    gpu: str
    settings: dict
    measurements: list[dict]
    fpga: dict | None = None
    emulation_samples_per_s: float | None = None
    table: list[dict] = []


class RtlRecord(Record):
    """reports/rtl.json: the da4ml kernels' Verilog, simulated against the emulation (docs/rtl.md); `enabled` only
    when the step is off."""

    enabled: bool = True
    bit_exact: bool | None = None
    samples: int | None = None
    mismatched_samples: int | None = None
    layers: list[dict] = []
    total: dict | None = None
    fully_parallel: dict | None = None
    family: str | None = None
    scaled: bool | None = None
    note: str | None = None
    versions: dict | None = None  # verilator, yosys
    seconds: float | None = None


class CompiledStamp(Record):
    """hls/codesign_compiled.json: what the emulation library was compiled from, and what compiling it cost."""

    sources: str  # emulate.sources_digest of the project when it was compiled
    compile_seconds: float
    compiler_peak_memory_mib: float


class EmulationMeta(Record):
    """hls/codesign_emulation.json: what the compiled library exposes, for the worker that calls it without hls4ml."""

    project: str
    inputs: list[int]
    input_shapes: list[list[int]]
    outputs: list[int]
    traced_layers: list[dict]  # name, class, size
    last_input: str | None = None  # the layer feeding the last one: the logits, with a head in firmware (older runs: none)


class SweepStatus(Record):
    """points/<digest>/sweep_status.json: a sweep point's state."""

    status: str  # running, done, failed
    seconds: float | None = None
    error: str | None = None
    restarts: int = 0  # times it was started clean after a process died inside it (a killed sweep, a lost Dask worker)


class RunSummary(Record):
    """reports/summary.json: the run's report as data (docs/reports.md), what summary.md and report.html show."""

    schema_version: int
    run: str
    warning: str | None = None
    validation: dict | None = None
    estimate: dict | None = None
    comparison: list[dict] = []
    gpu: str | None = None
    verdict: dict | None = None
    model: dict | None = None
    rtl: dict | None = None
    precision_profile: list[dict] = []
    environment: dict | None = None


class RunComparison(Record):
    """comparison.json: several runs side by side (`codesign report RUN RUN ...`)."""

    schema_version: int
    runs: list[str]
    rows: list[dict]
    details: list[dict]


class SweepSummary(Record):
    """sweep.json: a sweep's points, their metrics and its Pareto front (docs/sweeps.md)."""

    schema_version: int
    name: str
    grid: dict
    objectives: list | dict
    points: list[dict]
    pareto: list[str]
    counts: dict[str, int]


MANIFEST_SCHEMA = 1  # manifest.json's layout; a newer one is refused, not overwritten (pipeline.load_manifest)


class StepState(Record):
    """One step in manifest.json: the digests of its inputs when it ran, and how that went."""

    inputs: dict[str, str] = {}
    status: str  # running, ok, failed, interrupted, stale
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    error: str | None = None


class Manifest(Record):
    """manifest.json: the pipeline's state of a run (each step's inputs and status), the spec's digest and the stack's
    versions."""

    schema_version: int = Field(MANIFEST_SCHEMA, alias="schema")
    spec_digest: str | None = None
    versions: dict[str, str | None] = {}
    complete: bool = False
    steps: dict[str, StepState] = {}

    def status(self, step: str) -> str | None:
        state = self.steps.get(step)
        return state.status if state else None


STEP_RECORDS = {  # every step's report, by step: the model it is written from and read through
    "train": TrainRecord, "convert": ConversionRecord, "estimate": EstimateRecord, "compile": CompileRecord,
    "validate": ValidationRecord, "rtl": RtlRecord, "bench": BenchRecord,
}
