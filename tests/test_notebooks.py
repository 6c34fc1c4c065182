"""The analyst notebooks run end to end (with tiny sizes) and are stored without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ALL = sorted(NOTEBOOKS.glob("*.ipynb"))

#: Tiny sizes substituted for the parameters cell's defaults (only names the notebook defines are replaced).
TINY = {
    "N_TENANTS": 3,
    "DAYS": 365,
    "SHORT_DAYS": 90,
    "DRAWS": 100,
    "TUNE": 100,
    "CHAINS": 2,
    "ALLOW_UNCONVERGED": True,  # tiny runs never pass the convergence gates
}


def _parameters_cell(nb) -> int:
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    return tagged[0]


def _tiny(nb, workdir: Path) -> dict:
    """Replace the parameters cell by tiny sizes; return the parameters used."""
    i = _parameters_cell(nb)
    params: dict = {}
    exec(nb.cells[i].source, {}, params)  # plain assignments of literals
    params.update({k: v for k, v in TINY.items() if k in params})
    params["WORKDIR"] = str(workdir)
    nb.cells[i].source = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    return params


def _kernel_ready() -> None:
    """Make sure kernel 'python3' runs this interpreter (the venv's), installing a kernelspec if needed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        spec = KernelSpecManager().get_kernel_spec("python3")
        argv0 = spec.argv[0]
        if argv0 in ("python", "python3", sys.executable) or Path(argv0).resolve() == Path(sys.executable).resolve():
            return
    except NoSuchKernel:
        pass
    from ipykernel.kernelspec import install

    install(prefix=sys.prefix, kernel_name="python3")


def _result(nb) -> dict:
    """The JSON the last cell prints (its ``RESULT``)."""
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    lines = [ln for ln in text.splitlines() if ln.startswith("{")]
    assert lines, f"last cell printed no RESULT JSON: {text!r}"
    return json.loads(lines[-1])


def _run(path: Path, tmp_path: Path) -> tuple[dict, dict]:
    nb = nbformat.read(path, as_version=4)
    params = _tiny(nb, tmp_path / "work")
    _kernel_ready()
    client = nbclient.NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0]['ename']}: {errors[0]['evalue']}"
    return _result(nb), params


def _check_quickstart(r: dict, p: dict) -> None:
    assert len(r["tenants"]) == p["N_TENANTS"]
    assert r["roas_rows"] == p["N_TENANTS"] * len(r["channels"]) == p["N_TENANTS"] * 3
    assert r["failed_gates"] == 0
    assert 0.0 <= r["coverage_90"] <= 1.0


def _check_weather_pooling(r: dict, p: dict) -> None:
    assert r["short_days"] == p["SHORT_DAYS"]
    assert (r["gamma_dims"]["channel"], r["gamma_dims"]["weather"]) == (3, 2)
    for model in ("pooled", "unpooled"):
        widths = [w for w in r["width_90"][model].values() if w is not None]
        assert widths and all(w > 0 for w in widths)
    assert r["elasticity_rows"] == p["N_TENANTS"] * 2


def _check_allocation(r: dict, p: dict) -> None:
    assert r["plan_days"] == p["PLAN_DAYS"]
    assert set(r["objectives"].values()) == {"mean", "mean-sd:1", "cvar:0.1"}
    for total in r["plan_totals"].values():
        assert total == pytest.approx(r["budget"], rel=1e-4)
    assert all(0.0 <= v <= 1.0 for v in r["prob_plan_beats_current"].values())
    assert r["forecast_rows"] == p["PLAN_DAYS"]


def _check_byod(r: dict, p: dict) -> None:
    assert {"date", "temp_c", "precip_mm", "snow_cm"} <= set(r["sample_columns"])
    assert not any("(" in c for c in r["sample_columns"]), "an Open-Meteo column escaped the mapping"
    assert len(r["lake_tenants"]) == p["N_TENANTS"]
    assert r["lake_days"] == p["DAYS"]
    assert r["failed_gates"] == 0
    assert r["error_column"] == "spend_meta"
    assert "daily.csv" in r["error"] and "spend_meta" in r["error"]
    assert r["error_rows"] == [5, 10]


def _check_import(r: dict, p: dict) -> None:
    assert (r["tenant"], r["days"]) == ("harbor-home", 121)
    assert r["channels"] == ["meta", "google", "tiktok", "email"]
    assert r["google_first_day"] == 1061.85  # "1,061.85" in the Google Ads export
    assert r["failed_gates"] == 0
    assert r["forecast_rows"] == 7
    assert r["error_column"] == "Spend_Email"
    assert r["lift"] == [{"channel": "meta", "kind": "window", "incremental_revenue": 9800.0}]


def _check_lift(r: dict, p: dict) -> None:
    tenants = r["tenants"]
    assert len(tenants) == p["N_TENANTS"]
    assert r["tests_used"] == p["N_TENANTS"]  # one holdout per tenant, all inside the data
    assert r["calibrated_channels"] == {t: [p["CHANNEL"]] for t in tenants}
    assert r["measured"] == r["written"]  # the summary records what lift_tests.csv says
    assert r["without_has_lift"] is False
    # the experiment narrows the tested channel's interval (median over tenants)
    ratio = [r["width_90"]["with"][t] / r["width_90"]["without"][t] for t in tenants]
    assert sorted(ratio)[len(ratio) // 2] < 1.0


CHECKS = {
    "01_quickstart.ipynb": _check_quickstart,
    "02_weather_and_pooling.ipynb": _check_weather_pooling,
    "03_budget_allocation.ipynb": _check_allocation,
    "04_bring_your_own_data.ipynb": _check_byod,
    "05_import_real_exports.ipynb": _check_import,
    "06_lift_tests.ipynb": _check_lift,
}


def test_every_notebook_has_a_check() -> None:
    assert sorted(p.name for p in ALL) == sorted(CHECKS)


#: Notebooks that fit models take 6–14 minutes each on a 2-core CI machine even at tiny sizes (compilation and
#: warm-up dominate), more than the whole default suite may; they run with --run-slow. The others run always.
FITTING = {"01_quickstart.ipynb", "02_weather_and_pooling.ipynb", "03_budget_allocation.ipynb", "06_lift_tests.ipynb"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in FITTING else n for n in sorted(CHECKS)])
def test_notebook_runs(name: str, tmp_path: Path) -> None:
    result, params = _run(NOTEBOOKS / name, tmp_path)
    CHECKS[name](result, params)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_notebook_stored_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    _parameters_cell(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a code cell has stored outputs"
            assert cell.execution_count is None, f"{path.name}: a code cell has an execution count"
