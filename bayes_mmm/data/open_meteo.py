"""Open-Meteo daily CSV (history or forecast download) → the contract's weather columns.

The download starts with a location block (``latitude,longitude,elevation,...`` and its values),
a blank line, then ``time,temperature_2m_mean (°C),precipitation_sum (mm),snowfall_sum (cm)``.
Units are read from the column names and converted (°F → °C, inch → mm or cm). Daily variables
other than those in :data:`VARIABLES` are dropped. A download saved again by a spreadsheet in a
decimal-comma locale (``;`` between cells, ``12,5``) reads the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_mmm.core.constants import DATE, PRECIP, SNOW, TEMP
from bayes_mmm.core.errors import DataError
from bayes_mmm.data.exports import read_text, text_table

#: Open-Meteo daily variable → contract column.
VARIABLES = {
    "temperature_2m_mean": TEMP,
    "precipitation_sum": PRECIP,
    "snowfall_sum": SNOW,
    "temperature_2m_max": "temp_max_c",
    "temperature_2m_min": "temp_min_c",
}
#: Unit in the column name → (scale, offset) to the contract's unit; temperatures in °C, rain in mm, snow in cm.
UNITS = {
    "°C": (1.0, 0.0),
    "°F": (5 / 9, -32 * 5 / 9),
    "mm": (1.0, 0.0),
    "cm": (1.0, 0.0),
    "inch": (25.4, 0.0),  # precipitation; snowfall is rescaled to cm below
}
#: Plausible daily values after conversion (beyond the records on Earth: 57 °C, -89 °C, ~1.8 m of rain or snow a day).
BOUNDS = {
    TEMP: (-90.0, 60.0, "°C"),
    "temp_max_c": (-90.0, 60.0, "°C"),
    "temp_min_c": (-90.0, 60.0, "°C"),
    PRECIP: (0.0, 2000.0, "mm"),
    SNOW: (0.0, 500.0, "cm"),
}
_COLUMN = re.compile(r"^(?P<var>\w+) \((?P<unit>[^)]*)\)$")
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


def _header(lines: list[str], name: str) -> tuple[int, str]:
    """The table's header line and its separator: "," as downloaded, ";" once a spreadsheet in a decimal-comma
    locale has saved it (then its numbers have decimal commas)."""
    for i, line in enumerate(lines):
        for sep in (",", ";"):
            if line.split(sep, 1)[0].strip() == "time" and sep in line:
                return i, sep
    raise DataError(
        "no 'time,...' header line",
        file=name,
        hint="download Open-Meteo's daily data as CSV (time, temperature_2m_mean, precipitation_sum)",
    )


def _location(lines: list[str], header: int, sep: str) -> dict[str, float]:
    """latitude/longitude/elevation from the block above the table, when present."""
    if header < 2 or not lines[0].startswith("latitude"):
        return {}
    keys = [k.strip() for k in lines[0].split(sep)]
    values = [_point(v.strip(), sep) for v in lines[1].split(sep)]
    out = {}
    for k, v in zip(keys, values, strict=False):
        if k in ("latitude", "longitude", "elevation") and re.fullmatch(_NUMBER, v):
            out[k] = float(v)
    return out


def _point(cell: str, sep: str) -> str:
    """A number's text with a decimal point: a ";" file's decimal comma becomes one (no value has thousands)."""
    return cell.replace(",", ".") if sep == ";" else cell


def _convert(raw: pd.Series, column: str, name: str, sep: str = ",") -> tuple[str, np.ndarray] | None:
    """(contract column, values) of one Open-Meteo column; None for variables we do not use."""
    m = _COLUMN.match(column)
    if not m or m["var"] not in VARIABLES:
        return None
    target, unit = VARIABLES[m["var"]], m["unit"]
    if unit not in UNITS:
        raise DataError(f"unknown unit '{unit}'", file=name, column=column, hint=f"download in one of {', '.join(UNITS)}")
    cells = raw.astype(str).str.strip().map(lambda c: _point(c, sep))
    empty = (cells == "").to_numpy()
    bad = ~cells.str.fullmatch(_NUMBER).to_numpy() & ~empty
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad)]
        raise DataError(f"not a number: '{cells.iloc[rows[0] - 1]}'", file=name, column=column, rows=rows)
    values = np.full(len(cells), np.nan)
    values[~empty] = cells[~empty].astype(float).to_numpy()
    scale, offset = UNITS[unit]
    if target == SNOW and unit == "inch":
        scale = 2.54
    values = values * scale + offset
    if not target.startswith("temp") and (values < 0).any():  # temperatures may be negative
        rows = [int(i) + 1 for i in np.flatnonzero(values < 0)]
        raise DataError("negative amounts", file=name, column=column, rows=rows)
    if not np.isfinite(values[~empty]).all():  # 1e999 reads as inf
        rows = [int(i) + 1 for i in np.flatnonzero(~np.isfinite(values) & ~empty)]
        raise DataError("non-finite values", file=name, column=column, rows=rows)
    _check_bounds(values, cells, target, column, name)
    return target, values


def _check_bounds(values: np.ndarray, cells: pd.Series, target: str, column: str, name: str) -> None:
    """Refuse physically impossible days (a unit mix-up or a broken download), e.g. 500 °C or 3000 mm of rain."""
    low, high, unit = BOUNDS[target]
    with np.errstate(invalid="ignore"):  # blank days are NaN and pass
        bad = (values < low) | (values > high)
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad)]
        raise DataError(f"impossible value '{cells.iloc[rows[0] - 1]}' (plausible daily values: {low:g} to {high:g} {unit})",
                        file=name, column=column, rows=rows)


def _dates(cells: pd.Series, name: str) -> pd.DatetimeIndex:
    cells = cells.astype(str).str.strip()
    if cells.str.contains("T").any():
        raise DataError("hourly rows", file=name, column="time", hint="download the daily variables, not hourly ones")
    dates = pd.to_datetime(cells, format="%Y-%m-%d", errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad)]
        raise DataError(f"unparseable date '{cells.iloc[rows[0] - 1]}'", file=name, column="time", rows=rows,
                        hint="Open-Meteo writes ISO dates YYYY-MM-DD")
    dup = dates.duplicated(keep=False).to_numpy()
    if dup.any():
        raise DataError("duplicated dates", file=name, column="time", rows=[int(i) + 1 for i in np.flatnonzero(dup)])
    return pd.DatetimeIndex(dates, name=DATE)


def parse_open_meteo(text: str, name: str = "open-meteo.csv") -> pd.DataFrame:
    """Weather frame from the text of an Open-Meteo daily CSV.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``date`` (sorted, unique), columns ``temp_c, precip_mm`` and, when downloaded,
        ``snow_cm, temp_max_c, temp_min_c``; empty cells stay NaN (Open-Meteo leaves the latest
        days of its archive empty). ``attrs`` holds latitude/longitude/elevation when given.
    """
    lines = text.splitlines()
    header, sep = _header(lines, name)
    block = []
    for line in lines[header:]:
        if not line.strip():
            break  # a second section (e.g. hourly) follows a blank line
        block.append(line)
    raw = text_table("\n".join(block), name, sep)
    if raw.empty:
        raise DataError("header but no rows", file=name)
    index = _dates(raw["time"], name)
    out = pd.DataFrame(index=index)
    for col in raw.columns:
        converted = _convert(raw[col], col, name, sep)
        if converted is not None and converted[0] not in out:
            out[converted[0]] = converted[1]
    for need, var in ((TEMP, "temperature_2m_mean"), (PRECIP, "precipitation_sum")):
        if need not in out:
            raise DataError("required daily variable is missing", file=name, column=var,
                            hint=f"add {var} to the daily variables of the download")
    out = out.sort_index()
    out.attrs.update(_location(lines, header, sep))
    return out


def read_open_meteo(path: str | Path) -> pd.DataFrame:
    """:func:`parse_open_meteo` of a file."""
    return parse_open_meteo(read_text(path), str(path))
