"""What-if estimates of a converted design: per-layer reuse factor and strategy, part and clock changed without
converting again (docs/fit.md).

hls4ml's conversion sets a weighted layer's `strategy` and `reuse_factor` (snapped to a valid one for the Resource
strategy; an LSTM's or GRU's `recurrent_reuse_factor` too) and the top's pipeline style; nothing else it builds
depends on them. A WhatIf sets exactly those on the
graph it converted once and prices it with the estimator's own code, each layer's features computed once per
setting, so a what-if is identical to the full estimate of the same settings (tests/test_fit.py) in about a
millisecond. Other changes (io type, precision, backend, distributed_arithmetic) change what hls4ml builds: those
convert again.
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.config import HLSSpec
from codesign.estimate.features import family_of, layer_features, with_time_steps, with_top_input
from codesign.estimate.model import load_constants, price_design
from codesign.estimate.run import with_settings
from codesign.estimate.weights import untrained
from codesign.layers import has_resource_kernel, kind_of, resource_reuse_limit, valid_reuse_factors
from codesign.parts import part_or_unlisted

STRATEGIES = ("Latency", "Resource")  # what a what-if can change a layer to; distributed_arithmetic converts again
REBUILT = ("io_type", "precision", "backend", "head", "hls4ml_config")  # settings only a new conversion answers


@dataclass(frozen=True)
class LayerSetting:
    """A weighted layer's strategy and reuse factor, as hls4ml's config spells them (`requested`: the reuse factor
    asked for, where hls4ml moved it: an LSTM's or GRU's recurrent kernel takes the valid one closest to it)."""

    strategy: str
    reuse_factor: int
    requested: int | None = None


class WhatIf:
    """A design converted once under `hls`, estimated under changed per-layer settings, part and clock."""

    def __init__(self, graph, hls: HLSSpec, candidate=None, tool: str | None = None, multipliers: str = "auto"):
        """`candidate`: the conversion's (None: an hls4ml project as configured); `multipliers`: 'fabric' where the
        project's build script forces multiplications into logic."""
        self.graph, self.hls, self.candidate, self.tool, self.multipliers = graph, hls, candidate, tool, multipliers
        self.layers = list(graph.get_layers())
        self._by_name = {layer.name: layer for layer in self.layers}
        self._backend = graph.config.backend
        self._sizes = {layer.name: _mult_size(self._backend, layer) for layer in self.layers if _is_weighted(layer)}
        keras_model = graph.config.config.get("KerasModel")
        named = {layer.name for layer in keras_model.layers} if keras_model is not None else {layer.name for layer in self.layers}
        # what a spec or config sets by name; hls4ml's own splits (a separable convolution's halves) follow the model's setting
        self.weighted = {layer.name: layer for layer in self.layers if self._sizes.get(layer.name) and layer.name in named}
        self._followers = [layer.name for layer in self.layers if self._sizes.get(layer.name) and layer.name not in named]
        self._valid: dict[tuple[int, ...], list[int]] = {}  # (n_in, n_out) -> the reuse factors hls4ml accepts
        self._features: dict[tuple, dict] = {}
        self._drawn = untrained(graph.config.config.get("KerasModel"))
        self._constants = load_constants()
        self._explicit_style = str(graph.config.config["HLSConfig"]["Model"].get("PipelineStyle", "auto") or "auto").lower() != "auto"
        self._partitioned = any(int(layer.get_attr("n_partitions", 1) or 1) != 1 for layer in self.layers if kind_of(layer) is not None
                                and kind_of(layer).convolution)

    def rebuilt_by(self, changed: dict) -> list[str]:
        """The changed settings a what-if of this conversion cannot answer without converting again."""
        return rebuilt_by(self.hls, changed)

    def reuse_factors(self, name: str, strategy: str = "Latency") -> list[int]:
        """The reuse factors hls4ml accepts for a weighted layer (its _validate_reuse_factor over the divisors of
        n_in x n_out; hls4ml itself tries every integer up to that product): a recurrent layer's input kernel's. Under
        the Resource strategy, none past what the layer computes right at (layers.resource_reuse_limit), and none for an
        io_parallel depthwise convolution, for which hls4ml writes no Resource kernel."""
        valid = self._valid_for(self._sizes[name][:2])
        io_type = self.graph.config.get_config_value("IOType")
        if strategy == "Resource" and not has_resource_kernel(self._by_name[name], io_type):
            return []
        limit = resource_reuse_limit(self._by_name[name], io_type) if strategy == "Resource" else None
        return valid if limit is None else [factor for factor in valid if factor <= limit]

    def _valid_for(self, size: tuple[int, ...]) -> list[int]:
        if size not in self._valid:
            self._valid[size] = valid_reuse_factors(self._backend, *size)
        return self._valid[size]

    def settings_of(self, hls: HLSSpec) -> dict[str, LayerSetting]:
        """Each weighted layer's setting as hls4ml would convert `hls`: the layer's override, else the model's; a Resource
        reuse factor hls4ml does not accept moved to the closest one it does (as its conversion warns). Where codesign
        converted it, a setting that came from the model's is moved as its repairs move it: an io_parallel depthwise
        convolution to Latency, a Resource convolution's factor to the largest valid one up to its kernel's inputs."""
        found = {}
        authored = self.candidate is None or self.candidate.configured or hls.hls4ml_config  # no repair moves the author's settings
        io_type = self.graph.config.get_config_value("IOType")
        for name in [*self.weighted, *self._followers]:
            override = hls.layers.get(name) if name in self.weighted else None
            strategy = (override and override.strategy) or hls.strategy
            if strategy == "Resource" and not authored and not (override and override.strategy) and not has_resource_kernel(self._by_name[name], io_type):
                strategy = "Latency"  # repairs.depthwise_convolutions_in_latency
            reuse = (override and override.reuse_factor) or hls.reuse_factor
            requested = int(reuse)
            if strategy == "Resource":
                valid = self.reuse_factors(name)
                reuse = self._backend.get_closest_reuse_factor(valid, reuse)
                limit = resource_reuse_limit(self._by_name[name], io_type)
                if limit is not None and reuse > limit and not authored and not (override and override.reuse_factor):
                    reuse = max(factor for factor in valid if factor <= limit)  # repairs.resource_convolutions_within_their_kernels
            found[name] = LayerSetting(strategy, int(reuse), requested)
        return found

    def estimate(self, hls: HLSSpec) -> dict:
        """The estimate report of `hls` (only its part, clock, strategies and reuse factors may differ from the
        conversion's: see rebuilt_by), identical to converting it."""
        rebuilt = self.rebuilt_by({key: getattr(hls, key) for key in REBUILT})
        if rebuilt:
            raise ValueError(f"a what-if cannot change {', '.join(rebuilt)}: convert again")
        report = self.price(self.settings_of(hls), hls)
        return with_settings(report, hls, self.candidate, self.tool, part_or_unlisted(hls.part)[1])

    def price(self, settings: dict[str, LayerSetting], hls: HLSSpec) -> dict:
        """The estimate with these weighted layers' settings (hls4ml's splits at hls's own, the rest as converted) on
        hls's part and clock."""
        if self._followers:
            settings = {**{name: setting for name, setting in self.settings_of(hls).items() if name in self._followers}, **settings}
        part, _ = part_or_unlisted(hls.part)
        family = family_of(part.base)
        features = [self._layer_features(layer, settings.get(layer.name), family) for layer in self.layers]
        return price_design(with_top_input(with_time_steps(features, self.layers), self.graph, self.hls.io_type), part, hls.clock_ns, self.hls.io_type, self.hls.backend,
                            self.multipliers, self._pipeline_style(hls.strategy, settings), self._drawn, self._constants, self.tool)

    def _layer_features(self, layer, setting: LayerSetting | None, family: str) -> dict:
        key = (layer.name, setting, family)
        if key not in self._features:
            if setting is None:
                self._features[key] = layer_features(layer, self.hls.io_type, family, self.multipliers, self.hls.backend, self.tool)
            else:
                converted = {name: layer.get_attr(name) for name in ("strategy", "reuse_factor", "recurrent_reuse_factor")}
                layer.set_attr("strategy", setting.strategy.lower())
                layer.set_attr("reuse_factor", setting.reuse_factor)
                if len(self._sizes[layer.name]) == 4:  # hls4ml's init_lstm/init_gru: the recurrent kernel at the asked reuse factor, moved
                    asked = setting.requested or setting.reuse_factor  # to its closest valid one for the Resource strategy
                    valid = self._valid_for(self._sizes[layer.name][2:])
                    layer.set_attr("recurrent_reuse_factor", self._backend.get_closest_reuse_factor(valid, asked) if setting.strategy == "Resource" else asked)
                try:
                    self._features[key] = layer_features(layer, self.hls.io_type, family, self.multipliers, self.hls.backend, self.tool)
                finally:
                    for name, value in converted.items():
                        if value is not None or name != "recurrent_reuse_factor":
                            layer.set_attr(name, value)
        return self._features[key]

    def _pipeline_style(self, model_strategy: str, settings: dict[str, LayerSetting]) -> str:
        """hls4ml's SetPipelineStyle: dataflow for io_stream, partitioned convolutions or any Resource layer."""
        if self._explicit_style:
            return self.graph.config.pipeline_style
        resource = model_strategy == "Resource" or any(setting.strategy == "Resource" for setting in settings.values())
        return "dataflow" if self.hls.io_type == "io_stream" or self._partitioned or resource else "pipeline"


def rebuilt_by(converted: HLSSpec, changed: dict) -> list[str]:
    """The settings in `changed` (hls keys) that differ from the conversion's in what hls4ml builds: only a new
    conversion answers them (known before converting anything)."""
    found = [key for key in REBUILT if key in changed and changed[key] != getattr(converted, key)]
    strategies = [changed.get("strategy")] + [entry.get("strategy") for entry in (changed.get("layers") or {}).values() if isinstance(entry, dict)]
    return found + ["strategy distributed_arithmetic" for strategy in strategies if strategy == "distributed_arithmetic"][:1]


def _is_weighted(layer) -> bool:
    """A Dense, convolution, LSTM or GRU whose strategy and reuse factor a what-if may change."""
    kind = kind_of(layer)
    return kind is not None and kind.role in ("weighted", "recurrent") and "weight" in layer.weights \
        and str(layer.get_attr("strategy", "") or "").lower() != "distributed_arithmetic"


def _mult_size(backend, layer) -> tuple[int, ...] | None:
    """hls4ml's (n_in, n_out) of the layer's multiplications (an LSTM's or GRU's: its input kernel's, then its
    recurrent kernel's), or None for a kind it has no such size for."""
    try:
        size = backend.get_layer_mult_size(layer)
    except Exception:  # hls4ml raises a bare Exception for the kinds it does not size
        return None
    return tuple(int(value) for value in size) if isinstance(size, tuple) and len(size) in (2, 4) else None
