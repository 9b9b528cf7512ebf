"""Fixed-point types in one place: ap_fixed and hls4ml type text, ranges, rounding and overflow, exact quantization.

Values are held as integer "raw" values in float64 (exact below 2^52; past that Unrepresentable is raised) or
float32 while they stay below 2^23, with value = raw / 2^frac.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

ROUNDING = ("TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_INF", "RND_MIN_INF", "RND_CONV")
SATURATION = ("WRAP", "SAT", "SAT_ZERO", "SAT_SYM")
EXACT_FLOAT = 2.0**52  # every integer below this magnitude is exact in float64
EXACT_FLOAT32 = 2.0**24  # ... and in float32
SMALL = 2.0**23  # below this, float32 rounding and overflow arithmetic stay exact

_AP_TEXT = re.compile(r"^ap_(u?)fixed<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(?:AP_)?([A-Z_]+)\s*)?(?:,\s*(?:AP_)?([A-Z_]+)\s*)?>$")  # modes as C++ (AP_SAT) or hls4ml (SAT) spell them
_HLS4ML_TEXT = re.compile(
    r"^(?:ap_)?(u?)(fixed|int)<\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?(?:,\s*(?:AP_)?([A-Z_]+)\s*)?(?:,\s*(?:AP_)?([A-Z_]+)\s*)?(?:,\s*\d+\s*)?>$"
)


@dataclass(frozen=True)
class Fixed:
    """An ap_fixed / ap_ufixed type: width, integer bits (sign included), rounding and overflow modes."""

    width: int
    integer: int
    signed: bool
    rounding: str = "TRN"
    saturation: str = "WRAP"

    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def low(self) -> float:
        """Smallest raw value of the type."""
        return -(2.0 ** (self.width - 1)) if self.signed else 0.0

    @property
    def high(self) -> float:
        """Largest raw value of the type."""
        return 2.0 ** (self.width - 1) - 1 if self.signed else 2.0**self.width - 1

    @property
    def largest(self) -> float:
        """Largest value of the type."""
        return self.high * 2.0**-self.frac

    @property
    def lsb(self) -> float:
        """The type's resolution."""
        return 2.0**-self.frac

    @classmethod
    def of(cls, description: dict) -> "Fixed":
        """From the plain description codesign_graph.json holds."""
        return cls(description["width"], description["integer"], description["signed"], description["rounding"], description["saturation"])

    @classmethod
    def parse_ap(cls, text: str) -> "Fixed":
        """'ap_fixed<W,I[,Q[,O]]>' / 'ap_ufixed<...>' as a user writes it; ValueError naming what is wrong."""
        match = _AP_TEXT.match(text.strip())
        if not match:
            raise ValueError(f"'{text}' is not 'ap_fixed<W,I>' (or ap_ufixed, optionally with rounding and overflow modes)")
        unsigned, width, integer, rounding, saturation = match.groups()
        if not 1 <= int(width) <= 64:
            raise ValueError(f"'{text}': width must be 1..64")
        if rounding and rounding not in ROUNDING or saturation and saturation not in SATURATION:
            raise ValueError(f"'{text}': modes must be one of {', '.join(ROUNDING)} then {', '.join(SATURATION)}")
        return cls(int(width), int(integer), not unsigned, rounding or "TRN", saturation or "WRAP")

    @classmethod
    def parse(cls, text: str) -> "Fixed | None":
        """Any fixed-point text hls4ml or a user writes ('fixed<16,6,RND_CONV,SAT>', 'uint<3>', 'ap_fixed<8,3>'); None otherwise."""
        match = _HLS4ML_TEXT.match((text or "").strip())
        if not match:
            return None
        unsigned, kind, width, integer, rounding, saturation = match.groups()
        integer = width if kind == "int" else integer
        if integer is None:
            return None
        return cls(int(width), int(integer), not unsigned, rounding or "TRN", saturation or "WRAP")

    def hls4ml(self) -> str:
        """The text hls4ml's config takes."""
        return f"{'' if self.signed else 'u'}fixed<{self.width},{self.integer},{self.rounding},{self.saturation}>"

    def ap(self) -> str:
        """The C++ type name."""
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer},AP_{self.rounding},AP_{self.saturation}>"


XNOR_VALUES = Fixed(2, 2, True)  # the -1 and +1 that hls4ml's xnor bits (0 for -1, 1 for +1) stand for where a product decodes them


def is_xnor(precision) -> bool:
    """hls4ml's xnor type (a binary kernel's weights, a merged binary activation's output): 0 for -1, 1 for +1."""
    return any("Xnor" in cls.__name__ for cls in type(precision).__mro__)


def of_precision(precision) -> Fixed | None:
    """An hls4ml precision object (fixed or integer) as a Fixed; None for other kinds (exponent, xnor, text), whose
    values hls4ml encodes its own way (a binary weight is stored as 0/1 and multiplies by negating)."""
    kinds = {cls.__name__ for cls in type(precision).__mro__}
    if not hasattr(precision, "width") or not hasattr(precision, "integer") or is_xnor(precision) or any("Exponent" in kind for kind in kinds):
        return None
    return Fixed(
        int(precision.width),
        int(precision.integer),
        bool(precision.signed),
        getattr(getattr(precision, "rounding_mode", None), "name", "TRN"),
        getattr(getattr(precision, "saturation_mode", None), "name", "WRAP"),
    )


def exact_type_of(values: np.ndarray, max_width: int = 32) -> tuple[Fixed, bool]:
    """The narrowest type holding every value exactly, and True; or a max_width type covering their range, and False."""
    values = np.asarray(values, dtype=np.float64)
    largest = float(np.abs(values).max(initial=0.0))
    signed = bool((values < 0).any())
    for frac in range(0, max_width + 1):
        scaled = values * 2.0**frac
        if np.array_equal(scaled, np.round(scaled)):
            integer = _integer_bits(values, frac, signed)
            if integer + frac <= max_width:
                return Fixed(integer + frac, integer, signed), True
            break
    integer = _integer_bits(values, 0, signed) if largest else 1
    return Fixed(max_width, integer, signed), False


def _integer_bits(values: np.ndarray, frac: int, signed: bool) -> int:
    """Integer bits (sign included) so that every value, with `frac` fraction bits, is inside the type's range."""
    integer = 1 if signed else 0
    raw = np.round(values * 2.0**frac)
    while True:
        fixed = Fixed(integer + frac, integer, signed)
        if integer + frac > 0 and float(raw.min(initial=0)) >= fixed.low and float(raw.max(initial=0)) <= fixed.high:
            return integer
        integer += 1


class Unrepresentable(ValueError):
    """A value grew past what float64 holds exactly: the vectorized emulator cannot vouch for it."""


def quantize(raw: np.ndarray, frac: int, target: Fixed) -> np.ndarray:
    """Convert raw values (integers held in float64, or float32 when small) with `frac` fraction bits into `target`:
    rounding first, then overflow, as ap_fixed does. Scaling by a power of two is exact in binary floating point;
    float32 is kept only while every value, before and after, stays below 2^23 (exact with a bit to spare)."""
    shift = target.frac - frac
    if shift == 0 and _within(raw, target):
        return raw  # already a value of the target type: no copy (callers never modify inputs in place)
    narrow = (
        raw.dtype == np.float32 and target.width <= 23 and abs(shift) <= 20  # +-0.5 in rounding stays exact too
        and max_abs(raw) * 2.0 ** max(shift, 0) < SMALL
    )
    scaled = np.multiply(raw, 2.0**shift, dtype=np.float32 if narrow else np.float64)
    if target.frac < frac:
        scaled = _round(scaled, target.rounding)
    return overflow(scaled, target)


def _within(raw: np.ndarray, target: Fixed) -> bool:
    """Whether integer raw values already fit the target's range."""
    return not raw.size or (float(raw.min()) >= target.low and float(raw.max()) <= target.high)


def holds(fixed: Fixed, values: np.ndarray) -> bool:
    """Whether every value is exactly one of the type's: on its grid and inside its range."""
    raw = np.asarray(values, dtype=np.float64) * 2.0**fixed.frac
    return bool(np.array_equal(raw, np.round(raw))) and _within(raw, fixed)


def max_abs(values: np.ndarray) -> float:
    return max(-float(values.min()), float(values.max())) if values.size else 0.0


def from_float(values: np.ndarray, target: Fixed) -> np.ndarray:
    """double -> ap_fixed raw values, rounded and overflowed per the type's modes."""
    return overflow(_round(np.asarray(values, dtype=np.float64) * 2.0**target.frac, target.rounding), target)


def _round(scaled: np.ndarray, mode: str) -> np.ndarray:
    """Round to integers the way ap_fixed's quantization mode says."""
    if mode == "TRN":
        return np.floor(scaled, out=scaled)
    if mode == "TRN_ZERO":
        return np.trunc(scaled, out=scaled)
    if mode == "RND_CONV":
        return np.round(scaled, out=scaled)  # numpy rounds ties to even
    if mode == "RND":
        return np.floor(scaled + 0.5)
    if mode == "RND_MIN_INF":
        return np.ceil(scaled - 0.5)
    tie = (scaled - np.floor(scaled)) == 0.5
    if mode == "RND_ZERO":
        return np.where(tie, np.trunc(scaled), np.floor(scaled + 0.5))
    return np.where(tie, np.floor(scaled) + (scaled > 0), np.floor(scaled + 0.5))  # RND_INF: ties away from zero


def overflow(raw: np.ndarray, target: Fixed) -> np.ndarray:
    """Bring integers into the type's range: wrap (two's complement), saturate, or the other ap_fixed modes."""
    low, high = target.low, target.high
    if target.saturation in ("SAT", "SAT_SYM"):  # clipping is exact even for values past 2^52: no range check
        return np.clip(raw, -high if target.saturation == "SAT_SYM" and target.signed else low, high, out=raw)
    smallest, largest = (float(raw.min()), float(raw.max())) if raw.size else (0.0, 0.0)
    if smallest < low or largest > high:
        if max(-smallest, largest) >= EXACT_FLOAT:
            raise Unrepresentable(f"a value reached {max(-smallest, largest):.3g}")
        if target.saturation == "WRAP":
            return np.mod(raw - low, 2.0**target.width) + low
        return np.where((raw < low) | (raw > high), 0.0, raw)  # SAT_ZERO
    return raw


# --- the exact-type algebra: types that hold a layer's result without rounding or overflow -------------------------


def exact_sum(source: Fixed, weight: Fixed, terms: int, bias: Fixed | None = None) -> Fixed:
    """The type holding every sum of `terms` products source x weight, plus a bias, exactly (signed; the product of
    two unsigned types needs one more bit for the sign)."""
    frac = source.frac + weight.frac
    sign = 0 if source.signed or weight.signed else 1
    integer = source.integer + weight.integer + sign + int(np.ceil(np.log2(terms + 1)))
    if bias is not None:
        frac = max(frac, bias.frac)
        integer = max(integer, bias.integer + (0 if bias.signed else 1)) + 1
    return Fixed(integer + frac, integer, True)


def exact_scale(source: Fixed, scale: Fixed, bias: Fixed | None = None) -> Fixed:
    """The type holding every value of source x scale (+ bias) exactly: an ApplyAlpha or batch-normalization layer."""
    integer, frac = source.integer + scale.integer + (0 if scale.signed else 1), source.frac + scale.frac
    if bias is not None:
        integer, frac = max(integer, bias.integer + 1) + 1, max(frac, bias.frac)
    return Fixed(integer + frac, integer, True)


def covering(inputs: list[Fixed], carry: int = 0, signed: bool = False) -> Fixed:
    """A type holding every value of every input (plus `carry` integer bits for a sum; `signed` for a difference, which
    is negative where the second input is larger, whatever the inputs' signs)."""
    signed = signed or any(source.signed for source in inputs)
    integer = max(source.integer + (1 if signed and not source.signed else 0) for source in inputs) + carry
    frac = max(source.frac for source in inputs)
    return Fixed(integer + frac, integer, signed)


def averaged(source: Fixed, window: int) -> Fixed:
    """Summing `window` values needs log2(window) more integer bits and dividing by it (a power of two) as many
    fraction bits: both grow by that much, and the average is exact."""
    extra = int(np.ceil(np.log2(max(window, 1))))
    return Fixed(source.width + 2 * extra, source.integer + extra, source.signed)


def to_hls4ml(fixed: Fixed):
    """The hls4ml precision object of a Fixed, ready for hls4ml's writer (its ap_fixed definition attached): the one
    conversion from codesign's types to hls4ml's (of_precision is the other way)."""
    from hls4ml.backends.fpga.fpga_types import APTypeConverter
    from hls4ml.model.types import FixedPrecisionType

    return APTypeConverter().convert(FixedPrecisionType(fixed.width, fixed.integer, fixed.signed, fixed.rounding, fixed.saturation))
