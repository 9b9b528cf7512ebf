"""Every calibration row of shared/calibration as an hls4ml graph beside its vendor figures (docs/estimation.md).

Three sources: the published designs (rebuilt with weights of the same shape, sparsity and quantization), the
C-synthesis baselines of hls4ml's own CI (rebuilt from the model each names, with its initializers), and the
public hls4ml projects with their real trained weights (projects/ and projects2/, converted from their own
hls4ml_config.yml). Each row names its design (`group`: rows of one model and weights) and its origin (`origin`:
repository and tool), the units left out together when the error is measured out of sample.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from codesign.hls4ml_graph import hls4ml_graph


@dataclass(frozen=True)
class Design:
    """One calibration row's architecture and hls4ml settings."""

    row_id: str
    build: Callable[[np.random.Generator], object]
    backend: str
    io_type: str
    strategy: str
    reuse_factor: int
    part: str
    clock_ns: float = 5.0
    precision: str = "fixed<16,6>"
    uncertainty: float | None = None  # the clock uncertainty its hls4ml wrote (None: hls4ml 1.3's default of the backend)


def _lecun_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    """Stand-in for trained weights that are not public: the initializer the design was trained from."""
    limit = np.sqrt(3.0 / fan_in)
    return rng.uniform(-limit, limit, size=shape)


def _glorot_uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int) -> np.ndarray:
    """Keras's default initializer, the stand-in where the design names none."""
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def _prune(weights: np.ndarray, sparsity: float) -> np.ndarray:
    """Magnitude pruning: the smallest `sparsity` fraction of the weights set to zero."""
    if sparsity <= 0:
        return weights
    threshold = np.quantile(np.abs(weights), sparsity)
    return np.where(np.abs(weights) > threshold, weights, 0.0)


def jet_mlp(sparsity: float) -> Callable:
    """Dense 16-64-32-32-5 with relu and softmax (the hls4ml tutorial jet tagger, lecun_uniform initializer)."""

    def build(rng):
        from tensorflow import keras

        inputs = keras.Input((16,), name="inputs")
        x = inputs
        sizes = [16, 64, 32, 32, 5]
        for index, (n_in, n_out) in enumerate(zip(sizes, sizes[1:]), start=1):
            dense = keras.layers.Dense(n_out, name=f"fc{index}")
            x = dense(x)
            dense.set_weights([_prune(_lecun_uniform(rng, (n_in, n_out), n_in, n_out), sparsity), rng.normal(0, 0.1, n_out)])
            x = keras.layers.Activation("relu" if n_out != 5 else "softmax", name=f"act{index}")(x)
        return keras.Model(inputs, x)

    return build


def svhn_cnn(rng):
    """The hls4ml paper/tutorial SVHN CNN, 50% of the weights zero; batchnorm folded into the weights before
    (as in the published design, whose report has no batchnorm instance), so it is left out here."""
    from tensorflow import keras

    inputs = keras.Input((32, 32, 3), name="inputs")
    x = inputs
    channels = 3
    for index, filters in enumerate((16, 16, 24), start=1):
        conv = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"conv{index}")
        x = conv(x)
        conv.set_weights([_prune(_glorot_uniform(rng, (3, 3, channels, filters), 9 * channels, 9 * filters), 0.5)])
        x = keras.layers.Activation("relu", name=f"relu{index}")(x)
        x = keras.layers.MaxPooling2D(2, name=f"pool{index}")(x)
        channels = filters
    x = keras.layers.Flatten(name="flatten")(x)
    n_in = 2 * 2 * 24
    for index, units in enumerate((42, 64), start=1):
        dense = keras.layers.Dense(units, use_bias=False, name=f"dense{index}")
        x = dense(x)
        dense.set_weights([_prune(_glorot_uniform(rng, (n_in, units), n_in, units), 0.5)])
        x = keras.layers.Activation("relu", name=f"relu_dense{index}")(x)
        n_in = units
    output = keras.layers.Dense(10, name="output")
    x = output(x)
    output.set_weights([_prune(_glorot_uniform(rng, (n_in, 10), n_in, 10), 0.5), np.zeros(10)])
    x = keras.layers.Activation("softmax", name="softmax")(x)
    return keras.Model(inputs, x)


PUBLISHED_DESIGNS = {
    design.row_id: design
    for design in (
        # written by hls4ml 0.8, whose project.tcl sets a 12.5% clock uncertainty for its Vitis backend too (hls4ml 1.3: 27%)
        Design("tut_p1_vitis2024", jet_mlp(0.0), "Vitis", "io_parallel", "Latency", 1, "xcu250-figd2104-2L-e", uncertainty=0.125),
        Design("tut_p3_pruned75_vitis2024", jet_mlp(0.75), "Vitis", "io_parallel", "Latency", 1, "xcu250-figd2104-2L-e", uncertainty=0.125),
        Design("tut_p6_cnn_pruned_vhls2020", svhn_cnn, "Vivado", "io_stream", "Latency", 1, "xcu250-figd2104-2L-e"),
        Design("hls4ml_ci_conv2d_vitis2024", lambda rng: ci_model(CI_CONV2D, rng), "Vitis", "io_parallel", "Resource", 1, "xcvu13p-flga2577-2-e"),
    )
}
PUBLISHED_ORIGINS = {  # repository and tool of each published row
    "tut_p1_vitis2024": ("fastmachinelearning/hls4ml-tutorial", "Vitis HLS 2024.1"),
    "tut_p3_pruned75_vitis2024": ("fastmachinelearning/hls4ml-tutorial", "Vitis HLS 2024.1"),
    "tut_p6_cnn_pruned_vhls2020": ("fastmachinelearning/hls4ml-tutorial", "Vivado HLS 2020.1"),
    "hls4ml_ci_conv2d_vitis2024": ("fastmachinelearning/hls4ml", "Vitis HLS 2024.1"),
}
# Published rows whose C-synthesis report is in the calibration, for its per-layer instances (README.md). The SVHN CNN's
# report is also its project's (nycu-pcs-lab's pruned_cnn, one group when left out): read there, not twice.
PUBLISHED_REPORTS = {"tut_p1_vitis2024": "reports/jet_mlp_16b_rf1_csynth_excerpt.txt"}
PUBLISHED_KINDS = {"tut_p1_vitis2024": "MLP", "tut_p3_pruned75_vitis2024": "MLP", "tut_p6_cnn_pruned_vhls2020": "CNN", "hls4ml_ci_conv2d_vitis2024": "conv2d"}
SAME_DESIGN_AS = {  # published rows whose design is also a CI row or a project: one group when left out
    "hls4ml_ci_conv2d_vitis2024": "conv2d",
    "tut_p6_cnn_pruned_vhls2020": "nycu-pcs-lab__hls4ml_tuto_extension_vivadoflow__pruned_cnn",
}
CI_CONV2D = "Input(28,28,3) -> Conv2D(filters=32, kernel=(4,4), strides=(4,4), padding='same', use_bias=False, kernel_initializer='normal'"
METRIC_COLUMNS = {"latency_cycles": "latency_cycles", "ii": "ii", "dsp": "dsp", "lut": "lut", "ff": "ff", "bram_18k": "bram18k"}


@dataclass
class Row:
    """One vendor result and the design it came from, ready to convert."""

    id: str
    group: str  # rows of one design (same model, same weights) are left out together
    source: str  # published, hls4ml CI, project
    kind: str  # what the design is, for the error table per kind
    backend: str
    io_type: str
    strategy: str
    reuse_factor: int
    part: str
    clock_ns: float
    published: dict
    convert: Callable[[], object]
    multipliers: str = "auto"  # "fabric" where the build forced multiplications into logic
    repository: str = ""  # owner/repository the design comes from
    tool: str = ""  # the vendor tool and version its figures come from
    project: object | None = None  # the hls4ml project a real-weight row converts (its model can be redrawn untrained)
    fitted: bool = True  # False: shown, not fitted (hls4ml < 0.5 kernels hls4ml 1.3 does not build; a report of another build)
    folder: Path | None = None  # the project folder (its csynth report has the per-layer instances)
    report: Path | None = None  # a published row's C-synthesis report, where the calibration has one (PUBLISHED_REPORTS)
    uncertainty: float | None = None  # the build's clock uncertainty (fraction of the clock); None: hls4ml 1.3's default of the backend
    declared_widths: bool = True  # False: HGQ's per-value quantizers, whose declared types are upper bounds

    @property
    def origin(self) -> str:
        """Repository and tool: rows of one origin are not independent (left out together)."""
        return f"{self.repository} · {self.tool}"

    @property
    def design_kind(self) -> str:
        """MLP, io_parallel CNN, io_stream CNN or single layer: the kinds the error tables are given per."""
        if self.source == "hls4ml CI" or self.kind in ("conv2d", "dense + activation", "depthwise", "pooling"):
            return "single layer"
        return "MLP" if self.kind == "MLP" else f"{self.io_type} CNN"


def _published(row: dict) -> dict:
    return {metric: int(row[column]) for metric, column in METRIC_COLUMNS.items()}


def _convert(build: Callable, backend: str, io_type: str, strategy: str, reuse: int, part: str, clock_ns: float,
             precision: str = "fixed<16,6>", granularity: str = "model") -> Callable[[], object]:
    """A function that builds the Keras model (seeded) and converts it as hls4ml's Python API would."""

    def convert(seed: int = 0):
        import contextlib
        import io

        import hls4ml

        model = build(np.random.default_rng(seed))
        with contextlib.redirect_stdout(io.StringIO()):
            config = hls4ml.utils.config_from_keras_model(model, granularity=granularity, backend=backend, default_precision=precision)
        config["Model"]["Strategy"] = strategy
        config["Model"]["ReuseFactor"] = reuse
        return hls4ml_graph(model, config, "hls4ml 1.3 cannot convert this calibration design", backend=backend, io_type=io_type, part=part,
                            clock_period=clock_ns)

    return convert


def published_rows(folder: Path) -> list[Row]:
    """published_synthesis.csv: the tutorial's jet MLPs and SVHN CNN, and one CI conv2d."""
    rows = []
    for row in _read_csv(folder / "published_synthesis.csv"):
        design = PUBLISHED_DESIGNS[row["id"]]
        group = SAME_DESIGN_AS.get(design.row_id, design.row_id)
        rows.append(Row(row["id"], group, "published", PUBLISHED_KINDS[row["id"]], design.backend, design.io_type, design.strategy,
                        design.reuse_factor, design.part, design.clock_ns, _published(row),
                        _convert(design.build, design.backend, design.io_type, design.strategy, design.reuse_factor, design.part, design.clock_ns, design.precision),
                        repository=PUBLISHED_ORIGINS[row["id"]][0], tool=PUBLISHED_ORIGINS[row["id"]][1],
                        report=folder / PUBLISHED_REPORTS[row["id"]] if row["id"] in PUBLISHED_REPORTS else None, uncertainty=design.uncertainty))
    return rows


def ci_rows(folder: Path) -> list[Row]:
    """hls4ml_ci_baselines.csv: each baseline rebuilt from the pytest model it names."""
    rows = []
    for row in _read_csv(folder / "hls4ml_ci_baselines.csv"):
        text, quantization = row["model"], row["quantization"]
        backend = "Vivado" if row["tool"].startswith("Vivado") else "Vitis"
        precision = re.search(r"default_precision='([^']+)'", quantization)
        granularity = "name" if "granularity='name'" in quantization else "model"
        build = _ci_builder(text)
        rows.append(Row(
            row["id"], _ci_group(text), "hls4ml CI", _ci_kind(text), backend, row["io_type"], row["strategy"], int(row["reuse_factor"]),
            row["part"], float(row["clock_ns"]), _published(row),
            _convert(build, backend, row["io_type"], row["strategy"], int(row["reuse_factor"]), row["part"], float(row["clock_ns"]),
                     precision.group(1) if precision else "fixed<16,6>", granularity),
            repository=_repository(row["source"]), tool=_tool(row["tool"]),
        ))
    return rows


def project_rows(folder: Path) -> list[Row]:
    """projects.csv: real hls4ml projects with their trained weights, converted from their own config."""
    from codesign.estimate.project import convert_project, read_project

    rows = []
    for row in _read_csv(folder / "projects.csv"):
        project = _as_synthesized(read_project(folder / "projects" / row["id"]), row)
        group = re.sub(r"__hls4ml_prj__(DSP|LUT)_reuse\d+$|__LeNet_\w+$", "", row["id"])
        kind = "CNN" if "conv" in row["layers"] else "MLP"
        rows.append(Row(
            row["id"], group, "project", kind, project.backend, project.io_type, project.strategy, project.reuse_factor,
            project.part, project.clock_ns, _published(row), lambda seed=0, project=project: convert_project(project),
            multipliers="fabric" if "-impl fabric" in row["notes"] else "auto", repository=_repository(row["repo_commit"]),
            tool=_tool(row["tool"]), fitted=not _report_of_another_build(row),
            project=project, folder=folder / "projects" / row["id"], uncertainty=_uncertainty(folder / "projects" / row["id"], project.clock_ns),
        ))
    return rows


def _report_of_another_build(row: dict) -> bool:
    """A build that forced every multiplication into logic (`config_op mul -impl fabric`) whose report holds DSPs: the
    report is not of that build. ArgyKokk's jet_tagging LUT_reuse1 holds its DSP_reuse1 build's report byte for byte
    (814 DSP, the same 3.236 ns estimated clock, where its other fabric builds estimate 7.947 ns): shown, not fitted."""
    return "-impl fabric" in row["notes"] and int(row["dsp"]) > 0


SAME_DESIGN_IN_PROJECTS2 = {  # projects2 rows that are one model with one set of weights (projects2.csv notes)
    "Lrozzy__hls4ml_OpenML__model_2.2_hls4ml_prj_prune_90": "Lrozzy__hls4ml_OpenML__model_2.1_hls4ml_prj_prune_60",
    "nicologhielmetti__hls4ml-pynq__dma_test_pynq_float_cpp_nn_v2": "nicologhielmetti__hls4ml-pynq__dma_test_pynq_ap_fixed_cpp_nn_v2",
    "nicologhielmetti__hls4ml-pynq__dma_test_pynq_stream_cpp_nn_v3": "nicologhielmetti__hls4ml-pynq__dma_test_pynq_ap_fixed_cpp_nn_v2",
    "uw-acme__HLS4ML_-NeutDetector__src_hdl_IGNORE_uplane-test": "uw-acme__HLS4ML_-NeutDetector__src_hdl_IGNORE_uplane-reuse16",
    "uw-acme__HLS4ML_-NeutDetector__src_hdl_IGNORE_uplane_reuse12_implementation": "uw-acme__HLS4ML_-NeutDetector__src_hdl_IGNORE_uplane-reuse16",
}


def projects2_rows(folder: Path) -> list[Row]:
    """projects2.csv: each project as `codesign estimate PROJECT` reads it, from its Keras model where this stack loads
    it, else from the firmware hls4ml wrote (HGQ, QDenseBatchnorm, no model, no config)."""
    from codesign.errors import ModelError
    from codesign.estimate.firmware import HGQ_UNKNOWN_WIDTHS
    from codesign.estimate.project import design_of, read_project

    rows = []
    for row in _read_csv(folder / "projects2.csv"):
        path = folder / "projects2" / row["id"]
        graph, settings, notes = design_of(path)  # converted once: the row's graph
        try:
            project = None if any(note.startswith("estimated from the firmware") for note in notes) else read_project(path)
        except ModelError:
            project = None
        kind = "CNN" if "conv" in row["layers"] else "MLP"
        rows.append(Row(
            row["id"], SAME_DESIGN_IN_PROJECTS2.get(row["id"], row["id"]), "project", kind, settings["backend"], settings["io_type"],
            settings["strategy"], int(settings["reuse_factor"]), settings["part"], float(settings["clock_ns"]), _published(row),
            lambda seed=0, graph=graph: graph, repository=_repository(row["repo_commit"]), tool=_tool(row["tool"]), project=project,
            fitted=not any("hls4ml < 0.5" in note for note in notes), folder=path,
            declared_widths=not any(note.startswith(HGQ_UNKNOWN_WIDTHS) for note in notes),
            uncertainty=_uncertainty(path, float(settings["clock_ns"])),
        ))
    return rows


def _uncertainty(folder: Path, clock_ns: float) -> float | None:
    """The clock uncertainty a project's build used, as `codesign estimate PROJECT` reads it."""
    from codesign.estimate.project import clock_uncertainty_of_build

    return clock_uncertainty_of_build(folder, clock_ns)[0]


def _tool(tool: str) -> str:
    """The vendor tool and version, without the remarks in brackets."""
    return re.sub(r"\s*\(.*\)", "", tool).strip()


def _repository(source: str) -> str:
    """owner/repository of a `owner/repository@commit ...` source."""
    return source.split("@", 1)[0].split()[0]


def _as_synthesized(project, row: dict):
    """The project with the clock and reuse factor its report was synthesized with (projects.csv): the six MLPs
    share one hls4ml_config.yml (reuse factor 1, 5 ns) across builds whose firmware was set by hand."""
    reuse = max(int(value) for value in row["reuse_factors"].split("/"))  # "1/2": layers built at 1 and 2
    project.clock_ns = float(row["clock_ns"])
    project.reuse_factor = reuse
    project.hls_config["Model"]["ReuseFactor"] = reuse
    for settings in (project.hls_config.get("LayerName") or {}).values():
        if isinstance(settings, dict) and "ReuseFactor" in settings:
            settings["ReuseFactor"] = reuse
    return project


# N-TORC's hidden Dense layers are at most 64 wide (ntorc/README.md), so a Dense of more inputs is a network's first,
# after the Flatten of a Conv1D's filters (16 or 32) or an LSTM's units (8, 16 or 32) that io_stream keeps as its
# producer's words. Which one is not recorded (the tables hold medians over networks); 16 a word is the grid's common
# width, and the medians say it: the Resource rows of 256-2048 inputs take 7 + n_in / 16 cycles over their reuse factor.
NTORC_HIDDEN_MAX = 64
NTORC_FLATTEN_WORD = 16
NTORC = ("HeRCLab/N-TORC", "Vivado HLS 2019.1", "xczu7ev-ffvc1156-2-e", 4.0, "ap_fixed<16,8,AP_RND,AP_SAT>")  # ntorc/README.md


def ntorc_layer_rows(folder: Path) -> list[Row]:
    """ntorc/ntorc_layers_unique.csv: N-TORC's Dense, Conv1D and LSTM layers (one row per configuration, Vivado HLS
    2019.1, io_stream, 16 bits), each rebuilt alone (a hidden Dense after an Input of n_in, a first one after a Flatten;
    Conv1D kernel 3, padding same, over the inferred length; an LSTM returning its sequence, hls4ml 1.3 giving its
    recurrent kernel the reuse factor); `published` is the layer's own instance in their reports."""
    import tensorflow as tf

    repository, tool, part, clock_ns, precision = NTORC
    rows, built = [], {}  # built: the Keras model per shape and seed; 414 configurations have 74 shapes (their reuse factors differ)
    for row in _read_csv(folder / "ntorc" / "ntorc_layers_unique.csv"):
        n_in, n_out, reuse = int(row["n_in"]), int(row["n_out"]), int(row["reuse_factor_requested"])
        if row["layer_type"] == "Dense" and n_in > NTORC_HIDDEN_MAX:  # a network's first Dense: it reads a Flatten's stream
            shape = (n_in // NTORC_FLATTEN_WORD, NTORC_FLATTEN_WORD)
            layers = lambda n_out=n_out: [tf.keras.layers.Flatten(), tf.keras.layers.Dense(n_out, name="layer")]  # noqa: E731
        elif row["layer_type"] == "Dense":
            shape, layers = (n_in,), lambda n_out=n_out: [tf.keras.layers.Dense(n_out, name="layer")]  # noqa: E731
        elif row["layer_type"] == "Conv1D":
            shape = (int(row["seq_len_inferred"]), n_in)
            layers = lambda n_out=n_out: [tf.keras.layers.Conv1D(n_out, 3, padding="same", name="layer")]  # noqa: E731
        else:  # LSTM over its time steps, each reading a word of n_in values (a Conv1D's filters before it)
            shape = (int(row["seq_len_inferred"]), n_in)
            layers = lambda n_out=n_out: [tf.keras.layers.LSTM(n_out, return_sequences=True, name="layer")]  # noqa: E731

        def build(rng, shape=shape, layers=layers, key=(row["layer_type"], n_in, n_out, row["seq_len_inferred"])):
            seed = int(rng.integers(1 << 30))
            if (key, seed) not in built:
                tf.keras.utils.set_random_seed(seed)
                inputs = outputs = tf.keras.Input(shape, name="features")
                for layer in layers():
                    outputs = layer(outputs)
                built[key, seed] = tf.keras.Model(inputs, outputs)
            return built[key, seed]

        published = {"latency_cycles": int(float(row["latency_max"])), "dsp": round(float(row["dsp"])), "lut": round(float(row["lut"])),
                     "ff": round(float(row["ff"])), "bram_18k": round(float(row["bram_18k"])), "ii": 0}
        name = f"ntorc_{row['layer_type']}_{n_in}x{n_out}_L{row['seq_len_inferred']}_rf{reuse}"
        rows.append(Row(name, name, "N-TORC", row["layer_type"].lower(), "Vivado", "io_stream", row["strategy"], reuse, part, clock_ns, published,
                        _convert(build, "Vivado", "io_stream", row["strategy"], reuse, part, clock_ns, precision), repository=repository, tool=tool))
    return rows


def ntorc_layers(folder: Path, progress: Callable | None = None) -> list:
    """N-TORC's configurations converted and reduced to their one layer (fit.LayerRow), with progress per row."""
    rows = ntorc_layer_rows(folder)
    found = []
    for index, row in enumerate(rows, start=1):
        found.append(ntorc_layer(row))
        if progress:
            progress(index, len(rows), row.id)
    return found


def ntorc_layer(row: Row):
    """One N-TORC configuration converted and reduced to its one layer (fit.LayerRow)."""
    from codesign.estimate.fit import LayerRow

    sample = _sample(row, row.convert())
    layer = next(features for features in sample.features if features["name"] == "layer")
    return LayerRow(row.id, f"{row.kind} · {row.strategy}", layer, row.published, sample.timing)


def all_rows(folder: Path) -> list[Row]:
    return published_rows(folder) + ci_rows(folder) + project_rows(folder) + projects2_rows(folder)


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as stream:
        return list(csv.DictReader(stream))


def _ci_kind(text: str) -> str:
    for pattern, kind in (("Depthwise", "depthwise"), ("Pooling", "pooling"), ("Conv2D", "conv2d"), ("Dense", "dense + activation")):
        if pattern in text:
            return kind
    raise ValueError(f"unknown CI model: {text}")


def _ci_group(text: str) -> str:
    """The model without its tool and io type: a Dense+ReLU synthesized four ways is one design (the CI's one
    conv2d is also a published row)."""
    if _ci_kind(text) == "conv2d":
        return "conv2d"
    return re.sub(r"\s+", " ", text.split("->", 1)[1] if "->" in text else text).strip()


def _ci_builder(text: str) -> Callable:
    return lambda rng: ci_model(text, rng)


def ci_model(text: str, rng: np.random.Generator):
    """The Keras model a CI baseline names (Input shape, one weighted or pooling layer, an activation)."""
    from tensorflow import keras

    shape = tuple(int(value) for value in re.search(r"Input\(([\d,\s]+)\)", text).group(1).split(",") if value.strip())
    inputs = keras.Input(shape)
    if "Pooling" in text:
        match = re.search(r"(Average|Max)Pooling([12])D\(pool_size=\(?(\d+)", text)
        padding = "same" if "padding='same'" in text else "valid"
        layer = getattr(keras.layers, f"{match.group(1)}Pooling{match.group(2)}D")(int(match.group(3)), padding=padding)
        return keras.Model(inputs, layer(inputs))
    if "Depthwise" in text:
        dims = 1 if "DepthwiseConv1D" in text else 2
        layer = (keras.layers.DepthwiseConv1D if dims == 1 else keras.layers.DepthwiseConv2D)(3)
        outputs = layer(inputs)
        kernel, bias = layer.get_weights()
        fan_in, fan_out = 3**dims, 3**dims  # glorot_uniform of a depthwise kernel (one channel each)
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        layer.set_weights([rng.uniform(-limit, limit, kernel.shape), np.zeros_like(bias)])
        return keras.Model(inputs, outputs)
    if "Conv2D" in text:
        conv = keras.layers.Conv2D(32, 4, strides=4, padding="same", use_bias=False)
        outputs = conv(inputs)
        conv.set_weights([rng.normal(0.0, 0.05, (4, 4, shape[-1], 32))])  # Keras 'normal' is N(0, 0.05)
        return keras.Model(inputs, outputs)
    units = int(re.search(r"Dense\((\d+)", text).group(1))
    dense = keras.layers.Dense(units, name="Dense")
    x = dense(inputs)
    if "RandomUniform(1,10)" in text:
        kernel = rng.uniform(1.0, 10.0, (shape[0], units))
    else:  # lecun_uniform
        limit = np.sqrt(3.0 / shape[0])
        kernel = rng.uniform(-limit, limit, (shape[0], units))
    dense.set_weights([kernel, np.zeros(units)])
    activation = text.rsplit("->", 1)[1]
    if "LeakyReLU" in activation:
        x = keras.layers.LeakyReLU(alpha=1.0)(x)
    elif "PReLU" in activation:
        x = keras.layers.PReLU(alpha_initializer="zeros")(x)
    elif "ELU(" in activation and "Activation" not in activation:
        x = keras.layers.ELU(alpha=1.0)(x)
    else:
        x = keras.layers.Activation(re.search(r"Activation\('(\w+)'\)", activation).group(1))(x)
    return keras.Model(inputs, x)


def _sample(row: Row, graph):
    from codesign.estimate.features import design_features, family_of, scheduler_of, tool_era
    from codesign.estimate.fit import Sample
    from codesign.estimate.model import Timing
    from codesign.parts import part_or_unlisted

    family = family_of(part_or_unlisted(row.part)[0].base)
    features = design_features(graph, row.io_type, family, row.multipliers, row.backend, row.tool)
    return Sample(row.id, row.group, row.kind, row.source, Timing(row.clock_ns, row.backend, family, row.io_type, scheduler_of(row.tool, row.backend),
                                                                 graph.config.pipeline_style, row.uncertainty, tool_era(row.tool, row.backend)), features,
                  row.published, row.repository, row.tool, row.design_kind, row.fitted, _report_instances(row), row.declared_widths)


def _report_instances(row: Row) -> list[dict]:
    """The per-layer instances of the row's C-synthesis report: a project's, or a published row's (none for CI rows)."""
    from codesign.estimate.vendor import csynth_reports, parse_csynth

    reports = [row.report] if row.report is not None else csynth_reports(row.folder) if row.folder is not None else []
    return parse_csynth(reports[0])["instances"] if reports else []


def samples(folder: Path, progress: Callable | None = None) -> list:
    """Every row converted and reduced to its features (what fit.py needs), with progress per row."""
    rows = all_rows(folder)
    found = []
    for index, row in enumerate(rows, start=1):
        found.append(_sample(row, row.convert()))
        if progress:
            progress(index, len(rows), row.id)
    return found


def untrained_twins(folder: Path, progress: Callable | None = None) -> list[tuple]:
    """For one row of each real-weight design (multipliers as hls4ml wrote them), the sample of its trained model
    and of the same model with every weight redrawn from its initializer (Keras clone_model, seeded): what
    training does to a design's cost; and whether each of the two is called untrained."""
    import tensorflow as tf

    from codesign.estimate.project import convert_project
    from codesign.estimate.weights import untrained
    from codesign.model import custom_objects, load_keras_model

    rows, seen = [], set()
    for row in all_rows(folder):
        if row.project is not None and row.multipliers == "auto" and row.group not in seen:
            seen.add(row.group)
            rows.append(row)
    twins = []
    for index, row in enumerate(rows, start=1):
        tf.keras.utils.set_random_seed(0)
        trained = load_keras_model(row.project.model_path, hgq=False)
        with tf.keras.utils.custom_object_scope(custom_objects()):
            redrawn = tf.keras.models.clone_model(trained)
        twins.append((_sample(row, convert_project(row.project, trained)), _sample(row, convert_project(row.project, redrawn)),
                      untrained(trained) is not None, untrained(redrawn) is not None))
        if progress:
            progress(index, len(rows), row.id)
    return twins
