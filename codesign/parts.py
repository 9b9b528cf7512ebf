"""FPGA parts hls4ml users pick, with their resources, so a part name can be checked and utilization computed.

Figures are the device totals from the AMD/Xilinx product tables: UltraScale+ (DS890, Alveo data sheets
DS962/DS963/DS965, DS1005), UltraScale (DS890), Zynq UltraScale+ (DS891), Kria K26 (DS987), 7 series (DS180, DS190). BRAM is
counted in 18 Kb blocks (two per 36 Kb block). A part outside the table can still be estimated (unlisted_part):
its family is read from its name and utilization is not computed.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Part:
    base: str
    board: str
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    uram: int
    source: str
    example: str  # a full part number of it (a common board's), as Vivado and Vitis take it

    @property
    def seven_series(self) -> bool:
        """7-series names run the package into the base (xc7z020clg400-1); later families hyphenate (xcu250-figd2104-2L-e)."""
        return self.base.startswith("xc7")


PARTS = {
    part.base: part
    for part in (
        Part("xcu250", "Alveo U250", 12288, 1728000, 3456000, 5376, 1280, "DS962", "xcu250-figd2104-2L-e"),
        Part("xcu200", "Alveo U200", 6840, 1182240, 2364480, 4320, 960, "DS962", "xcu200-fsgd2104-2-e"),
        Part("xcu55c", "Alveo U55C", 9024, 1303680, 2607360, 4032, 960, "DS1005", "xcu55c-fsvh2892-2L-e"),
        Part("xcu280", "Alveo U280", 9024, 1303680, 2607360, 4032, 960, "DS963", "xcu280-fsvh2892-2L-e"),
        Part("xcu50", "Alveo U50", 5952, 872160, 1743360, 2688, 640, "DS965", "xcu50-fsvh2104-2-e"),
        Part("xcvu9p", "Virtex UltraScale+ VU9P", 6840, 1182240, 2364480, 4320, 960, "DS890", "xcvu9p-flga2104-2L-e"),
        Part("xcvu13p", "Virtex UltraScale+ VU13P", 12288, 1728000, 3456000, 5376, 1280, "DS890", "xcvu13p-flga2577-2-e"),
        Part("xczu9eg", "Zynq UltraScale+ ZU9EG (ZCU102)", 2520, 274080, 548160, 1824, 0, "DS891", "xczu9eg-ffvb1156-2-e"),
        Part("xczu3eg", "Zynq UltraScale+ ZU3EG (Ultra96)", 360, 70560, 141120, 432, 0, "DS891", "xczu3eg-sbva484-1-e"),
        Part("xczu7ev", "Zynq UltraScale+ ZU7EV (ZCU104)", 1728, 230400, 460800, 624, 96, "DS891", "xczu7ev-ffvc1156-2-e"),
        Part("xck26", "Kria K26 SOM (KV260, KR260)", 1248, 117120, 234240, 288, 64, "DS987", "xck26-sfvc784-2LV-c"),
        Part("xcau15p", "Artix UltraScale+ AU15P", 576, 77760, 155520, 288, 0, "DS890", "xcau15p-ffvb676-2-e"),
        Part("xc7z020", "Zynq-7000 Z-7020 (Pynq-Z2)", 220, 53200, 106400, 280, 0, "DS190", "xc7z020clg400-1"),
        Part("xc7z007s", "Zynq-7000 Z-7007S", 66, 14400, 28800, 100, 0, "DS190", "xc7z007sclg225-1"),
        Part("xc7a100t", "Artix-7 100T (Arty A7)", 240, 63400, 126800, 270, 0, "DS180", "xc7a100tcsg324-1"),
        Part("xc7a35t", "Artix-7 35T (Arty A7-35, Basys 3)", 90, 20800, 41600, 100, 0, "DS180", "xc7a35tcpg236-1"),
        Part("xc7s50", "Spartan-7 S50 (Arty S7-50)", 120, 32600, 65200, 150, 0, "DS180", "xc7s50csga324-1"),
        Part("xc7k325t", "Kintex-7 325T (KC705)", 840, 203800, 407600, 890, 0, "DS180", "xc7k325tffg900-2"),
        Part("xcku115", "Kintex UltraScale KU115", 5520, 663360, 1326720, 4320, 0, "DS890", "xcku115-flvb2104-2-e"),
    )
}


def find_part(name: str) -> Part:
    """The table entry of a full part number ('xcu250-figd2104-2L-e', 'xc7z020clg400-1'); ValueError otherwise."""
    lowered = name.strip().lower()
    matches = [base for base in PARTS if lowered.startswith(base)]
    if matches:
        return PARTS[max(matches, key=len)]
    board = board_part(name)
    if board is not None:
        raise ValueError(f"'{name}' is a board, not an FPGA part: its part is {board.example} ({board.board})")
    base = lowered.split("-")[0]
    close = difflib.get_close_matches(base, PARTS, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(PARTS[match].example for match in close)}?" if close else (
        f"known parts: {', '.join(part.example for part in PARTS.values())}")
    raise ValueError(f"unknown FPGA part '{name}' ({hint})")


def board_part(name: str) -> Part | None:
    """The part of a board the table names ('pynq-z2', 'ZCU104', 'KV260', 'Alveo U250', 'u250'): what hls4ml's
    tutorials call the target, which the vendor tools do not take as a part."""
    def plain(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower())

    for part in PARTS.values():
        inside = re.search(r"\((.*)\)", part.board)
        boards = inside.group(1).split(",") if inside else [part.board, part.board.split()[-1]] if part.board.startswith("Alveo") else []
        if plain(name) in {plain(board) for board in boards}:
            return part
    return None


FULL_NAME = {  # package and speed grade after the base: '-1', '-2L', '-1LI'; later families also a temperature grade
    True: r"i?[a-z]{3,4}\d{3,4}-[1-3][a-z]{0,2}",  # 7 series: xc7z020clg400-1, xc7a35ticsg324-1L
    False: r"-[a-z]{4}\d{3,4}-[1-3][a-z]{0,2}-[eicq]",  # UltraScale(+), Alveo, Zynq UltraScale+: xczu3eg-sbva484-1-e; Kria: -2LV-c
}


def check_full_name(name: str) -> Part:
    """The table entry of a full part number as the vendor tools take it; ValueError naming the nearest full names
    otherwise (a bare family 'xc7z020', a stray hyphen 'xc7z020-clg400-1', a typo): hls/project.tcl gets the name as
    written, and Vivado or Vitis would reject it there, hours later."""
    part = find_part(name)
    if re.fullmatch(re.escape(part.base) + FULL_NAME[part.seven_series], name.strip().lower()):
        return part
    lowered = name.strip().lower()
    if lowered == part.base:
        raise ValueError(f"'{name}' is the {part.board} family, not a full part number (package and speed grade): e.g. {part.example}")
    unhyphenated = part.base + lowered[len(part.base) + 1:] if part.seven_series and lowered.startswith(part.base + "-") else None
    if unhyphenated and re.fullmatch(re.escape(part.base) + FULL_NAME[True], unhyphenated):
        raise ValueError(f"'{name}' is not a part number the vendor tools take: 7-series names have no hyphen after the base; did you mean "
                         f"{name.strip()[: len(part.base)]}{name.strip()[len(part.base) + 1:]}?")
    raise ValueError(f"'{name}' is not a full {part.board} part number (base, package, speed grade{'' if part.seven_series else ', temperature'}): "
                     f"e.g. {part.example}")


SEVEN_SERIES_BASE = re.compile(r"x[caq]7[azksv][xh]?\d+[ts]?")  # commercial, automotive (xa7) and defense (xq7) grades; the package follows
VERSAL = re.compile(r"x[cq]v[cempnh]\d|xcv\d")  # Versal AI Core/Edge, Prime, Premium, HBM, Net: xcvc1902, xcvp1202, xcv80


def unlisted_part(name: str) -> Part:
    """A part codesign has no figures for (a project's, not a typo on the command line): no utilization."""
    lowered = name.strip().lower()
    seven_series = SEVEN_SERIES_BASE.match(lowered)
    base = seven_series.group(0) if seven_series else lowered.split("-")[0]
    return Part(base, "not in codesign's part table: utilization not computed", 0, 0, 0, 0, 0, "-", name.strip())


def part_or_unlisted(name: str) -> tuple[Part, str | None]:
    """The table's entry for a part, or for one outside the table (an existing project's) an entry without figures
    and the note that says so (a Versal part's: its fabric and DSP58 are not the calibration's)."""
    try:
        return find_part(name), None
    except ValueError:
        part = unlisted_part(name)
        versal = (": a Versal part, priced as UltraScale+ (its DSP58 as a DSP48E2, its fabric as UltraScale+'s: no calibration design "
                  "was built on Versal)") if VERSAL.match(part.base) else ""
        return part, f"part '{name}' is not in codesign's part table (codesign/parts.py): estimated by its family, no utilization{versal}"
