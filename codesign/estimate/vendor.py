"""Vendor results: parse Vivado/Vitis HLS C-synthesis and Vivado synthesis reports, and run the vendor build.

hls4ml.report.parse_vivado_report needs a whole HLS project (it reads csynth.xml); these parsers read a report
on its own, text or XML, so one copied out of a project (or shared by a colleague) works by itself.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from codesign.errors import CodesignError, ToolchainError

CSYNTH_GLOBS = ("*_prj/solution1/syn/report/*_csynth.*", "reports/*_csynth.*")  # as the tools write them (.rpt and .xml); as collected
CSYNTH_SUFFIXES = (".rpt", ".xml")  # the text report first: it has the per-instance rows
VIVADO_SYNTH_NAMES = ("vivado_synth.rpt", "util.rpt")
# where a project states its top function's name: hls4ml_config.yml, project.tcl (hls4ml >= 0.8), build_prj.tcl (older)
PROJECT_NAME = (re.compile(r"^ProjectName:\s*['\"]?(\w+)", re.MULTILINE), re.compile(r"set\s+project_name\s+\"?(\w+)"),
                re.compile(r"open_project\s+(?:-reset\s+)?(\w+)_prj"))


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_csynth(path: Path) -> dict:
    """Latency, II and the utilization totals (and per-instance rows) of a C-synthesis .rpt (or its .xml)."""
    if Path(path).suffix == ".xml":
        return parse_csynth_xml(path)
    lines = Path(path).read_text(errors="replace").splitlines()
    result: dict = {"report": str(path), "kind": "csynth"}
    for index, line in enumerate(lines):
        if re.search(r"Latency( \(cycles\))?\s*\|", line) and "Interval" in line and "latency_cycles" not in result:
            summary = [_cells(row) for row in lines[index + 1 : index + 6] if re.match(r"^\s*\|\s*\d", row)]
            if summary:  # the design's own summary row starts with its latency; instance tables start with names
                row = summary[0]  # cycles min/max, time min/max, II min/max; Vivado HLS 2018 wrote no times
                result["latency_cycles"], result["ii"] = int(row[1]), int(row[5] if len(row) > 5 and row[5].isdigit() else row[3])
        if line.startswith("|Total") and "dsp" not in result:
            values = _cells(line)
            header = next(_cells(row) for row in reversed(lines[:index]) if "BRAM_18K" in row)
            by_name = dict(zip(header, values))
            result["bram_18k"] = _number(by_name["BRAM_18K"])
            result["dsp"] = _number(by_name.get("DSP", by_name.get("DSP48E", "0")))
            result["ff"] = _number(by_name["FF"])
            result["lut"] = _number(by_name["LUT"])
            result["uram"] = _number(by_name.get("URAM", "0"))
    result["instances"] = _instances(lines)
    if "dsp" not in result:
        raise CodesignError(f"{path}: not a C-synthesis report (found no utilization table)")
    return result


def _xml_root(path: Path) -> ElementTree.Element:
    """A C-synthesis XML report's root; CodesignError naming the file where it is not one."""
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as error:
        raise CodesignError(f"{path}: not a readable C-synthesis XML report ({error})") from None
    if root.find("./AreaEstimates/Resources") is None:
        raise CodesignError(f"{path}: not a C-synthesis report (found no AreaEstimates/Resources)")
    return root


def parse_csynth_xml(path: Path) -> dict:
    """The same figures from the tools' `<top>_csynth.xml` (the tags hls4ml's parse_vivado_report reads): worst-case
    latency, the largest interval, the resource totals; no per-instance rows (the top's XML has none)."""
    root = _xml_root(Path(path))
    resources = {child.tag: child.text for child in root.find("./AreaEstimates/Resources")}
    result = {"report": str(path), "kind": "csynth", "instances": []}
    latency = root.find("./PerformanceEstimates/SummaryOfOverallLatency")
    if latency is not None and (latency.findtext("Worst-caseLatency") or "").strip().isdigit():
        result["latency_cycles"] = int(latency.findtext("Worst-caseLatency"))
        interval = (latency.findtext("Interval-max") or "").strip()
        result["ii"] = int(interval) if interval.isdigit() else result["latency_cycles"]
    result.update(bram_18k=_number(resources.get("BRAM_18K", "0")), dsp=_number(resources.get("DSP", resources.get("DSP48E", "0"))),
                  ff=_number(resources.get("FF", "0")), lut=_number(resources.get("LUT", "0")), uram=_number(resources.get("URAM", "0")))
    return result


def _xml_build(path: Path) -> dict:
    """build_of_report's facts from an XML report: the version (Vitis HLS where the report names a flow target, which
    only Vitis HLS has, or the version is past Vivado HLS's last, 2020.1), the target clock and its uncertainty."""
    root = _xml_root(path)
    version = (root.findtext("./ReportVersion/Version") or "").strip()
    year = re.match(r"(\d{4}\.\d)", version)
    vitis = root.find("./UserAssignments/FlowTarget") is not None or (year is not None and year.group(1) > "2020.1")
    clock, uncertainty = root.findtext("./UserAssignments/TargetClockPeriod"), root.findtext("./UserAssignments/ClockUncertainty")
    found = {"tool": f"{'Vitis HLS' if vitis else 'Vivado HLS'} {year.group(1)}" if year else None, "clock_ns": float(clock) if clock else None}
    if uncertainty:
        found["uncertainty_ns"] = float(uncertainty)
    return found


def _instances(lines: list[str]) -> list[dict]:
    """The 'Detail: Instance' rows of the utilization section: module name with BRAM/DSP/FF/LUT, and the instance's
    latency (its largest, in cycles) from the performance section's instance table where the report has one."""
    rows, inside, latency = [], False, {}
    for line in lines:
        if "== Utilization Estimates" in line:
            inside = True
        if rows and line.strip().startswith("|Total"):
            break  # the first instance table is the top function's
        cells = _cells(line) if line.strip().startswith("|") else []
        if not inside and len(cells) >= 7 and cells[0][:1].isalpha() and cells[2].isdigit() and cells[3].isdigit():
            latency.setdefault(cells[0], int(cells[3]))  # instance, module, latency min, max, ...
        if inside and len(cells) == 7 and cells[0] and cells[0] not in ("Instance", "Total") and cells[2].isdigit():
            row = {"instance": cells[0], "module": cells[1], "bram_18k": int(cells[2]), "dsp": int(cells[3]), "ff": int(cells[4]), "lut": int(cells[5])}
            rows.append({**row, "latency_cycles": latency[cells[0]]} if cells[0] in latency else row)
    return rows


def parse_vivado_synth(path: Path) -> dict:
    """Post-synthesis utilization from a Vivado report_utilization .rpt."""
    text = Path(path).read_text(errors="replace")
    found = {}
    for key, label in (("lut", r"CLB LUTs\*?"), ("ff", r"CLB Registers"), ("dsp", r"DSPs"), ("bram_18k", r"RAMB18"), ("bram_36k", r"RAMB36/FIFO\*?")):
        match = re.search(rf"^\|\s*{label}\s*\|\s*(\d+)", text, flags=re.MULTILINE)
        if match:
            found[key] = int(match.group(1))
    if "lut" not in found:
        raise CodesignError(f"{path}: not a Vivado utilization report (no 'CLB LUTs' row)")
    found["bram_18k"] = found.get("bram_18k", 0) + 2 * found.pop("bram_36k", 0)
    return {"report": str(path), "kind": "vivado_synth", **found}


def _number(text: str) -> int:
    return int(text) if text.strip().isdigit() else 0


def csynth_reports(hls_dir: Path) -> list[Path]:
    """A folder's C-synthesis reports, where the tools write them first, then where they are collected; in each, the
    report of hls4ml's top function first. The tools write one report per function (`dense_latency_..._csynth.rpt`
    sorts before `myproject_csynth.rpt`), and a VivadoAccelerator build one of its AXI wrapper (`myproject_axi`, the
    network and its stream adapters), neither what an estimate of the network is compared with."""
    top = f"{project_name(Path(hls_dir))}_csynth"
    found = [path for pattern in CSYNTH_GLOBS for path in sorted(Path(hls_dir).glob(pattern), key=lambda path: (path.stem != top, path.suffix, path.name))]
    return [path for path in found if path.suffix in CSYNTH_SUFFIXES]


def project_name(hls_dir: Path) -> str:
    """The name hls4ml gave the project's top function: its config's ProjectName, else its build scripts', else hls4ml's default."""
    for name in ("hls4ml_config.yml", "project.tcl", "build_prj.tcl"):
        path = hls_dir / name
        text = path.read_text(errors="replace") if path.is_file() else ""
        found = next((match for pattern in PROJECT_NAME for match in [pattern.search(text)] if match), None)
        if found:
            return found.group(1)
    return "myproject"


def build_of_report(hls_dir: Path) -> dict:
    """The tool ('Vitis HLS 2021.1'), the target clock and its uncertainty (ns) in the header of the folder's
    C-synthesis report: settings of the build, like the part. Empty where there is no report."""
    for path in csynth_reports(Path(hls_dir)):
        try:
            found = _xml_build(path) if path.suffix == ".xml" else _text_build(path)
        except CodesignError:  # an XML report that does not parse says nothing of the build
            continue
        if any(found.values()):
            return found
    return {}


def _text_build(path: Path) -> dict:
    """build_of_report's facts from a text report's header."""
    text = path.read_text(errors="replace")[:4000]
    tool, version = re.search(r"==\s*(Vitis HLS|Vivado HLS)\s+Report", text), re.search(r"\*\s*Version:\s*(\d{4}\.\d)", text)
    # | ap_clk | 5.00 ns | 4.363 ns | 0.62 ns |: target, estimated, uncertainty (Vivado HLS 2018 wrote no units)
    clock = re.search(r"\|\s*ap_clk\s*\|\s*([\d.]+)\s*(?:ns)?\s*\|\s*[\d.]+\s*(?:ns)?\s*\|\s*([\d.]+)", text)
    target = clock or re.search(r"\|\s*ap_clk\s*\|\s*([\d.]+)\s*ns", text)
    found = {"tool": f"{tool.group(1)} {version.group(1)}" if tool and version else None, "clock_ns": float(target.group(1)) if target else None}
    if clock:
        found["uncertainty_ns"] = float(clock.group(2))
    return found


CLOCK_UNCERTAINTY_SET = re.compile(r"set\s+clock_uncertainty\s+\"?([\d.]+\s*%?)|set_clock_uncertainty\s+([\d.]+\s*%?)")


def _fraction_of_clock(uncertainty: str, clock_ns: float) -> float:
    """An uncertainty as hls4ml and the tools write it, a percentage ('12.5%') or ns ('1.5'), as a fraction of the clock."""
    text = str(uncertainty).strip()
    return float(text.rstrip("%").strip()) / 100.0 if text.endswith("%") else float(text) / clock_ns


def clock_uncertainty_of_folder(folder: Path, clock_ns: float, build: dict | None = None, configured: str | None = None) -> tuple[float | None, str]:
    """The clock uncertainty a project was scheduled with, as a fraction of the clock, and what says so: its C-synthesis
    report's clock table (`build`, as build_of_report reads it), else hls4ml's project.tcl (`set clock_uncertainty
    12.5%`) or a build script's literal `set_clock_uncertainty`, else the config's ClockUncertainty (`configured`); None
    where nothing does (hls4ml 1.3's default of the backend then). hls4ml 0.8 wrote 12.5% for its Vitis backend too, and
    the Vitis HLS 2021.1 builds of the calibration used it (0.62 ns of 5 ns), where hls4ml 1.3's Vitis default is 27%."""
    folder = Path(folder)
    build = build_of_report(folder) if build is None else build
    if build.get("uncertainty_ns") is not None and build.get("clock_ns"):
        return build["uncertainty_ns"] / build["clock_ns"], REPORT_SAYS
    for name in ("project.tcl", "build_prj.tcl"):
        path = folder / name
        found = CLOCK_UNCERTAINTY_SET.search(path.read_text(errors="replace")) if path.is_file() else None
        if found:
            return _fraction_of_clock(found.group(1) or found.group(2), clock_ns), name
    if configured:
        try:
            return _fraction_of_clock(configured, clock_ns), "the config's ClockUncertainty"
        except ValueError:
            pass
    return None, ""


HLS_LOGS = ("vitis_hls.log", "vivado_hls.log")  # the tool's own log, where a build ran: its banner names tool and version
_LOG_BANNER = re.compile(r"(Vivado\(TM\) HLS|Vitis HLS)[^\n]*?\bv(\d{4}\.\d)")
_SCRIPT_TOOL = re.compile(r"\b(vitis_hls|vivado_hls)\b")


REPORT_SAYS = "its C-synthesis report"


def tool_of_folder(folder: Path, backend: str, build: dict | None = None) -> tuple[str, str]:
    """The HLS tool that builds a project folder, and what says so: its C-synthesis report's header (`build`, that
    header when the caller read it already), else the banner of the tool's log (vivado_hls.log / vitis_hls.log, with
    the version), else the Vitis backend's templates in firmware/nnet_utils, else hls4ml's project.tcl (`set backend
    "vitis"`) or a script that runs one of the tools, else the tool hls4ml's backend writes its scripts for."""
    folder = Path(folder)
    tool = (build_of_report(folder) if build is None else build).get("tool")
    if tool:
        return tool, REPORT_SAYS
    for name in HLS_LOGS:
        for path in sorted(folder.glob(f"**/{name}"))[:1]:
            banner = _LOG_BANNER.search(path.read_text(errors="replace")[:20000])
            if banner:
                return f"{'Vivado HLS' if banner.group(1).startswith('Vivado') else 'Vitis HLS'} {banner.group(2)}", f"the banner of {path.relative_to(folder)}"
    from codesign.estimate.firmware import written_for_vitis

    project = folder / "project.tcl"
    named = re.search(r'set\s+backend\s+"?(vitis|vivado)', project.read_text(errors="replace")) if project.is_file() else None
    if (not named or named.group(1) == "vivado") and written_for_vitis(folder):  # hls4ml 0.8's Vitis backend wrote "vivado"
        return "Vitis HLS", "firmware/nnet_utils (hls4ml's Vitis templates)"
    if named:
        return ("Vitis HLS" if named.group(1) == "vitis" else "Vivado HLS"), f'project.tcl (set backend "{named.group(1)}")'
    for path in sorted(folder.glob("*")):
        if path.is_file() and path.suffix in (".tcl", ".sh", "") and path.stat().st_size < 200_000:
            script = _SCRIPT_TOOL.search(path.read_text(errors="replace"))
            if script:
                return ("Vitis HLS" if script.group(1) == "vitis_hls" else "Vivado HLS"), f"{path.name}, which runs {script.group(1)}"
    assumed = "Vivado HLS" if backend.startswith("Vivado") else "Vitis HLS"
    return assumed, f"hls4ml's {backend} backend, which writes its scripts for {assumed.lower().replace(' ', '_')}"


def vendor_results(hls_dir: Path) -> dict:
    """Whatever vendor reports a project holds: C synthesis and, if run, Vivado synthesis."""
    hls_dir = Path(hls_dir)
    results = {}
    csynth = csynth_reports(hls_dir)
    if csynth:
        results["csynth"] = parse_csynth(csynth[0])
    for name in VIVADO_SYNTH_NAMES:
        for path in sorted(hls_dir.rglob(name)):
            try:
                results["vivado_synth"] = parse_vivado_synth(path)
            except CodesignError as error:  # e.g. a hierarchical utilization report: beside the estimate, never needed
                results.setdefault("unreadable", []).append(str(error))
            break
    return results


def run_vendor_build(hls_dir: Path, backend: str, vsynth: bool, log_path: Path) -> Path:
    """Run C synthesis (and optionally Vivado synthesis) with the vendor tool, when it is installed."""
    tool = "vitis_hls" if backend == "Vitis" else "vivado_hls"
    executable = shutil.which(tool)
    if executable is None:
        raise ToolchainError(
            f"{tool} not found on PATH: 'codesign synth' needs the AMD/Xilinx tools ('codesign estimate' works without)"
        )
    options = Path(hls_dir) / "build_opt.tcl"
    options.write_text(
        "array set opt {\n  reset 1\n  csim 0\n  synth 1\n  cosim 0\n  validation 0\n  export 0\n"
        f"  vsynth {int(vsynth)}\n  fifo_opt 0\n}}\n"
    )
    with open(log_path, "w") as log:
        result = subprocess.run([executable, "-f", "build_prj.tcl"], cwd=hls_dir, stdout=log, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise ToolchainError(f"{tool} failed in {hls_dir} (exit {result.returncode}); see {log_path}")
    return log_path
