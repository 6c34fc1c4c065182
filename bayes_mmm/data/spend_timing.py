"""When spend happens, read from the data alone: bookings in lumps, and launches that coincide with a level shift.

Two patterns an independent pass found to give confidently wrong ROAS that every other gate let through
(2026-11-28, its own generator; true ROAS 1.8 and 1.5):

* **invoiced spend**: a channel's spend written on one day a month (the invoice date) while its ads ran
  all month: the model reads the spend where it is booked, and a 14-day carry-over cannot reach the
  days it paid for (ROAS 0.16 [0.08, 0.24], 0.56 even with a 35-day window);
* **a launch at a relaunch**: a channel that starts in the same weeks as the business steps up (a new
  site, a new product line) takes the step as its own effect (ROAS 8.7 [7.6, 9.9], "identified"); a
  ``control_<name>`` column stepping at that date gave 1.9 [1.0, 3.4].

Both are warnings (:mod:`bayes_mmm.data.validate`): the data may be right (a monthly newsletter; a launch
that truly doubled sales), and only the merchant knows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

#: Median gap between spend days, in days, from which spend looks booked in lumps (monthly invoices;
#: weekly bookings, gap 7, cost little: ROAS 1.59 against 1.8 in the pass above).
LUMP_GAP_DAYS = 20
#: … with at least this many spend days (fewer: a one-off flight, not a booking habit) holding this share of the spend
#: (a channel's few holiday bursts hold far less).
LUMP_MIN_DAYS = 3
LUMP_SPEND_SHARE = 0.8
#: Days before and after a launch (or stop) compared; and the smallest share of revenue a shift must reach (an
#: autumn's season and weather moved an independent lake's revenue by 31 % across 8 weeks).
SHIFT_WINDOW_DAYS = 56
SHIFT_MIN_SHARE = 0.5
#: Spend below this share of the channel's median spend (on its spend days) does not count as launched: a test.
LAUNCH_SHARE = 0.1
#: A revenue shift above this multiple of the channel's spend is beyond any plausible ROAS (the default
#: prior's 90 % range is 0.5–10): something else changed at the same time.
SHIFT_ROAS = 10.0


def booking_lumps(spend: np.ndarray) -> tuple[int, float, float] | None:
    """``(lump days, median gap in periods, their share of the spend)`` when a daily series' spend comes in lumps; None otherwise.

    Lump days are those with a tenth of the largest day's spend or more, when they hold
    :data:`LUMP_SPEND_SHARE` of the spend: a small daily fee beside monthly invoices does not hide them.
    """
    x = np.nan_to_num(np.asarray(spend, dtype=float))
    big = x >= 0.1 * x.max() if x.max() > 0 else np.zeros(x.shape, bool)
    on = np.flatnonzero(big)
    share = float(x[big].sum() / x.sum()) if len(on) else 0.0
    if len(on) < LUMP_MIN_DAYS or share < LUMP_SPEND_SHARE:
        return None
    gap = float(np.median(np.diff(on)))
    return (len(on), gap, share) if gap >= LUMP_GAP_DAYS else None


def launch_shift(
    revenue: np.ndarray, spend: np.ndarray, period_days: int = 1, controls: np.ndarray | None = None,
) -> tuple[str, int, float, float] | None:
    """``(kind, index, revenue shift per period, spend per period)`` of a launch or stop that coincides with a level shift.

    A launch: no spend before ``index`` (or under :data:`LAUNCH_SHARE` of its median: a test), spend from it; a
    stop: spend up to ``index − 1``, none (or as little) from it; each with
    :data:`SHIFT_WINDOW_DAYS` of data on both sides. The shift is the change in median revenue across ``index``;
    it counts when above :data:`SHIFT_ROAS` × the channel's spend per period on its side and
    :data:`SHIFT_MIN_SHARE` of the level before, unless revenue moved as much in an earlier year (the season) or a
    control column ``controls (K, T)`` steps at ``index`` too (the merchant already told the model what
    changed). None otherwise.
    """
    y = np.asarray(revenue, dtype=float)
    x = np.nan_to_num(np.asarray(spend, dtype=float))
    w = max(2, SHIFT_WINDOW_DAYS // period_days)
    if not (x > 0).any():
        return None
    # A few dollars of test spend before the real launch (or after the stop) do not hide it.
    on = np.flatnonzero(x >= LAUNCH_SHARE * np.median(x[x > 0]))
    for kind, i, side in (("launch", int(on[0]), slice(int(on[0]), int(on[0]) + w)),
                          ("stop", int(on[-1]) + 1, slice(max(0, int(on[-1]) + 1 - w), int(on[-1]) + 1))):
        if i < w or len(y) - i < w:
            continue
        before, after = _medians(y, i, w)
        shift, level = after - before, float(np.mean(x[side]))
        if not (abs(shift) > SHIFT_ROAS * level and abs(shift) > SHIFT_MIN_SHARE * abs(before)):
            continue  # NaN (a blank window) lands here too
        if not _seasonal(y, i, w, shift, period_days) and not _stepped(controls, i, w):
            return kind, i, shift, level
    return None


def _seasonal(y: np.ndarray, i: int, w: int, shift: float, period_days: int) -> bool:
    """Whether revenue moved the same way across the same date by over half of ``shift`` in any earlier year of the data.

    The same move in an earlier year is the season's (a channel run only in the holidays), not the channel's.
    Every earlier year counts: one year's season can be muted (a mild autumn, a competitor's promotion), and
    an independent weekly lake's winter rose by +104k one year and +341k the year before against +248k at a stop.
    """
    year = 365 // period_days
    back = range(i - year, w - 1, -year)  # the same index 1, 2, … years before, with a full window before it
    moves = [float(np.diff(_medians(y, j, w))[0]) for j in back]
    return any(m * np.sign(shift) > 0.5 * abs(shift) for m in moves)  # the same way: a fall does not explain a rise


def _stepped(controls: np.ndarray | None, i: int, w: int) -> bool:
    """Whether any control steps across ``i``: its median moves by over half its sd (windows of ``w`` periods).

    A step column (0, then 1) moves by about twice its sd; a price index's noise by a fraction of it.
    """
    if controls is None:
        return False
    c = np.asarray(controls, dtype=float).reshape(-1, np.shape(controls)[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-blank window: no step
        move = np.abs(np.nanmedian(c[:, i:i + w], axis=1) - np.nanmedian(c[:, i - w:i], axis=1))
        return bool(np.any(move > 0.5 * np.nanstd(c, axis=1)))


def _medians(y: np.ndarray, i: int, w: int) -> tuple[float, float]:
    """Median of ``y`` over the ``w`` periods before ``i`` and over the ``w`` from it (NaN for a blank window)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(np.nanmedian(y[i - w:i])), float(np.nanmedian(y[i:i + w]))


#: Spend periods on each side of a possible change of unit (daily; weekly data: 8 weeks), and the jump in their
#: median that counts as one: cents read as units, or an export switched to thousands, moves the level 100× or
#: 1,000× at one row, while budgets grow by steps of a few times.
UNIT_STEP_DAYS = 28
UNIT_STEP_WEEKS = 8
UNIT_STEP_RATIO = 50.0


def unit_step(spend: np.ndarray, period_days: int = 1) -> tuple[int, float, float] | None:
    """``(index, median before, median after)`` where the median of a channel's spend periods jumps by
    :data:`UNIT_STEP_RATIO` or more either way, the medians over the spend periods just before and from the step
    (as many as a side holds, up to the window); None otherwise."""
    x = np.nan_to_num(np.asarray(spend, dtype=float))
    on = np.flatnonzero(x > 0)
    w = UNIT_STEP_DAYS if period_days == 1 else UNIT_STEP_WEEKS
    if len(on) < 2 * w:
        return None
    rolled = pd.Series(x[on]).rolling(w).median().to_numpy()
    before, after = rolled[w - 1 : len(on) - w], rolled[2 * w - 1 :]  # split k = w … n − w: v[k−w:k] and v[k:k+w]
    jump = np.abs(np.log(after / before))
    k = int(np.argmax(jump))
    if jump[k] < np.log(UNIT_STEP_RATIO):
        return None
    # The medians barely move while the split slides over the step: the step is the first period nearer the new level.
    v = np.log(x[on[k : k + 2 * w]])
    nearer = np.abs(v - np.log(after[k])) < np.abs(v - np.log(before[k]))
    p, spent = k + int(np.argmax(nearer)), x[on]
    return int(on[p]), float(np.median(spent[max(p - w, 0) : p])), float(np.median(spent[p : p + w]))
