"""The build steps (train -> convert -> estimate -> compile -> validate -> bench -> report): plain functions reading and writing the run directory."""

from __future__ import annotations

import json
import re

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from codesign.config import Spec, digest_of
from codesign.data import Dataset, load_dataset
from codesign.errors import InternalError, ModelError, RunDirError, ValidationFailed
from codesign.layout import RunLayout, file_digest
from codesign.records import BenchRecord, CompileRecord, ConversionRecord, RtlRecord, TrainRecord
from codesign.results import EstimateResult, ValidationResult
from codesign.validate import (
    compare_with_model, divergence_line, exact_outputs, firmware_logits, firmware_model, head_agreement, head_of, prove_exact, summary_lines,
    with_the_proofs_reason,
)

Say = Callable[[str], None]


@dataclass
class Context:
    """What every step gets: the resolved spec, the run's layout, a way to talk, and the data (loaded once)."""

    spec: Spec
    layout: RunLayout
    say: Say
    _data: Dataset | None = field(default=None, repr=False)

    def data(self) -> Dataset:
        if self._data is None:
            self._data = load_dataset(self.spec.dataset, seed=self.spec.training.seed)
            if self._data.note:
                self.say(f"note: {self._data.note}")
        return self._data


@dataclass(frozen=True)
class Step:
    """A named step: what it reads (digested, to skip it when unchanged), what it writes, and how it runs."""

    name: str
    run: Callable[[Context], dict]
    inputs: Callable[[Context], dict[str, str]]
    outputs: Callable[[RunLayout], list[Path]]


# --- train ---------------------------------------------------------------------------------------


def train_step(ctx: Context) -> dict:
    """Train the QKeras model and its float twin, or import a user's trained model, into model/."""
    from codesign.train import evaluate, train_models, weight_sparsity

    data = ctx.data()
    if ctx.spec.model.file:
        from codesign.model import dropped_training_only_layers, load_keras_model

        from codesign.outputs import several
        from codesign.quantizers import float_head, logits_model, output_heads

        model = load_keras_model(ctx.spec.model.file)
        dropped = dropped_training_only_layers(ctx.spec.model.file, model)
        if dropped:
            verb, them = ("acts", "it") if len(dropped) == 1 else ("act", "them")
            ctx.say(f"  {', '.join(dropped)}: {verb} only in training, taken out (Keras predicts without {them}; hls4ml has no converter for {them})")
        _check_user_model(model, data, ctx.spec.model.file, ctx.spec.hls.precision)
        head, heads = float_head(model), output_heads(model)
        if ctx.spec.hls.head == "firmware" and several(model):
            raise ModelError(f"{ctx.spec.model.file}: head 'firmware': the model has {len(model.outputs)} outputs; a head in firmware is "
                             "judged by its decision on a model of one output: build one per output, or leave the heads on the host")
        if head is None and ctx.spec.hls.head == "firmware":
            raise ModelError(f"{ctx.spec.model.file}: head 'firmware': the model ends on layer '{model.layers[-1].name}', "
                             "not on a softmax, sigmoid or tanh")
        _save(logits_model(model, [head] if head else heads) if head or heads else model, ctx.layout.qkeras_model)  # the firmware's exact part
        ctx.layout.float_model.unlink(missing_ok=True)
        report = {**data_warning(data), "source": ctx.spec.model.file, "qkeras": evaluate(model, data), "float": None, "head": head,
                  "output_heads": heads or None}
        if head:
            where = "in firmware (hls4ml's lookup tables)" if ctx.spec.hls.head == "firmware" else "on the host, in float as QKeras computes it"
            ctx.say(f"  head: {head['function']} of layer '{head['layer']}' {where}; the firmware's exactness is judged on the logits before it")
        for found in heads:
            ctx.say(f"  head: {found['function']} of output '{found['layer']}' on the host, in float as QKeras computes it; the firmware's "
                    "exactness is judged on the logits before it")
    else:
        qkeras_model, float_model, metrics = train_models(ctx.spec, data, ctx.say)
        _save(qkeras_model, ctx.layout.qkeras_model)
        _save(float_model, ctx.layout.float_model)
        source = "trained" if ctx.spec.training.enabled else "untrained (seeded random weights)"
        report = {**data_warning(data), "source": source, **metrics}
    report["weight_sparsity"] = weight_sparsity(_load(ctx.layout.qkeras_model))
    report["dataset"] = {"name": data.name, "train": len(data.x_train), "test": len(data.x_test)}
    TrainRecord(**report).write(ctx.layout.report("train"))
    accuracy = report["qkeras"].get("test_accuracy")
    if accuracy is not None:
        ctx.say(f"  QKeras test accuracy {accuracy:.4f}")
    return report


def data_warning(data: Dataset) -> dict:
    """{'warning': ...} first in every report made from synthetic data; {} otherwise."""
    from codesign.data import SYNTHETIC_WARNING

    return {"warning": SYNTHETIC_WARNING} if data.synthetic else {}


def _check_user_model(model, data: Dataset, path: str, precision: str) -> None:
    """The model must be convertible by hls4ml, take the data's sample shape, and be quantized for a bit-exact policy."""
    from codesign.quantizers import has_quantizers
    from codesign.refusals import refusal

    if len(model.inputs) > 1:
        inputs = ", ".join(f"'{tensor.name.split('/')[0]}'" for tensor in model.inputs)
        raise ModelError(f"{path}: the model has {len(model.inputs)} inputs ({inputs}); codesign builds and validates a model of one input "
                         "(its data file holds one array of samples)")
    not_identifiers = [layer.name for layer in model.layers if not re.fullmatch(r"[A-Za-z_]\w*", layer.name)]
    if not_identifiers:
        raise ModelError(f"{path}: layer '{not_identifiers[0]}': hls4ml writes layer names into the C++ as identifiers (letters, digits "
                         f"and '_', not starting with a digit), where g++ rejects this one: rename it (e.g. 'l_{re.sub(r'[^0-9A-Za-z_]', '_', not_identifiers[0])}')")
    refused = refusal(model)
    if refused:  # what hls4ml cannot convert, or would lose
        raise ModelError(f"{path}: {refused}")
    expected = tuple(model.input_shape[1:])
    if expected != data.input_shape:
        raise ModelError(f"{path}: the model takes inputs of shape {expected}, the data has {data.input_shape}")
    _check_runs(model, data, path)
    if precision == "bit-exact" and not has_quantizers(model):
        raise ModelError(
            f"{path}: a float Keras model (no QKeras quantizer) cannot be bit-exact in fixed point: build it with "
            "--precision 'ap_fixed<16,6>' (or another type) to see how close the firmware comes, or quantize it with QKeras"
        )


def _check_runs(model, data: Dataset, path: str) -> None:
    """TensorFlow itself must run the model (some layer settings it builds but cannot compute, e.g. a 1D separable
    convolution with a stride): refused naming what TensorFlow said, before any conversion."""
    import tensorflow as tf

    try:
        model(data.x_test[:1], training=False)
    except (tf.errors.OpError, ValueError) as error:
        raise ModelError(f"{path}: TensorFlow cannot run this model on one sample of the data, so there is nothing to compare the "
                         f"firmware with: {_tensorflow_said(error)}") from None


def _tensorflow_said(error: Exception) -> str:
    """What TensorFlow said, in one line without its wrappers: the layer Keras names and the op's own reason (its
    function-node path and call arguments came first and cut the reason off: fuzz seed 1477 model 3, a separable
    convolution with strides (2, 1), which TensorFlow's CPU kernel does not run)."""
    text = str(getattr(error, "message", error)).split("Call arguments received", 1)[0]
    text = re.sub(r"\{\{function_node [^}]*\}\}", "", text)
    text = re.sub(r"\[Op:[^\]]*\]( name: \S*)?", "", text)
    text = re.sub(r"Exception encountered when calling layer '([^']+)' \(type (\w+)\)\.", r"layer '\1' (\2):", text)
    return " ".join(text.split())[:200]


def train_inputs(ctx: Context) -> dict[str, str]:
    inputs = {"spec": ctx.spec.section_digest("dataset", "model", "quantization", "training"), "data": ctx.data().digest()}
    if ctx.spec.model.file:
        inputs["model_file"] = file_digest(Path(ctx.spec.model.file))
    return inputs


# --- convert -------------------------------------------------------------------------------------


def convert_step(ctx: Context) -> dict:
    """Convert the QKeras model with hls4ml into hls/, the project Vitis/Vivado HLS builds; under the bit-exact policy
    the types are chosen by verification on the test set (codesign/typesearch.py)."""
    import shutil

    from codesign.convert import conversion_of, convert, policy_candidate

    spec, layout = ctx.spec, ctx.layout
    shutil.rmtree(layout.hls_dir, ignore_errors=True)
    if spec.hls.precision == "bit-exact":
        report = _choose_types(ctx, _load(layout.qkeras_model))
        if spec.hls.head == "firmware":  # types chosen on the logits; the head goes on top of the kept candidate, chosen for its decision
            chosen, input_type = conversion_of(ConversionRecord(**report))
            settings, note = _head_settings(ctx, report)
            chosen = replace(chosen, head=json.dumps(settings))
            report = {**report, **convert(firmware_model(spec, layout), spec.hls, layout.hls_dir, input_type, layout.log("convert"), chosen),
                      "head_settings": settings, "head_note": note}
    else:
        report = convert(firmware_model(spec, layout), spec.hls, layout.hls_dir, None, layout.log("convert"), policy_candidate(spec.hls.precision, spec.hls.hls4ml_config))
        report.update(input_type=None, candidates=None)
    ConversionRecord(**report).write(layout.report("convert"))
    ctx.say(f"  {len(report['layers'])} layers, precision {report['policy']} ({report['conversion']})")
    return report


def _head_settings(ctx: Context, report: dict) -> tuple[dict, str | None]:
    """The head's hls4ml settings under which its decision is the model's for every logit value (codesign/head.py); where
    no table does, the largest, with a note naming the smallest change (the decision proof then shows the flips)."""
    from codesign.fixed import Fixed
    from codesign.head import chosen_settings, described

    function = head_of(ctx.spec, ctx.layout)["function"]
    logit_type = Fixed.parse(report["layers"][-1]["types"]["result"])
    settings, why = chosen_settings(function, logit_type, ctx.spec.hls.head_output)
    if settings.get("Implementation") == "stable":  # probabilities: the smallest tables deciding as the model on the test set
        from codesign.head import table_sized

        logits = _load(ctx.layout.qkeras_model).predict(ctx.data().x_test, batch_size=1024, verbose=0)
        settings = table_sized(logits.shape[-1], logit_type, logits.reshape(len(logits), -1), ctx.spec.hls.backend, ctx.spec.hls.io_type, ctx.say)
    note = f"the {function} head in firmware cannot be made decision-exact: {why}" if why else None
    if note:
        ctx.say(f"  note: {note}")
    shown = described(settings, function)
    tables = f", {shown['table_size']:,}-entry tables" + (f" of {settings['table_t']}" if "table_t" in settings else "") if shown["table_size"] else ""
    ctx.say(f"  head: {function} in firmware, {shown['implementation']}{tables} (logits {logit_type.hls4ml()})")
    return settings, note


def _choose_types(ctx: Context, model) -> dict:
    """Try the bit-exact policy's candidates on the test set; the conversion report of the one kept, with all tried."""
    from codesign.layers import is_hgq_proxy_layer
    from codesign.outputs import predicted
    from codesign.quantizers import first_layer
    from codesign.typesearch import input_types, search_types

    spec, x = ctx.spec, ctx.data().x_test
    inputs = input_types(model, spec.quantization.input if spec.model.layers else None, x)
    fixed, why = inputs["narrowest"]
    ctx.say(f"  input type {fixed.hls4ml()} ({why}); choosing the other types by verification on {len(x)} test samples")
    if inputs["float32-exact"] is None and not (spec.model.layers and spec.quantization.input) and not is_hgq_proxy_layer(first_layer(model)):
        ctx.say(f"  note: {input_type_note(fixed, why)}")  # an HGQ proxy model's first quantizer is its input cast
    references = (predicted(model, x), *exact_outputs(model, x))
    report, candidates = search_types(model, spec.hls, ctx.layout, inputs, x, references, ctx.say, spec.validation.domain)
    return {**report, "candidates": candidates}


def input_type_note(fixed, why: str) -> str:
    """What a model without an input quantizer gets as its firmware's input type, and how to choose it instead."""
    held = "holds every value of your data exactly" if "not exactly representable" not in why else (
        f"is {fixed.width} bits wide, because your data are on no fixed-point grid (e.g. pixels / 255; / 256 is on one)")
    return (f"the model has no input quantizer: the firmware's input type {fixed.hls4ml()} {held}; other inputs are rounded to it "
            "(and the proof covers its values only); put a QActivation(quantized_bits(...)) first to choose it")


def convert_inputs(ctx: Context) -> dict[str, str]:
    inputs = {"qkeras_model": file_digest(ctx.layout.qkeras_model), "hls": ctx.spec.section_digest("hls", "quantization")}
    if ctx.spec.hls.precision == "bit-exact":
        inputs["data"] = ctx.data().digest()  # the types are verified on the test set
        inputs["domain"] = digest_of(ctx.spec.validation.domain)  # ... and proven over the domain
    if ctx.spec.hls.hls4ml_config:
        inputs["hls4ml_config"] = file_digest(Path(ctx.spec.hls.hls4ml_config))
    return inputs


# --- estimate ------------------------------------------------------------------------------------


def estimate_step(ctx: Context) -> dict:
    """Estimate resources and latency per layer of the design as converted, beside any vendor report the project holds."""
    from codesign.convert import conversion_of
    from codesign.estimate.run import add_vendor, estimate_model, format_estimate
    from codesign.estimate.vendor import build_of_report

    spec, layout = ctx.spec, ctx.layout
    model = firmware_model(spec, layout)
    candidate, input_type = conversion_of(ConversionRecord.read(layout.report("convert")))
    tool = build_of_report(layout.hls_dir).get("tool")  # after `codesign synth`: the tool that built it
    report = add_vendor(estimate_model(model, spec.hls, input_type, layout.log("estimate"), candidate, tool), layout.hls_dir)
    if spec.hls.precision == "bit-exact":  # what the verified (and proven) types cost against hls4ml's own default
        default = estimate_model(model, spec.hls.model_copy(update={"precision": "hls4ml-default"}), None, layout.log("estimate"), tool=tool)
        report["versus_hls4ml_default"] = {key: {"these_types": report["total"][key], "hls4ml_default": default["total"][key]}
                                           for key in ("dsp", "lut", "ff", "latency_cycles")}
    result = EstimateResult(**report)
    result.write(layout.report("estimate"))
    report = result.dump()
    for line in format_estimate(report):
        ctx.say("  " + line)
    if "versus_hls4ml_default" in report:
        shown = ", ".join(f"{value['these_types']:,} vs {value['hls4ml_default']:,} {key.upper() if key != 'latency_cycles' else 'cycles'}"
                          for key, value in report["versus_hls4ml_default"].items())
        ctx.say(f"  these types against hls4ml's default, fixed<16,6> everywhere: {shown}")
    return report


def _local_calibration_digest() -> str:
    """The user's calibration (estimate/local.py) an estimate is scaled by: a new build in it re-estimates the runs."""
    from codesign.estimate.local import calibration_path

    path = calibration_path()
    return file_digest(path) if path.is_file() else "none"


def _estimator_digest() -> str:
    """The estimator's code and shipped constants: a codesign upgrade that changes them re-estimates the runs."""
    from codesign.estimate import model

    code = sorted(Path(model.__file__).parent.glob("*.py"))
    return digest_of([file_digest(path) for path in code] + [file_digest(model.CONSTANTS_PATH)])


def estimate_inputs(ctx: Context) -> dict[str, str]:
    from codesign.estimate.vendor import CSYNTH_GLOBS, VIVADO_SYNTH_NAMES

    hls = ctx.layout.hls_dir
    reports = [path for pattern in CSYNTH_GLOBS for path in sorted(hls.glob(pattern))]
    reports += [path for name in VIVADO_SYNTH_NAMES for path in sorted(hls.rglob(name))]
    return {
        "qkeras_model": file_digest(ctx.layout.qkeras_model),
        "hls": ctx.spec.section_digest("hls", "quantization"),
        "conversion": file_digest(ctx.layout.report("convert")),
        "vendor_reports": digest_of([file_digest(path) for path in reports]),
        "local_calibration": _local_calibration_digest(),
        "estimator": _estimator_digest(),
    }


# --- compile -------------------------------------------------------------------------------------


def compile_step(ctx: Context) -> dict:
    """Compile the C++ emulation library with g++ (hls4ml's build_lib.sh), unless the convert step already compiled
    these very sources while choosing types; compile time and peak memory recorded."""
    from codesign.emulate import EMULATION_OPTIMIZATION, compile_library, compiled_library

    found = compiled_library(ctx.layout.hls_dir)
    if found is None:
        ctx.say(f"  compiling the emulation library with g++ {EMULATION_OPTIMIZATION} (seconds to minutes, by model size)")
        compile_library(ctx.layout.hls_dir, ctx.layout.log("compile"))
        found = compiled_library(ctx.layout.hls_dir)
        verb = "compiled"
    else:
        verb = "reused the library compiled while choosing types:"
    library, stamp = found
    report = {
        "library": str(library.relative_to(ctx.layout.root)),
        "reused": verb != "compiled",
        "compile_seconds": stamp.compile_seconds,
        "compiler_peak_memory_mib": stamp.compiler_peak_memory_mib,
    }
    CompileRecord(**report).write(ctx.layout.report("compile"))
    ctx.say(f"  {verb} {library.name} ({stamp.compile_seconds:.1f} s, g++ peak memory {stamp.compiler_peak_memory_mib:,.0f} MiB)")
    return report


def compile_inputs(ctx: Context) -> dict[str, str]:
    from codesign.emulate import sources_digest

    return {"sources": sources_digest(ctx.layout.hls_dir)}


# --- validate ------------------------------------------------------------------------------------


def validate_step(ctx: Context) -> dict:
    """Run the emulation on the whole test set and compare with QKeras sample by sample, on every output.

    With the softmax in firmware, exactness is judged on the logits (traced out of the layer feeding the
    softmax), and the firmware's softmax lookup tables are reported against the host softmax separately.
    """
    data, spec, layout = ctx.data(), ctx.spec, ctx.layout
    if not layout.library.exists():
        raise RunDirError(f"{layout.root}: the emulation is not compiled; run the compile step first")
    firmware_head = spec.hls.head == "firmware"
    from codesign.emulate import emulate

    emulation, record = emulate(layout, data.x_test, spec.validation.cpp_samples, ctx.say, trace=firmware_head)
    emulators = record.dump()
    report, reference = compare_with_model(layout, spec, data.x_test, data.y_test, firmware_logits(layout, spec, emulation))
    report = {**data_warning(data), **report, "emulators": emulators, "emulation_samples_per_s": emulators["cpp"]["samples_per_s"]}
    report["proof"] = prove_exact(layout, spec, spec.validation.domain, ctx.say, report["reference"], data.x_test)
    report = with_the_proofs_reason(report)
    if firmware_head:
        report["head"] = {**report["head"], **_judged_head(ctx, emulation, report["proof"])}
        if report["head"]["implementation"] != "argmax":  # tables: their probabilities against the exact function
            report["firmware_head"] = head_agreement(reference, emulation.outputs, report["head"]["function"])
    result = ValidationResult(**report)
    result.write(layout.report("validate"))
    report = result.dump()
    for line in summary_lines(report):
        ctx.say("  " + line)
    head_proof = ((report.get("head") or {}).get("proof") or {})
    if head_proof.get("status") == "contradicted":
        raise InternalError(f"{layout.root}: the head's {head_proof['why']}: please report it")
    if report["proof"]["status"] == "contradicted":
        raise InternalError(f"{layout.root}: {report['proof']['why']}; the inputs are in {report['proof']['counterexample']}: please report it")
    if spec.hls.precision == "bit-exact" and not report["bit_exact"]:
        raise ValidationFailed(f"not bit-exact: {divergence_line(report)}")
    return report


def _judged_head(ctx: Context, emulation, logits_proof: dict) -> dict:
    """The head in firmware judged by its decision (codesign/head.py): on the test set, proven over the domain or a
    counterexample that replays, hls4ml's default tables beside."""
    from codesign.emulate import run_emulation
    from codesign.head import judge

    layout, spec, x = ctx.layout, ctx.spec, ctx.data().x_test
    model = _load(layout.qkeras_model)

    def firmware_of(samples):
        traced = run_emulation(layout.library, layout.emulation_meta, samples, lambda _: None, trace=True)
        return traced.outputs, firmware_logits(layout, spec, traced)

    def model_logits_of(samples):  # the model's logits as the logits' proof judged them: QKeras's, or the exact evaluation's
        if logits_proof.get("reference") == "exact":
            from codesign.exact import evaluate

            return evaluate(model, samples).outputs
        return model.predict(samples, batch_size=1024, verbose=0)

    ctx.say("  head: judging the firmware's decision (hls4ml's head code compiled alone, over the logits' values)")
    note = ConversionRecord.read(layout.report("convert")).head_note
    return ({"note": note} if note else {}) | judge(layout, head_of(spec, layout)["function"], x, emulation.outputs, firmware_logits(layout, spec, emulation),
                                                    logits_proof, model_logits_of, firmware_of, spec.hls.backend, ctx.say)


def validate_inputs(ctx: Context) -> dict[str, str]:
    return {
        "qkeras_model": file_digest(ctx.layout.qkeras_model),
        "library": file_digest(ctx.layout.library),
        "data": ctx.data().digest(),
        "policy": digest_of([ctx.spec.hls.precision, ctx.spec.hls.head]),
        "domain": digest_of(ctx.spec.validation.domain),
    }


# --- bench ---------------------------------------------------------------------------------------


def bench_step(ctx: Context) -> dict:
    """Time the float and QKeras models on the CPU and every GPU; put the FPGA and emulation figures beside them."""
    import tensorflow as tf

    from codesign.bench import comparison_table, find_devices, fpga_figures, format_table, measure_model

    spec, layout = ctx.spec, ctx.layout
    devices = find_devices(spec.bench.device)
    samples = ctx.data().x_test
    models = [("float", layout.float_model), ("qkeras", layout.qkeras_model)]
    measurements = []
    for model_name, path in models:
        if not path.exists():
            continue
        model = _load(path)
        for device in devices:
            ctx.say(f"  timing {model_name} on {device['kind'].upper()} ({device['name']})")
            result = measure_model(model, samples, device["tf_name"], spec.bench.batch_sizes, spec.bench.runs)
            measurements.append({"model": model_name, "device_kind": device["kind"], "device": device["tf_name"], **result})
    gpus = [device for device in devices if device["kind"] == "gpu"]
    validation = ValidationResult.read_if_exists(layout.report("validate"))
    estimate = EstimateResult.read_if_exists(layout.report("estimate"))
    report = {
        **data_warning(ctx.data()),
        "environment": {"tensorflow": tf.__version__, "devices": devices},
        "gpu": "no GPU found" if not gpus else ", ".join(gpu["name"] for gpu in gpus),
        "settings": spec.bench.model_dump(),
        "measurements": measurements,
        "fpga": fpga_figures(estimate.dump() if estimate else None),
        "emulation_samples_per_s": validation.emulation_samples_per_s if validation else None,
    }
    report["table"] = comparison_table(report, validation.dump() if validation else {})
    BenchRecord(**report).write(layout.report("bench"))
    if not gpus and spec.bench.device != "cpu":
        ctx.say("  no GPU found: TensorFlow sees none, so there are CPU rows only")
    for line in format_table(report["table"]):
        ctx.say("  " + line)
    return report


def bench_inputs(ctx: Context) -> dict[str, str]:
    return {
        "models": digest_of([file_digest(ctx.layout.qkeras_model), file_digest(ctx.layout.float_model)]),
        "bench": ctx.spec.section_digest("bench"),
        "data": ctx.data().digest(),
    }


# --- report --------------------------------------------------------------------------------------


def report_step(ctx: Context) -> dict:
    """summary.json, summary.md and a self-contained report.html from everything the run produced."""
    from codesign.report.data import collect
    from codesign.report.render import FORMATS, write_reports

    data = collect(ctx.layout.root)
    for path in write_reports(data, ctx.layout.reports_dir, FORMATS):
        ctx.say(f"  wrote {path}")
    return data


def report_inputs(ctx: Context) -> dict[str, str]:
    steps = ("train", "convert", "estimate", "compile", "validate", "rtl", "bench")
    return {"reports": digest_of([file_digest(ctx.layout.report(step)) for step in steps])}


# --- rtl -----------------------------------------------------------------------------------------


def rtl_step(ctx: Context) -> dict:
    """Verilog of every Dense/Conv kernel (da4ml), simulated with Verilator on the whole test set against the emulator,
    and synthesized with yosys (codesign/rtl.py, docs/rtl.md); off unless the spec switches it on."""
    import os
    import time

    from codesign import rtl
    from codesign.emulate import run_emulation
    from codesign.fixed import from_float, of_precision

    spec, layout = ctx.spec, ctx.layout
    if not spec.rtl.enabled:
        RtlRecord(enabled=False).write(layout.report("rtl"))
        ctx.say("  off (rtl.enabled is false; `codesign rtl RUN_DIR` runs it on a distributed_arithmetic run)")
        return {"enabled": False}
    started = time.perf_counter()
    versions = rtl.tool_versions(spec.rtl.synth)
    graph = _graph_with_weights(ctx)
    x = ctx.data().x_test
    ctx.say(f"  tracing the firmware on {len(x)} test samples")
    traced = run_emulation(layout.library, layout.emulation_meta, x, lambda _: None, trace=True, workers=os.cpu_count() or 1)
    input_type = of_precision(next(iter(graph.get_layers())).get_output_variable().type.precision)
    model_input = from_float(x.reshape(len(x), -1), input_type) * input_type.lsb
    report = rtl.run_rtl(rtl.kernels_of(graph), traced.layers, model_input, layout.rtl_dir, spec.rtl.synth, spec.rtl.family,
                         layout.log("rtl"), ctx.say)
    report.update(enabled=True, versions=versions, seconds=round(time.perf_counter() - started, 1))
    RtlRecord(**report).write(layout.report("rtl"))
    verdict = "yes, every kernel identical on all" if report["bit_exact"] else f"NO, {report['mismatched_samples']} of"
    ctx.say(f"  RTL bit-exact: {verdict} {report['samples']} samples" + (f"; {report['total']['lut']:,} LUT (yosys, {spec.rtl.family})" if report["total"] else ""))
    if not report["bit_exact"]:
        raise ValidationFailed(f"the RTL of {layout.root} differs from the emulator on {report['mismatched_samples']} samples (reports/rtl.json)")
    return report


def _graph_with_weights(ctx: Context):
    """The run's conversion again with the Latency strategy: the same types and weights, which hls4ml's
    distributed_arithmetic graph no longer holds (they are compiled into its adder graphs)."""
    import tempfile

    from codesign.convert import build_graph, conversion_of

    candidate, input_type = conversion_of(ConversionRecord.read(ctx.layout.report("convert")))
    hls = ctx.spec.hls.model_copy(update={"strategy": "Latency"})
    with tempfile.TemporaryDirectory(prefix="codesign-rtl-") as scratch:
        return build_graph(firmware_model(ctx.spec, ctx.layout), hls, Path(scratch), input_type, ctx.layout.log("rtl"), candidate)


def rtl_inputs(ctx: Context) -> dict[str, str]:
    inputs = {"rtl": ctx.spec.section_digest("rtl")}
    if ctx.spec.rtl.enabled:
        inputs.update(library=file_digest(ctx.layout.library), data=ctx.data().digest(), convert=file_digest(ctx.layout.report("convert")))
    return inputs


# --- helpers -------------------------------------------------------------------------------------


def _load(path: Path):
    from codesign.model import load_keras_model

    return load_keras_model(path)


def _save(model, path: Path) -> None:
    """Save as .h5 (what hls4ml and QKeras read best), without Keras's legacy-format and serialization warnings."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model.save(path)


STEPS: list[Step] = [
    Step("train", train_step, train_inputs, lambda layout: [layout.qkeras_model, layout.report("train")]),
    Step("convert", convert_step, convert_inputs, lambda layout: [layout.emulation_meta, layout.report("convert")]),
    Step("estimate", estimate_step, estimate_inputs, lambda layout: [layout.report("estimate")]),
    Step("compile", compile_step, compile_inputs, lambda layout: [layout.library, layout.report("compile")]),
    Step("validate", validate_step, validate_inputs, lambda layout: [layout.report("validate")]),
    Step("rtl", rtl_step, rtl_inputs, lambda layout: [layout.report("rtl")]),
    Step("bench", bench_step, bench_inputs, lambda layout: [layout.report("bench")]),
    Step("report", report_step, report_inputs, lambda layout: [layout.reports_dir / "report.html"]),
]
STEP_NAMES = [step.name for step in STEPS]
