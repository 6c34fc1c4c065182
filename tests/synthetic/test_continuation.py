"""Continuing a synthetic lake past its end, with and without a regime change, against exact truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_mmm.surfaces.cli import app
from synthetic import simulate_universe, write_lake
from synthetic.continuation import NEW_CHANNEL_ROAS, continue_lake

DAYS = 40


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cont") / "lake"
    write_lake(simulate_universe(n_tenants=2, n_days=365, seed=5), out)
    return out


@pytest.fixture(scope="module")
def plain(lake: Path):
    return continue_lake(lake, DAYS)


def test_old_rows_and_truth_are_unchanged(lake: Path, plain) -> None:
    for t in plain:
        old = pd.read_csv(lake / t.tenant_id / "daily.csv", parse_dates=["date"])
        pd.testing.assert_frame_equal(t.daily.iloc[: len(old)].reset_index(drop=True), old, check_dtype=False)
        assert len(t.daily) == len(old) + DAYS
        assert t.daily["date"].diff().iloc[1:].eq(pd.Timedelta(days=1)).all()
        old_truth = pd.read_parquet(lake / t.tenant_id / "truth_daily.parquet")
        # the rebuilt generator reproduces the old expected revenue exactly
        np.testing.assert_allclose(t.forward({c: t.daily[f"spend_{c}"].to_numpy() for c in ("meta", "google", "email")})[: len(old)],
                                   old_truth["expected_revenue"], rtol=1e-12)
        new_truth = t.truth_daily.iloc[len(old):]
        np.testing.assert_allclose(t.daily["revenue"].iloc[len(old):], np.maximum(new_truth["expected_revenue"] + new_truth["noise"], 0))
        assert t.truth["continuation"]["changed"] is False and t.truth["continuation"]["regime"] is None


def test_same_lake_gives_the_same_continuation(lake: Path, plain) -> None:
    again = continue_lake(lake, DAYS)
    for a, b in zip(plain, again, strict=True):
        pd.testing.assert_frame_equal(a.daily, b.daily)


def test_replicates_draw_new_days_independently_and_keep_the_old_rows(lake: Path, plain) -> None:
    other = continue_lake(lake, DAYS, replicate=3)
    for a, b in zip(plain, other, strict=True):
        n_old = len(a.daily) - DAYS
        pd.testing.assert_frame_equal(a.daily.iloc[:n_old], b.daily.iloc[:n_old])
        for col in ("revenue", "spend_meta", "temp_c"):
            assert not np.allclose(a.daily[col].iloc[n_old:], b.daily[col].iloc[n_old:]), col
        assert (a.truth["continuation"]["replicate"], b.truth["continuation"]["replicate"]) == (0, 3)
    again = continue_lake(lake, DAYS, replicate=3)
    pd.testing.assert_frame_equal(other[0].daily, again[0].daily)
    with pytest.raises(ValueError, match="replicate must be >= 0, got -1"):
        continue_lake(lake, DAYS, replicate=-1)


def test_roas_halves_on_one_tenant(lake: Path, plain) -> None:
    first = plain[0].tenant_id
    changed = continue_lake(lake, DAYS, "roas_halves:meta@2025-01-10", tenants=[first])
    after = changed[0].truth_daily["date"] >= "2025-01-10"
    np.testing.assert_allclose(changed[0].truth_daily.loc[after, "media_meta"], 0.5 * plain[0].truth_daily.loc[after, "media_meta"])
    np.testing.assert_allclose(changed[0].truth_daily.loc[~after, "media_meta"], plain[0].truth_daily.loc[~after, "media_meta"])
    assert changed[0].truth["continuation"]["regime"] == {"kind": "roas_halves", "channel": "meta", "date": "2025-01-10"}
    assert changed[1].truth["continuation"]["changed"] is False
    pd.testing.assert_frame_equal(changed[1].daily, plain[1].daily)


def test_new_channel_starts_on_its_date(lake: Path) -> None:
    t = continue_lake(lake, DAYS, "new_channel:tiktok@2025-01-15")[0]
    s = t.daily.set_index("date")["spend_tiktok"]
    assert (s[:"2025-01-14"] == 0).all() and (s["2025-01-15":] > 0).mean() > 0.5
    assert t.truth["continuation"]["channels"]["tiktok"]["roas_new"] == pytest.approx(NEW_CHANNEL_ROAS)


def test_weather_station_breaks_reports_a_constant(lake: Path, plain) -> None:
    t = continue_lake(lake, DAYS, "weather_station_breaks@2025-01-15")[0]
    after = t.daily.set_index("date")["2025-01-15":]
    assert after["temp_c"].nunique() == 1 and after["precip_mm"].nunique() == 1
    # revenue still follows the real weather: identical to the plain continuation
    np.testing.assert_array_equal(t.daily["revenue"], plain[0].daily["revenue"])


@pytest.mark.parametrize(("text", "message"), [
    ("roas_halves@2025-01-10", "--regime must be"),
    ("weather_station_breaks:meta@2025-01-10", "--regime must be"),
    ("roas_halves:meta@2024-06-01", "outside the new period 2024-12-31..2025-02-08"),
    ("roas_halves:tiktok@2025-01-10", "unknown channel 'tiktok'"),
    ("new_channel:meta@2025-01-10", "'meta' already exists"),
])
def test_bad_regimes(lake: Path, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        continue_lake(lake, DAYS, text)


def test_cli_continues_and_records_the_change(lake: Path, tmp_path: Path) -> None:
    first = sorted(p.name for p in lake.iterdir())[0]
    out = tmp_path / "new"
    res = CliRunner().invoke(app, ["simulate", "--continue-from", str(lake), "--days", str(DAYS), "--out", str(out),
                                   "--regime", "roas_halves:google@2025-01-05", "--regime-tenants", first])
    assert res.exit_code == 0, res.output
    assert "1 changed" in res.output
    truth = json.loads((out / first / "truth.json").read_text())
    assert truth["continuation"]["regime"]["channel"] == "google"
    seeded = CliRunner().invoke(app, ["simulate", "--continue-from", str(lake), "--days", str(DAYS), "--out", str(tmp_path / "s2"),
                                      "--seed", "2"])
    assert seeded.exit_code == 0, seeded.output
    rows = pd.read_csv(tmp_path / "s2" / first / "daily.csv")
    pd.testing.assert_frame_equal(rows, continue_lake(lake, DAYS, replicate=2)[0].daily.assign(date=lambda d: d["date"].dt.strftime("%Y-%m-%d")),
                                  check_dtype=False)
    assert json.loads((tmp_path / "s2" / first / "truth.json").read_text())["continuation"]["replicate"] == 2
    bad = CliRunner().invoke(app, ["simulate", "--out", str(tmp_path / "x"), "--regime", "roas_halves:meta@2025-01-05"])
    assert bad.exit_code == 2 and "need --continue-from" in bad.output
