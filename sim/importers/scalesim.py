"""SCALE-Sim topology CSVs and ``.cfg`` files into our topologies and hardware specs.

Topology CSV: a header ``Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width,
Channels, Num Filter, Strides,`` (SCALE-Sim writes a trailing comma; spaces are ignored), then one
row per layer. Every row becomes an independent single-layer network (see
:mod:`sim.importers.topology`) holding a valid (unpadded) convolution: SCALE-Sim's IFMAP sizes
already include any padding.

Output size: SCALE-Sim sizes the output as ``ceil((H - R + s) / s)``, which is one more than
the convolution's ``floor((H - R) / s) + 1`` when ``(H - R)`` is not a multiple of ``s`` (its
last window would hang off the IFMAP). We keep the convolution's size, so such a row has fewer
output pixels than in SCALE-Sim; :func:`scalesim_output_size` gives SCALE-Sim's figure and
:func:`read_topology_csv` records which rows differ (``Row.scalesim_pixels``).

Depthwise rows, in both spellings SCALE-Sim has used:
- SCALE-Sim 3 marks a depthwise layer with ``DP`` in its name and gives its real ``Channels``
  (it then runs one single-channel layer per channel); ``Num Filter`` is the channel multiplier.
- Older MobileNet topologies write ``Channels = 1, Num Filter = 1`` with ``dw`` in the name,
  computing the layer as one channel; some (``mobilnet_paper.csv``) add a ``#dw`` cell after
  ``Strides``. SCALE-Sim's reader drops every row's last comma-separated field, so the marker
  never reaches it and it computes the single channel as written. We read such a row as a
  depthwise convolution over the previous row's ``Num Filter`` channels (the channels it really
  has); a first row cannot be one.

Dialects accepted as SCALE-Sim's own repository writes them (``topologies/conv_nets``): a UTF-8
byte-order mark, tab-separated files, blank or all-empty lines, and extra header columns after
``Strides`` whose cells are ignored with a note (:func:`read_table`).
"""

from __future__ import annotations

import configparser
import csv
import dataclasses
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim import limits as lim
from sim.config import ConfigError
from sim.hardware import load_hardware
from sim.importers.topology import Topology
from sim.workload.layers import Conv2d, DepthwiseConv2d, Shape
from sim.workload.network import Network

COLUMNS = ("Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
           "Channels", "Num Filter", "Strides")
SIZES = COLUMNS[1:]
# Largest value per column (sim.limits): what the model simulates in reasonable time.
MAXIMA = {"Channels": lim.MAX_CHANNELS, "Num Filter": lim.MAX_CHANNELS}
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")  # the network YAML's layer names
MAX_SRAM_KB = 2**20


@dataclass(frozen=True)
class Row:
    """One topology row, with its CSV line (1-based)."""

    line: int
    name: str
    ifmap_height: int
    ifmap_width: int
    filter_height: int
    filter_width: int
    channels: int
    filters: int
    stride: int
    depthwise: bool

    @property
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the output: floor((H - R) / s) + 1."""
        return ((self.ifmap_height - self.filter_height) // self.stride + 1,
                (self.ifmap_width - self.filter_width) // self.stride + 1)

    @property
    def pixels(self) -> int:
        """Output pixels as the convolution counts them."""
        height, width = self.output_size
        return height * width

    @property
    def scalesim_pixels(self) -> int:
        """Output pixels as SCALE-Sim counts them."""
        return (scalesim_output_size(self.ifmap_height, self.filter_height, self.stride)
                * scalesim_output_size(self.ifmap_width, self.filter_width, self.stride))


def scalesim_output_size(size: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output size along one dimension: ceil((size - kernel + stride) / stride)."""
    return math.ceil((size - kernel + stride) / stride)


@dataclass(frozen=True)
class TopologyTable:
    """The rows of a topology CSV and the notes (one line each) about what was ignored."""

    rows: list[Row]
    notes: tuple[str, ...]


def read_rows(path: str | Path) -> list[Row]:
    """Parse and check a topology CSV; every problem names the file, line and column."""
    return read_table(path).rows


def read_table(path: str | Path) -> TopologyTable:
    """Parse and check a topology CSV as SCALE-Sim's own files are written: a UTF-8 byte-order
    mark, comma or tab separators (the header decides), a ``#dw`` marker cell after a row's
    eight values (a depthwise layer, see :func:`_parse_row`), and extra named header columns
    after ``Strides`` (``Eh, Ew, e2`` in Resnet50.csv), whose cells are ignored with a note."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(path, f"cannot be read: {error.strerror}") from None
    try:
        lines = list(csv.reader(text.splitlines(), delimiter=_delimiter(text)))
    except csv.Error as error:
        raise ConfigError(path, f"malformed CSV: {error}") from None
    cells = [[cell.strip() for cell in line] for line in lines]
    numbered = [(number, line) for number, line in enumerate(cells, start=1)
                if any(line) and not line[0].startswith("#")]
    if not numbered:
        raise ConfigError(path, "no header and no rows", line=1,
                          allowed="a header: " + ", ".join(COLUMNS))
    header_line, header = numbered[0]
    header = _without_trailing_empty(header)
    if [name.lower() for name in header[:len(COLUMNS)]] != [name.lower() for name in COLUMNS]:
        raise ConfigError(path, f"unexpected header {', '.join(header)!r}", line=header_line,
                          allowed=", ".join(COLUMNS) + " (then columns that are ignored)")
    extra = [name for name in header[len(COLUMNS):] if name]
    width = len(header)
    rows: list[Row] = []
    names: set[str] = set()
    marked = 0
    renamed: list[str] = []
    for number, line in numbered[1:]:
        line, marker = _split_marker(line)
        line = _without_trailing_empty(line)
        if len(COLUMNS) < len(line) <= width:
            line = line[:len(COLUMNS)]  # cells under the ignored columns
        row = _parse_row(path, number, line, rows, marker == "#dw")
        marked += marker == "#dw"
        if row.name in names:  # SCALE-Sim runs rows on their own; names need not differ there
            name = _unique(row.name, names)
            renamed.append(f"{row.name} (line {number}) as {name}")
            row = dataclasses.replace(row, name=name)
        names.add(row.name)
        _check_size(path, row)
        rows.append(row)
    if not rows:
        raise ConfigError(path, "the header has no rows under it", line=header_line)
    notes = []
    if extra:
        notes.append(f"{path}: columns {', '.join(extra)} after Strides are not part of a "
                     "SCALE-Sim topology row; ignored")
    if renamed:
        notes.append(f"{path}: repeated layer names renamed: {', '.join(renamed)}")
    if marked:
        notes.append(f"{path}: {marked} rows marked #dw read as depthwise layers over the "
                     "previous row's filters (SCALE-Sim drops the marker cell and computes one "
                     "channel)")
    return TopologyTable(rows, tuple(notes))


def _unique(name: str, names: set[str]) -> str:
    suffix = 2
    while f"{name}_{suffix}" in names:
        suffix += 1
    return f"{name}_{suffix}"


def _delimiter(text: str) -> str:
    """Tab when the first non-empty line has tabs and no commas, else comma."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return "\t" if "\t" in first and "," not in first else ","


def _split_marker(line: list[str]) -> tuple[list[str], str]:
    """A row's cells before its first ``#`` cell after the eight values, and that cell
    (lower case; ``""`` when there is none). Cells from the ``#`` on are a comment."""
    for index in range(len(COLUMNS), len(line)):
        if line[index].startswith("#"):
            return line[:index], line[index].lower()
    return line, ""


def _check_size(path: Path, row: Row) -> None:
    """Refuse a row whose tensors or MACs are beyond what the model simulates in time."""
    elements = row.ifmap_height * row.ifmap_width * row.channels
    if elements > lim.MAX_TENSOR_ELEMENTS:
        raise ConfigError(path, f"an IFMAP of {elements:,} elements is too large", line=row.line,
                          field="IFMAP Height",
                          allowed=f"at most {lim.MAX_TENSOR_ELEMENTS:,} elements")
    problem = lim.network_size_problem(row_network(row).infos)
    if problem is not None:
        _, message, allowed = problem
        raise ConfigError(path, message, line=row.line, field="Num Filter", allowed=allowed)


def _without_trailing_empty(line: list[str]) -> list[str]:
    while line and line[-1] == "":
        line = line[:-1]
    return line


def _parse_row(path: Path, number: int, line: list[str], previous: list[Row],
               marked_depthwise: bool = False) -> Row:
    """One row. Depthwise when ``DP`` is in the name (SCALE-Sim 3), when ``dw`` is in the name
    with ``Channels = Num Filter = 1``, or when the row carries the ``#dw`` marker cell (older
    MobileNet topologies); ``Channels = Num Filter = 1`` then means the previous row's filters,
    other values the real channels and the channel multiplier."""
    if len(line) != len(COLUMNS):
        raise ConfigError(path, f"expected {len(COLUMNS)} columns, found {len(line)}",
                          line=number, allowed=", ".join(COLUMNS))
    name = line[0]
    if not name:
        raise ConfigError(path, "empty layer name", line=number, field="Layer name")
    if not NAME.fullmatch(name) or len(name) > 200:
        raise ConfigError(path, f"layer name {name[:40]!r} cannot be a network layer name",
                          line=number, field="Layer name",
                          allowed="a letter or _, then letters, digits, _ . -")
    values = {}
    for column, cell in zip(SIZES, line[1:], strict=True):
        try:
            value = int(cell)
        except ValueError:
            high = MAXIMA.get(column, lim.MAX_RESOLUTION)
            raise ConfigError(path, f"{cell[:40]!r} is not an integer", line=number,
                              field=column, allowed=f"an integer {lim.int_range(1, high)}"
                              ) from None
        high = MAXIMA.get(column, lim.MAX_RESOLUTION)
        if not 1 <= value <= high:
            raise ConfigError(path, f"got {value}", line=number, field=column,
                              allowed=lim.int_range(1, high))
        values[column] = value
    for size, kernel in (("IFMAP Height", "Filter Height"), ("IFMAP Width", "Filter Width")):
        if values[kernel] > values[size]:
            raise ConfigError(path, f"filter {values[kernel]} is larger than the IFMAP "
                                    f"{values[size]}", line=number, field=kernel,
                              allowed=f"<= {size} ({values[size]})")
    channels, filters = values["Channels"], values["Num Filter"]
    one_channel = channels == 1 and filters == 1
    depthwise = "DP" in name or marked_depthwise or ("dw" in name.lower() and one_channel)
    if "DP" in name or (depthwise and not one_channel):
        filters = channels * filters
    elif depthwise:
        if not previous:
            raise ConfigError(path, "a depthwise row (dw or #dw, Channels = Num Filter = 1) "
                                    "needs a previous row to take its channel count from",
                              line=number,
                              field="Channels")
        channels = filters = previous[-1].filters
    return Row(number, name, values["IFMAP Height"], values["IFMAP Width"],
               values["Filter Height"], values["Filter Width"], channels, filters,
               values["Strides"], depthwise)


def row_network(row: Row) -> Network:
    """The row as a one-layer network: a valid convolution of its IFMAP."""
    kernel, stride = (row.filter_height, row.filter_width), (row.stride, row.stride)
    if row.depthwise:
        layer = DepthwiseConv2d(name=row.name, kernel=kernel, stride=stride,
                                multiplier=row.filters // row.channels, batchnorm=False)
    else:
        layer = Conv2d(name=row.name, out_channels=row.filters, kernel=kernel, stride=stride,
                       batchnorm=False)
    return Network(row.name, Shape(row.ifmap_height, row.ifmap_width, row.channels), [layer])


def topology_of(path: str | Path, rows: list[Row]) -> Topology:
    """The rows of the topology CSV at ``path`` as a topology named after the file."""
    return Topology(Path(path).stem, tuple(row_network(row) for row in rows))


def read_topology_csv(path: str | Path) -> Topology:
    """The topology CSV at ``path``; its notes (ignored columns, #dw rows) go to stderr."""
    table = read_table(path)
    for note in table.notes:
        print(f"note: {note}", file=sys.stderr)
    return topology_of(path, table.rows)


# --- .cfg -> hardware ----------------------------------------------------------------------

# SRAM energy per 64-bit access (pJ) against size, 45 nm (Horowitz, ISSCC 2014: 8 KB 10 pJ,
# 32 KB 20 pJ, 1 MB 100 pJ); interpolated on log(size).
_SRAM_POINTS = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))
_ARCHITECTURE = "architecture_presets"
_REQUIRED = ("arrayheight", "arraywidth", "ifmapsramszkb", "filtersramszkb", "ofmapsramszkb",
             "dataflow")


def sram_access_pj(size_bytes: int) -> float:
    """Energy of one 64-bit access to an SRAM of ``size_bytes`` (pJ)."""
    points = _SRAM_POINTS
    if size_bytes <= points[0][0]:
        return points[0][1]
    for (low, low_pj), (high, high_pj) in zip(points, points[1:], strict=False):
        if size_bytes <= high:
            fraction = math.log(size_bytes / low) / math.log(high / low)
            return round(low_pj + fraction * (high_pj - low_pj), 2)
    (low, low_pj), (high, high_pj) = points[-2], points[-1]
    return round(high_pj * math.sqrt(size_bytes / high), 2)


def read_config(path: str | Path) -> dict[str, Any]:
    """The architecture of a SCALE-Sim ``.cfg``: array size, dataflow, SRAM sizes (KB),
    bandwidth (words per cycle, when given) and the run name."""
    path = Path(path)
    parser = configparser.ConfigParser(interpolation=None)  # a "%" is text, not a reference
    try:
        with path.open(encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        raise ConfigError(path, "file not found") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "is not UTF-8 text") from None
    except OSError as error:
        raise ConfigError(path, f"cannot be read: {error.strerror}") from None
    except configparser.Error as error:
        raise ConfigError(path, f"malformed config: {str(error).splitlines()[0]}") from None
    if not parser.has_section(_ARCHITECTURE):
        raise ConfigError(path, f"no [{_ARCHITECTURE}] section",
                          allowed="SCALE-Sim's [general], [architecture_presets], "
                                  "[run_presets]")
    section = parser[_ARCHITECTURE]
    for key in _REQUIRED:
        if key not in section:
            raise ConfigError(path, "missing", field=f"{_ARCHITECTURE}.{_spelled(key)}")
    config: dict[str, Any] = {}
    for key in _REQUIRED[:-1]:
        config[key] = _positive(path, key, section[key])
    dataflow = section["dataflow"].strip().lower()
    if dataflow not in ("os", "ws", "is"):
        raise ConfigError(path, f"got {dataflow!r}", field=f"{_ARCHITECTURE}.Dataflow",
                          allowed="os, ws, is")
    config["dataflow"] = dataflow
    if "bandwidth" in section:
        config["bandwidth"] = _positive(path, "bandwidth", section["bandwidth"])
    name = parser.get("general", "run_name", fallback=path.stem).strip().strip('"')
    config["name"] = name or path.stem
    config["ignored"] = _unmodelled_options(path)
    return config


# Options the hardware YAML takes from a .cfg (section, lower-case option). Everything else
# (SRAM address offsets, request buffers, memory banks, the [layout] SRAM banking, [sparsity],
# the interface bandwidth mode, Ramulator traces, the topology path) is listed as ignored.
_MAPPED = {("general", "run_name"), *((_ARCHITECTURE, key) for key in _REQUIRED)}


def _unmodelled_options(path: Path) -> list[str]:
    """``section.Option = value`` for every option of the file the import does not use, in
    the file's spelling and order (``Bandwidth`` too: the DRAM preset sets the bandwidth)."""
    spelled = configparser.ConfigParser(interpolation=None)
    spelled.optionxform = str  # type: ignore[assignment,method-assign]  # keep the spelling
    with path.open(encoding="utf-8") as handle:
        spelled.read_file(handle)
    return [f"{section}.{option} = {value.strip()}" for section in spelled.sections()
            for option, value in spelled[section].items()
            if (section, option.lower()) not in _MAPPED]


def unmodelled_note(path: str | Path, config: dict[str, Any]) -> str | None:
    """The one line naming every option of the .cfg at ``path`` that is not modelled."""
    if not config["ignored"]:
        return None
    return f"{path}: not modelled, ignored: {'; '.join(config['ignored'])}"


def _spelled(key: str) -> str:
    spelling = {"arrayheight": "ArrayHeight", "arraywidth": "ArrayWidth",
                "ifmapsramszkb": "IfmapSramSzkB", "filtersramszkb": "FilterSramSzkB",
                "ofmapsramszkb": "OfmapSramSzkB", "dataflow": "Dataflow",
                "bandwidth": "Bandwidth"}
    return spelling[key]


def _positive(path: Path, key: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        high = MAX_SRAM_KB if key.endswith("szkb") else lim.MAX_ARRAY_EDGE
        raise ConfigError(path, f"{text.strip()[:40]!r} is not an integer",
                          field=f"{_ARCHITECTURE}.{_spelled(key)}",
                          allowed=f"an integer {lim.int_range(1, high)}") from None
    high = MAX_SRAM_KB if key.endswith("szkb") else lim.MAX_ARRAY_EDGE
    if not 1 <= value <= high:
        raise ConfigError(path, f"got {value}", field=f"{_ARCHITECTURE}.{_spelled(key)}",
                          allowed=lim.int_range(1, high))
    return value


def unthrottled_banks(rows: int, cols: int, dram_bytes_per_cycle: float) -> int:
    """Banks of 64 bits a buffer needs so that it never slows the array: in one cycle it can
    read and write a 4-byte word (an fp32 operand or an int32 partial sum, the widest the
    simulator moves: a ws or is array reads back each column's partial sum and writes the new
    one every cycle) for each PE on the array's longer edge, while the DRAM fills or drains it
    at its peak rate (bytes per accelerator cycle). SCALE-Sim's fold model assumes SRAMs that
    keep up (its bank model is part of ``[layout]``, which the import does not read)."""
    return min(lim.MAX_BANKS, math.ceil((max(rows, cols) * 2 * 4 + dram_bytes_per_cycle) / 8))


def hardware_yaml(config: dict[str, Any], dram_preset: str | Path) -> str:
    """Hardware YAML for a SCALE-Sim architecture; what SCALE-Sim does not specify (clock,
    DRAM, energies) is stated in comments. The DRAM section is ``dram_preset``'s."""
    import yaml

    preset = load_hardware(dram_preset)
    clock_hz = 1.0e9
    banks = unthrottled_banks(config["arrayheight"], config["arraywidth"],
                              preset.dram.peak_bytes_per_s / clock_hz)
    buffers = {}
    for operand, key in (("ifmap", "ifmapsramszkb"), ("weight", "filtersramszkb"),
                         ("ofmap", "ofmapsramszkb")):
        size = config[key] * 1024
        energy = sram_access_pj(size)
        buffers[operand] = {"size_bytes": size, "banks": banks, "word_bits": 64,
                            "double_buffered": True, "read_pj": energy, "write_pj": energy}
    spec = {
        "name": config["name"],
        "clock_hz": clock_hz,
        "pe_array": {"kind": "systolic", "rows": config["arrayheight"],
                     "cols": config["arraywidth"], "dataflow": config["dataflow"]},
        "buffers": buffers,
        "dram": preset.dram.model_dump(),
        "energy": preset.energy.model_dump(),
    }
    bandwidth = config.get("bandwidth")
    lines = [
        f"# Imported from a SCALE-Sim config ({config['name']}). SCALE-Sim counts cycles only:",
        "# clock_hz 1 GHz is our choice; SRAM energy per 64-bit access interpolates Horowitz",
        "# ISSCC 2014 (8 KB 10 pJ, 32 KB 20 pJ, 1 MB 100 pJ); SCALE-Sim's double-buffered",
        f"# SRAMs are kept double-buffered; DRAM and MAC energy come from {preset.name}.",
        "# SCALE-Sim's SRAM sizes in kB are taken as KiB (x 1024 bytes), as SCALE-Sim does.",
        "# SCALE-Sim's compute model never waits for its SRAMs, so each buffer gets the banks",
        "# of 64 bits that read and write a 4-byte word for every PE of the array's longer edge",
        f"# and serve the DRAM's peak rate in the same cycle ({banks} banks; see",
        "# unthrottled_banks).",
    ]
    if config.get("ignored"):
        lines.append("# Not modelled, ignored: " + "; ".join(config["ignored"]))
    if bandwidth is not None:
        lines.append(f"# SCALE-Sim Bandwidth = {bandwidth} words/cycle is not a DRAM model; "
                     f"the DRAM above sets it ({preset.dram.peak_bytes_per_s / 1e9:.1f} GB/s).")
    return "\n".join(lines) + "\n" + yaml.safe_dump(spec, sort_keys=False,
                                                    default_flow_style=None, width=100)
