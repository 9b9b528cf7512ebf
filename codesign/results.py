"""What the Python API returns for validate.json and estimate.json: their records (codesign/records.py) with display
and what-if behaviour."""

from __future__ import annotations

from pydantic import PrivateAttr

from codesign.records import EstimateRecord, ValidationRecord


class ValidationResult(ValidationRecord):
    """reports/validate.json as the Python API returns it: shown in a notebook, with the first divergence named."""

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

class EstimateResult(EstimateRecord):
    """reports/estimate.json as the Python API returns it; a what-if shows itself beside the run's own estimate."""

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
