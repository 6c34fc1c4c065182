"""Weekly exports in: the import's cadence, daily exports summed into weeks, and PyMC-Marketing's public
weekly example (tests/fixtures/public/pymc_marketing_example, SOURCE.md) imported, validated and fitted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.core.errors import DataError
from bayes_mmm.data.import_periods import forecast_periods, into_periods
from bayes_mmm.data.importers import assemble, import_tenant, make_spec
from bayes_mmm.data.validate import failed, validate_lake
from bayes_mmm.surfaces.cli import app

PUBLIC = Path(__file__).resolve().parents[1] / "fixtures" / "public" / "pymc_marketing_example"
OM_HEAD = "latitude,longitude,elevation,utc_offset_seconds,timezone,timezone_abbreviation\n43.66,-70.26,12.0,-18000,America/New_York,EST\n\n"


def _raw() -> pd.DataFrame:
    return pd.read_csv(PUBLIC / "mmm_example.csv", parse_dates=["date_week"])


def test_public_weekly_example_imports_as_a_weekly_tenant(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", "--mapping", str(PUBLIC / "mapping.toml"), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "179 weeks (2018-04-02 to 2021-08-30)" in result.output
    folder = tmp_path / "pymc-marketing-example"
    assert sorted(p.name for p in folder.iterdir()) == ["tenant.json", "weekly.csv"]
    got, raw = pd.read_csv(folder / "weekly.csv"), _raw()
    assert list(got.columns) == ["date", "revenue", "spend_x1", "spend_x2", "event"]
    np.testing.assert_allclose(got["revenue"], raw["y"], rtol=1e-9)
    np.testing.assert_allclose(got["spend_x1"], 1000 * raw["x1"], atol=1e-5)
    events = got.loc[got["event"] == 1, "date"].tolist()
    assert events == raw.loc[(raw["event_1"] > 0) | (raw["event_2"] > 0), "date_week"].dt.strftime("%Y-%m-%d").tolist()
    assert events == ["2019-05-13", "2020-09-14"]
    assert failed(validate_lake(tmp_path)).empty


def test_daily_exports_are_summed_into_the_revenue_weeks(tmp_path: Path) -> None:
    weeks = pd.date_range("2024-01-01", periods=4, freq="7D")  # Mondays
    (tmp_path / "sales.csv").write_text("Day,sales\n" + "".join(f"{d:%Y-%m-%d},{100 + i}\n" for i, d in enumerate(weeks)))
    days = pd.date_range("2023-12-30", "2024-01-31", freq="D")  # two days before, three after the weeks
    spend = np.arange(len(days), dtype=float)
    (tmp_path / "ads.csv").write_text("Day,Cost\n" + "".join(f"{d:%Y-%m-%d},{s}\n" for d, s in zip(days, spend, strict=True)))
    temp = np.linspace(-5, 10, len(days))
    (tmp_path / "om.csv").write_text(OM_HEAD + "time,temperature_2m_mean (°C),precipitation_sum (mm)\n"
                                     + "".join(f"{d:%Y-%m-%d},{t:.3f},1.0\n" for d, t in zip(days, temp, strict=True)))
    spec = make_spec(tenant_id="weekly-shop", revenue=tmp_path / "sales.csv", revenue_column="sales",
                     channels={"google": tmp_path / "ads.csv"}, weather=tmp_path / "om.csv")
    imp = assemble(spec)
    assert imp.cadence == "weekly"
    # Independent: each Monday's week is that Monday and the six days after it.
    for w, row in zip(weeks, imp.daily.itertuples(), strict=True):
        inside = (days >= w) & (days < w + pd.Timedelta(days=7))
        assert row.spend_google == pytest.approx(spend[inside].sum())
        assert row.temp_c == pytest.approx(np.round(temp[inside], 3).mean(), abs=1e-6)
        assert row.precip_mm == pytest.approx(7.0)
    outside = spend[(days < weeks[0]) | (days >= weeks[-1] + pd.Timedelta(days=7))].sum()  # 12-30, 12-31, 01-29..31
    assert f"google: 5 day(s) ({outside:,.2f} of spend) dated outside the revenue's periods dropped" in imp.notes
    assert imp.notes[0] == "revenue: every row on a Monday: read as one row per week (weekly.csv)"
    import_tenant(spec, tmp_path / "lake")
    assert (tmp_path / "lake" / "weekly-shop" / "weekly.csv").is_file()


def _sales(tmp_path: Path, dates: list[str]) -> Path:
    (tmp_path / "sales.csv").write_text("Day,sales\n" + "".join(f"{d},1\n" for d in dates))
    (tmp_path / "ads.csv").write_text("Day,Cost\n2024-01-01,1\n")
    return tmp_path / "sales.csv"


def _spec(tmp_path: Path, dates: list[str], **kw):
    return make_spec(tenant_id="s", revenue=_sales(tmp_path, dates), revenue_column="sales",
                     channels={"g": tmp_path / "ads.csv"}, **kw)


def test_cadence_is_weekly_only_when_every_row_is_on_one_weekday(tmp_path: Path) -> None:
    # Sparse daily sales (a shop closed at weekends, or a quiet one) stay daily: the gaps are days without sales.
    sparse = [f"{d:%Y-%m-%d}" for d in pd.date_range("2024-01-01", periods=30, freq="D") if d.day_of_week < 5]
    imp = assemble(_spec(tmp_path, sparse, missing_revenue="zero"))
    assert imp.cadence == "daily" and len(imp.daily) == 30 and (imp.daily["revenue"] == 0).sum() == 8
    # Alternating Mondays and Tuesdays: daily with gaps, refused by default, naming the first missing day.
    with pytest.raises(DataError) as e:
        assemble(_spec(tmp_path, ["2024-01-01", "2024-01-09", "2024-01-15", "2024-01-23"]))
    assert str(e.value).startswith(f"{tmp_path / 'sales.csv'}, column 'sales': 19 day(s) without rows between "
                                   "2024-01-01 and 2024-01-23, first 2024-01-02")
    # Weekly with most weeks missing: still weekly; the missing weeks are named, or filled when asked.
    gaps = ["2024-01-01", "2024-01-15", "2024-02-12", "2024-03-18"]
    with pytest.raises(DataError, match=r"8 week\(s\) without rows between 2024-01-01 and 2024-03-18, first 2024-01-08"):
        assemble(_spec(tmp_path, gaps))
    filled = assemble(_spec(tmp_path, gaps, missing_revenue="zero"))
    assert filled.cadence == "weekly" and filled.daily["revenue"].tolist() == [1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    with pytest.raises(DataError, match="only 1 date\\(s\\): too short to model"):
        assemble(_spec(tmp_path, ["2024-01-01"]))


def test_weekly_export_on_another_weekday_is_named(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["2024-01-01", "2024-01-08", "2024-01-15"])
    (tmp_path / "ads.csv").write_text("Day,Cost\n2024-01-07,10\n2024-01-14,20\n")  # Sundays
    imp = assemble(spec)
    assert imp.daily["spend_g"].tolist() == [10.0, 20.0, 0.0]  # each row in the week that contains it
    assert ("g: every row on Sundays (ads.csv, column 'Day'), the revenue's weeks start on Mondays; each counts in "
            "the week that contains it: if they are weekly totals, export by day or by the same weeks") in imp.notes


def test_a_week_with_a_blank_weather_day_stays_blank(tmp_path: Path) -> None:
    days = pd.date_range("2024-01-01", periods=14, freq="D")
    temp = [f"{t:.1f}" if i != 9 else "" for i, t in enumerate(np.arange(14.0))]  # 2024-01-10 blank
    (tmp_path / "om.csv").write_text(OM_HEAD + "time,temperature_2m_mean (°C),precipitation_sum (mm)\n"
                                     + "".join(f"{d:%Y-%m-%d},{t},1.0\n" for d, t in zip(days, temp, strict=True)))
    imp = assemble(_spec(tmp_path, ["2024-01-01", "2024-01-08"], weather=tmp_path / "om.csv"))
    assert imp.daily["temp_c"].iloc[0] == pytest.approx(3.0) and np.isnan(imp.daily["temp_c"].iloc[1])
    assert imp.daily["precip_mm"].tolist() == [7.0, 7.0]


def test_mapping_sections_that_are_not_tables(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text('tenant_id = "s"\nevents = 5\n[revenue]\nfile = "x.csv"\n')
    with pytest.raises(DataError, match="'events' must be a table \\(\\[events\\] …\\), not 5"):
        make_spec(tmp_path / "m.toml")
    (tmp_path / "m.toml").write_text('tenant_id = "s"\n[revenue]\nfile = "x.csv"\n[events.promo]\ncolumn = "d"\n')
    with pytest.raises(DataError) as e:
        make_spec(tmp_path / "m.toml")
    assert str(e.value).endswith('[events.promo] needs a file — file = "export.csv" in the mapping')


def test_weekly_rows_in_a_daily_import_are_named_not_refused(tmp_path: Path) -> None:
    days = pd.date_range("2024-01-01", periods=28, freq="D")
    (tmp_path / "sales.csv").write_text("Day,sales\n" + "".join(f"{d:%Y-%m-%d},5\n" for d in days))
    (tmp_path / "ads.csv").write_text("Day,Cost\n" + "".join(f"{d:%Y-%m-%d},70\n" for d in days[::7]))
    spec = make_spec(tenant_id="s", revenue=tmp_path / "sales.csv", revenue_column="sales", channels={"g": tmp_path / "ads.csv"})
    imp = assemble(spec)  # a weekly newsletter looks like this too
    assert imp.cadence == "daily" and imp.daily["spend_g"].tolist() == [70.0, 0, 0, 0, 0, 0, 0] * 4
    assert "g: rows only every 7 days (ads.csv, column 'Day'); each counts as that day's spend: if they are weekly " \
           "totals, export by day" in imp.notes


def test_period_helpers_against_hand_sums() -> None:
    weeks = pd.date_range("2024-03-04", periods=2, freq="7D")
    sums = pd.Series([1.0, 2.0, 4.0, 8.0], index=pd.to_datetime(["2024-03-03", "2024-03-04", "2024-03-10", "2024-03-11"]))
    spend, outside = into_periods(sums, weeks, "weekly")
    assert spend.tolist() == [6.0, 8.0] and outside == 1
    days = pd.date_range("2024-03-12", periods=16, freq="D")
    fc = pd.DataFrame({"temp_c": np.arange(16.0), "precip_mm": np.ones(16)}, index=days)
    weekly = forecast_periods(fc, weeks[-1], "weekly")  # after the week of 03-11: 03-18 whole, 03-25 only 3 days
    assert [f"{d:%Y-%m-%d}" for d in weekly.index] == ["2024-03-18"]
    assert weekly["temp_c"].tolist() == [9.0] and weekly["precip_mm"].tolist() == [7.0]  # days 6..12 of 0..15


def _true_roas() -> dict[str, float]:
    """ROAS of the generator (SOURCE.md), from its formula: geometric adstock (8 weeks, not normalised),
    logistic saturation, coefficients 3 and 2 on sales in thousands; spend read as thousands."""
    raw = _raw()
    out = {}
    for ch, alpha, lam, beta in (("x1", 0.4, 4.0, 3.0), ("x2", 0.2, 3.0, 2.0)):
        x = raw[ch].to_numpy()
        ad = sum(alpha**lag * np.r_[np.zeros(lag), x[: len(x) - lag]] for lag in range(8))
        sat = (1 - np.exp(-lam * ad)) / (1 + np.exp(-lam * ad))
        out[ch] = float(1000 * beta * sat.sum() / (1000 * x.sum()))
    return out


@pytest.mark.slow
def test_public_weekly_example_fits_and_recovers_the_on_off_channel(tmp_path: Path) -> None:
    """Converges; x2 (on/off) is recovered. x1 is always on and saturated: its ROAS rests on the curve's shape
    below the lowest spend seen; these data favour an S-shaped Hill curve (an independent least-squares fit
    too), which extrapolates to about half the logistic truth, whatever the ROAS prior (RESULTS §13)."""
    runner = CliRunner()
    assert runner.invoke(app, ["import", "--mapping", str(PUBLIC / "mapping.toml"), "--out", str(tmp_path / "lake")]).exit_code == 0
    res = runner.invoke(app, ["fit", "--data", str(tmp_path / "lake"), "--tenant", "all", "--out", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    assert "fitting 1 tenants × 179 weeks × 2 channels" in res.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["convergence"]["ok"] is True
    roas, truth = summary["tenants"]["pymc-marketing-example"]["roas"], _true_roas()
    assert truth["x2"] == pytest.approx(2.56, abs=0.01) and truth["x1"] == pytest.approx(6.81, abs=0.01)
    assert roas["x2"]["mean"] == pytest.approx(truth["x2"], rel=0.15)
