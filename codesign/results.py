"""Typed results: what validate.json and estimate.json are written from, and what the Python API returns.

The steps build these models and write their dump, so the files, docs/reports.md and the API cannot drift apart.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, PrivateAttr, model_validator


class ValidationResult(BaseModel):
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

    @property
    def first_divergence(self) -> dict | None:
        """The first firmware layer whose output differs from the model's (name, class, max_abs_diff, why), or None."""
        return self.first_diverging_layer

    def __repr__(self) -> str:
        from codesign.notebook import validation_line

        return f"ValidationResult({validation_line(self.dump())})"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from codesign.notebook import validation_html

        return validation_html(self.dump())

    def dump(self) -> dict:
        """The JSON content: every field, but the warning only when there is one (it comes first)."""
        data = self.model_dump(mode="json")
        if data["warning"] is None:
            del data["warning"]
        if data["firmware_head"] is None:
            del data["firmware_head"]
        return data


class EstimateResult(BaseModel):
    """Resources and latency of a design, per layer and in total (reports/estimate.json; docs/estimation.md)."""

    model_config = ConfigDict(extra="allow")

    total: dict
    layers: list[dict]
    utilization: dict
    interval: dict  # [low, high] per metric (dsp, lut, ff, bram_18k, latency_cycles): where the vendor figure fell for at least 80% of the calibration rows predicted without their source
    _baseline: dict | None = PrivateAttr(default=None)  # a what-if's: the run's own estimate
    _changed: dict = PrivateAttr(default_factory=dict)  # a what-if's: the settings it changed

    @classmethod
    def what_if(cls, estimate: dict, baseline: dict, changed: dict) -> "EstimateResult":
        """An estimate with other settings, that shows itself beside the run's own (`baseline`)."""
        result = cls(**estimate)
        result._baseline, result._changed = baseline, dict(changed)
        return result

    def differences(self) -> list[dict] | None:
        """A what-if against the run's own estimate, per metric (run, what_if, ratio, utilization, differs); None
        for a run's own estimate."""
        from codesign.report.data import estimate_differences

        return estimate_differences(self._baseline, self.dump()) if self._baseline else None

    def __repr__(self) -> str:
        from codesign.notebook import estimate_line

        changed = ", ".join(f"{key}={value}" for key, value in self._changed.items())
        return f"EstimateResult({estimate_line(self.dump())}{'; what-if ' + changed if changed else ''})"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from codesign.notebook import estimate_html

        return estimate_html(self.dump(), self._baseline, self._changed)

    def dump(self) -> dict:
        return self.model_dump(mode="json")
