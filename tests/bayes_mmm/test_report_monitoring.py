"""The report's Monitoring section (a hand-written monitor.json) and a refreshed run's ROAS moves vs its parent."""

from __future__ import annotations

import html as htmllib
import json
import re
import shutil
from pathlib import Path

import pytest

from bayes_mmm.core.errors import DataError
from bayes_mmm.surfaces.report import render_report


@pytest.fixture
def run(stored_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(stored_run, tmp_path / "run"))


def section(html: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">(.*?)</section>', html, flags=re.S)
    assert found, f"no section {anchor}"
    return found.group(1)


def cells(row_html: str) -> list[str]:
    return [htmllib.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row_html, flags=re.S)]


def monitor_entry(r2: float, ref: float, mape: float, cov: float, action: str, reasons: list[str], data: list[str]) -> dict:
    return {"r2": r2, "mape": mape, "coverage_90": cov, "action": action, "model_drift": bool(reasons),
            "model_drift_reasons": reasons, "data_drift": data,
            "reference": {"r2": 0.9, "mape": 5.5, "mse": 1.0, "source": "in_sample", "r2_on_new_periods": ref}}


def test_monitoring_section_shows_each_tenant_as_monitor_json_says(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    a, b, c = summary["data"]["tenants"]
    report = {"run_id": summary["run_id"], "created_by": "bayes-mmm monitor",
              "checked": {"start": "2024-07-19", "end": "2024-08-17", "periods": 30},
              "tenants": {a: monitor_entry(0.8123, 0.85, 6.04, 0.9333, "ok", [], []),
                          b: monitor_entry(0.7, 0.8, 7.0, 0.9, "investigate", [], ["new channel: tiktok"]),
                          c: monitor_entry(-6.462, 0.72, 31.26, 0.4, "retrain", ["r2 -6.46 < 0.65 (reference on these periods 0.72 − 10 %; MSE ×9.1)"], [])}}
    (run / "monitor.json").write_text(json.dumps(report))
    html = render_report(run, max_tenants=0, progress=False)

    part = section(html, "monitoring")
    assert "2024-07-19 → 2024-08-17 (30 periods)" in part
    rows = {m.group(1): cells(m.group(0)) for m in re.finditer(r'<tr[^>]*data-tenant="([^"]+)">.*?</tr>', part, flags=re.S)}
    assert rows[a] == [a, "0.812", "0.850", "6.0", "5.5", "0.93", "in_sample", "–", "ok"]
    assert rows[b] == [b, "0.700", "0.800", "7.0", "5.5", "0.90", "in_sample", "new channel: tiktok", "investigate"]
    assert rows[c] == [c, "-6.462", "0.720", "31.3", "5.5", "0.40", "in_sample",
                       "r2 -6.46 < 0.65 (reference on these periods 0.72 − 10 %; MSE ×9.1)", "retrain"]
    assert "r2 -6.46 &lt; 0.65" in part  # reasons are text, escaped
    assert re.findall(r'<tr class="bad" data-tenant="([^"]+)"', part) == [c]
    assert len(re.findall(r'data-figure="monitor"', part)) == 1
    assert 'href="#monitoring"' in html and "written for run" not in part
    assert "data-not-checked" not in part

    report["not_checked"] = {c: "no revenue after its last fitted period 2024-07-18"}
    del report["tenants"][c]
    (run / "monitor.json").write_text(json.dumps(report))
    part = section(render_report(run, max_tenants=0, progress=False), "monitoring")
    said = re.search(r"<p class=\"meta\" data-not-checked>(.*?)</p>", part, flags=re.S)
    assert said and said.group(1) == f"Not checked (no new revenue yet): {c} (no revenue after its last fitted period 2024-07-18)."


def test_no_monitoring_or_moves_without_their_files(run: Path) -> None:
    html = render_report(run, max_tenants=0, progress=False)
    assert 'id="monitoring"' not in html and 'id="parent-moves"' not in html and 'data-figure="monitor"' not in html


def test_damaged_monitor_json_is_one_data_error(run: Path) -> None:
    (run / "monitor.json").write_text('{"tenants": [1, 2]}')
    with pytest.raises(DataError, match=r"monitor.json.*per-tenant entries under 'tenants', found a list"):
        render_report(run, max_tenants=0, progress=False)


def test_refreshed_run_shows_roas_moves_vs_its_parent(run: Path, stored_run: Path, tmp_path: Path) -> None:
    parent = Path(shutil.copytree(stored_run, tmp_path / "parent"))
    old = json.loads((parent / "summary.json").read_text())
    tid, ch = old["data"]["tenants"][1], old["data"]["channels"][0]
    new = json.loads((run / "summary.json").read_text())
    # halve one ROAS in the new run: its interval no longer overlaps the parent's
    new["tenants"][tid]["roas"][ch] = {k: v / 2 for k, v in old["tenants"][tid]["roas"][ch].items()}
    new["parent"] = {"run_id": old["run_id"], "path": str(parent), "data_end": old["data"]["end"], "refit_seconds": 10.0}
    (run / "summary.json").write_text(json.dumps(new))
    html = render_report(run, max_tenants=0, progress=False)

    part = section(html, "parent-moves")
    assert f"refreshed from run {old['run_id']}" in part
    rows = [cells(r) for r in re.findall(r"<tr[^>]*>.*?</tr>", part.split("<tbody>")[1], flags=re.S)]
    n_tenants, n_channels = len(old["data"]["tenants"]), len(old["data"]["channels"])
    assert len(rows) == n_tenants * n_channels * 2  # ROAS and mROAS of every tenant × channel
    moved = [r[:3] for r in rows if r[5] == "yes"]
    assert moved == [[tid, ch, "roas"]]
    o, h = old["tenants"][tid]["roas"][ch], new["tenants"][tid]["roas"][ch]
    row = next(r for r in rows if r[:3] == [tid, ch, "roas"])
    assert row[3] == f"{o['mean']:.2f} [{o['q05']:.2f}, {o['q95']:.2f}]" and row[4] == f"{h['mean']:.2f} [{h['q05']:.2f}, {h['q95']:.2f}]"

    shutil.rmtree(parent)
    gone = section(render_report(run, max_tenants=0, progress=False), "parent-moves")
    assert f"no longer at {parent / 'summary.json'}" in gone and "<tbody>" not in gone
