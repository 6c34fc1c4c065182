"""RunFolder: one owner of the run folder's files; every reader turns damage into one DataError line."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import arviz as az
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from bayes_mmm.core.errors import DataError
from bayes_mmm.core.spec import ModelSpec
from bayes_mmm.data.lake import read_tenant_meta
from bayes_mmm.runs.folder import RunFolder, check_out_file
from bayes_mmm.surfaces.cli import app

TENANTS, CHANNELS = ["a", "b"], ["meta", "google"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
#: Values shaped like the real files, so the property tests reach the deeper checks too.
summary_like = st.fixed_dictionaries(
    {"data": st.fixed_dictionaries({"tenants": json_values, "channels": json_values}) | json_values,
     "convergence": st.fixed_dictionaries({"ok": json_values}) | json_values,
     "config": st.fixed_dictionaries({"spec": json_values}) | json_values},
    optional={"groups": st.lists(st.fixed_dictionaries(
        {"id": json_values, "folder": st.sampled_from(["groups/g000", "../x", "/tmp", "groups/../../y"]) | json_values,
         "status": st.just("ok"), "tenants": json_values}), max_size=2), "tenants": json_values},
)
plan_like = st.fixed_dictionaries({"tenants": st.dictionaries(st.sampled_from(TENANTS), st.fixed_dictionaries(
    {"plan": json_values | st.dictionaries(st.text(max_size=3), json_values)}) | json_values) | json_values},
    optional={"days": json_values})
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def summary_of(tenants: list[str] = TENANTS, **extra) -> dict:
    return {"run_id": "r", "data": {"tenants": tenants, "channels": CHANNELS}, "convergence": {"ok": True},
            "config": {"spec": ModelSpec(l_max=7, adstock="geometric").to_dict()}, "tenants": {t: {"fit": {"r2": 0.5}} for t in tenants},
            **extra}


def write_run(folder: Path, tenants: list[str] = TENANTS) -> Path:
    """A minimal valid run folder: what every reader needs, no sampling."""
    n, c = len(tenants), len(CHANNELS)
    post = xr.Dataset({"roas": (("chain", "draw", "tenant", "channel"), np.ones((1, 3, n, c)))},
                      coords={"chain": [0], "draw": np.arange(3), "tenant": tenants, "channel": CHANNELS})
    const = xr.Dataset({"spend": (("tenant", "channel"), np.ones((n, c))), "y_scale": (("tenant",), np.ones(n))},
                       coords={"tenant": tenants, "channel": CHANNELS})
    RunFolder(folder).save(az.InferenceData(posterior=post, constant_data=const), summary_of(tenants))
    return folder


@pytest.fixture(scope="module")
def good_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_run(tmp_path_factory.mktemp("good") / "run")


@pytest.fixture
def run_copy(good_run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(good_run, tmp_path / "run"))


def message(fn) -> str:
    with pytest.raises(DataError) as info:
        fn()
    text = str(info.value)
    assert "\n" not in text  # one line for the CLI
    return text


# --------------------------------------------------------------------------- the real fit


def test_settings_come_from_the_summary_only(small_fit) -> None:
    result, run_dir = small_fit
    run = RunFolder(run_dir)
    idata, summary = run.load(need_tenants=True)
    assert not [k for k in idata.constant_data.attrs if k.startswith("spec_")]
    assert run.spec() == result.design.spec
    assert summary["data"]["tenants"] == result.design.tenants
    assert run.run_folders() == [run] and run.group_of("anything") == run


def test_truncated_real_idata_is_refused(small_fit, tmp_path: Path) -> None:
    _, run_dir = small_fit
    run = Path(shutil.copytree(run_dir, tmp_path / "run"))
    data = (run / "idata.nc").read_bytes()
    (run / "idata.nc").write_bytes(data[: len(data) // 2])
    text = message(RunFolder(run).load)
    assert text.startswith(f"{run / 'idata.nc'}: not a readable netCDF file (")


# --------------------------------------------------------------------------- properties: valid result or DataError


def _reads(good_run: Path, name: str, content: bytes, read) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(good_run, Path(tmp) / "run")
        (Path(tmp) / "run" / name).write_bytes(content)
        try:
            read(RunFolder(Path(tmp) / "run"))
        except DataError as exc:
            assert "\n" not in str(exc) and name in str(exc)


def _json_bytes(value) -> bytes:
    return json.dumps(value).encode()


@QUICK
@given(st.binary(max_size=200) | json_values.map(_json_bytes) | summary_like.map(_json_bytes))
def test_any_summary_is_read_or_refused(good_run: Path, content: bytes) -> None:
    def read(run: RunFolder) -> None:
        summary = run.summary(need_tenants=True)
        assert isinstance(summary["data"]["tenants"], list)
        run.spec(summary)
        run.run_folders()

    _reads(good_run, "summary.json", content, read)


@QUICK
@given(st.binary(max_size=200) | json_values.map(_json_bytes) | plan_like.map(_json_bytes))
@example(b'{"tenants":{"\\n":null}}')  # found by hypothesis: a key with a newline broke the one-line error
def test_any_allocation_or_evaluation_is_read_or_refused(good_run: Path, content: bytes) -> None:
    _reads(good_run, "allocation.json", content, lambda run: run.allocation())
    _reads(good_run, "evaluation.json", content, lambda run: run.evaluation())


@QUICK
@given(st.binary(max_size=300) | st.binary(max_size=300).map(lambda b: b"\x89HDF\r\n\x1a\n" + b) | st.just(b""))
def test_any_idata_bytes_are_refused(good_run: Path, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(good_run, Path(tmp) / "run")
        (Path(tmp) / "run" / "idata.nc").write_bytes(content)
        assert "not a readable netCDF file" in message(RunFolder(Path(tmp) / "run").load)


@QUICK
@given(st.binary(max_size=100) | json_values.map(_json_bytes))
def test_any_tenant_json_is_read_or_refused(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "shop").mkdir()
        (Path(tmp) / "shop" / "tenant.json").write_bytes(content)
        try:
            meta = read_tenant_meta(Path(tmp) / "shop")
        except DataError as exc:
            assert "tenant.json" in str(exc) and "\n" not in str(exc)
        else:
            assert meta == {"tenant_id": "shop", **json.loads(content)}


# --------------------------------------------------------------------------- specific damage


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "summary.json: invalid JSON (Expecting value at line 1)"),
        ('{"data": ', "summary.json: invalid JSON"),
        ("null", "summary.json: must hold a JSON object, found null"),
        ("[1, 2]", "summary.json: must hold a JSON object, found a list"),
        ('{"convergence": {}}', "summary.json: key 'data' is missing"),
        ('{"data": {"tenants": "a,b", "channels": []}, "convergence": {}}', "key 'data.tenants' must be a list, found a string"),
        ('{"data": {"tenants": ["a", 3], "channels": []}, "convergence": {}}', "key 'data.tenants' must list strings, found a number"),
        ('{"data": {"tenants": [], "channels": []}, "convergence": {"ok": "yes"}}', "key 'convergence.ok' must be a boolean, found a string"),
        ('{"data": {"tenants": [], "channels": []}, "convergence": []}', "key 'convergence' must be an object, found a list"),
    ],
)
def test_damaged_summary(run_copy: Path, text: str, fragment: str) -> None:
    (run_copy / "summary.json").write_text(text)
    assert fragment in message(RunFolder(run_copy).summary)


def test_summary_not_utf8_and_missing_pieces(run_copy: Path) -> None:
    path = run_copy / "summary.json"
    path.write_bytes(b'{"run_id": "\xff"}')
    assert message(RunFolder(run_copy).summary) == f"{path}: not UTF-8 text (byte 12)"
    path.write_text(json.dumps({**summary_of(), "tenants": {"a": {}}}))
    assert "key 'tenants.b' is missing" in message(lambda: RunFolder(run_copy).summary(need_tenants=True))
    path.write_text(json.dumps({**summary_of(), "config": {"spec": {"l_max": 0, "roas_prior": [1, 5]}}}))
    assert "config.spec is not valid model settings (l_max must be ≥ 1, got 0)" in message(RunFolder(run_copy).spec)
    path.write_text(json.dumps({**summary_of(), "config": {}}))
    assert "key 'config.spec' is missing" in message(RunFolder(run_copy).spec)
    path.write_text(json.dumps(summary_of(["a", "z"])))
    assert "idata.nc holds tenants ['a', 'b'] but summary.json lists ['a', 'z']" in message(RunFolder(run_copy).load)


def test_foreign_netcdf(run_copy: Path) -> None:
    path = run_copy / "idata.nc"
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(path, engine="h5netcdf")
    assert message(RunFolder(run_copy).load).startswith(f"{path}: no posterior or constant_data group")
    post = xr.Dataset({"roas": (("chain", "draw"), np.ones((1, 2)))})
    az.InferenceData(posterior=post, constant_data=xr.Dataset({"other": ("i", [1.0])})).to_netcdf(str(path), engine="h5netcdf")
    assert "lacks constant_data.spend, constant_data.y_scale, the tenant coordinate" in message(RunFolder(run_copy).load)


def test_nan_draws_other_channels_and_missing_groups_are_refused_not_read_as_drift(run_copy: Path) -> None:
    path = run_copy / "idata.nc"
    idata = az.from_netcdf(str(path))
    idata.load()

    def save(roas: float) -> None:
        idata.posterior["roas"] = xr.full_like(idata.posterior["roas"], roas)
        idata.to_netcdf(str(run_copy / "new.nc"), engine="h5netcdf")
        (run_copy / "new.nc").replace(path)

    save(np.nan)  # monitor read all-NaN draws as drift in every tenant
    assert message(RunFolder(run_copy).load).startswith(f"{path}: damaged: posterior draws of roas are not finite (NaN or infinite)")
    save(1.0)
    summary = json.loads((run_copy / "summary.json").read_text())
    summary["data"]["channels"] = CHANNELS[:-1]  # monitor ended in KeyError on the channel summary.json lacked
    (run_copy / "summary.json").write_text(json.dumps(summary))
    assert (f"idata.nc holds channels {CHANNELS[:3]} but summary.json lists {CHANNELS[:-1][:3]}"
            in message(RunFolder(run_copy).load))
    summary["data"]["channels"] = CHANNELS
    (run_copy / "summary.json").write_text(json.dumps(summary))
    assert RunFolder(run_copy).load()[1]["data"]["channels"] == CHANNELS
    # diagnose reads the predictive draws: their absence is named before any work (it was an AttributeError).
    assert message(lambda: RunFolder(run_copy).load(groups=("posterior_predictive",))) == (
        f"{path}: no posterior_predictive group: not an idata.nc written by bayes-mmm — fit it again with `bayes-mmm fit --out DIR`")


def test_a_file_failing_mid_read_is_one_error_line(run_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Plumbing: h5py's OSError for a damaged chunk read late (a report's predictive draws) is exit 2, no traceback."""
    import bayes_mmm.api as api

    def damaged(*a, **k):
        raise OSError("Can't synchronously read data (filter returned failure during read)")

    monkeypatch.setattr(api, "diagnose_run", damaged)
    res = CliRunner().invoke(app, ["diagnose", str(run_copy)])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert ("error: a file could not be read or written (Can't synchronously read data (filter returned failure during "
            "read)) — a damaged run file, a full disk or a missing permission?") in " ".join(res.output.split())


def test_damaged_allocation(run_copy: Path) -> None:
    path = run_copy / "allocation.json"
    path.write_text(json.dumps({"tenants": {"a": {"plan": {"meta": ["100", 5]}}}}))
    assert "key 'tenants.a.plan.meta' must list amounts (numbers)" in message(RunFolder(run_copy).allocation)
    path.write_text(json.dumps({"tenants": ["a"]}))
    assert "key 'tenants' must be an object, found a list" in message(RunFolder(run_copy).allocation)
    path.write_text(json.dumps({"tenants": {"a": {"plan": {"meta": [1.0]}}}, "days": "2024-01-01"}))
    assert "key 'days' must be a list, found a string" in message(RunFolder(run_copy).allocation)
    ok = {"tenants": {"a": {"plan": {"meta": [1.0, 2]}, "current": {"meta": [3, 4]}}}, "days": ["2024-01-01", "2024-01-02"]}
    path.write_text(json.dumps(ok))
    assert RunFolder(run_copy).allocation() == ok


def test_tenant_json(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    path = shop / "tenant.json"
    path.write_bytes("{\"city\": \"Zürich\"}".encode("latin-1"))
    assert message(lambda: read_tenant_meta(shop)).startswith(f"{path}: not UTF-8 text (byte 11)")
    path.write_text('["books"]')
    assert f"{path}: must hold a JSON object, found a list" in message(lambda: read_tenant_meta(shop))
    path.unlink()
    path.mkdir()
    assert f"{path}: cannot read (Is a directory)" in message(lambda: read_tenant_meta(shop))
    path.rmdir()
    assert read_tenant_meta(shop) == {"tenant_id": "shop"}
    path.write_bytes(b"\xef\xbb\xbf" + '{"city": "Zürich"}'.encode())  # Windows Notepad's BOM: read, as the CSVs are
    assert read_tenant_meta(shop) == {"city": "Zürich", "tenant_id": "shop"}


# --------------------------------------------------------------------------- grouped runs


def grouped(root: Path, folder: str) -> RunFolder:
    write_run(root / "run" / "groups" / "g000", ["a"])
    group = {"id": "g000", "folder": folder, "tenants": ["a"], "status": "ok"}
    (root / "run" / "summary.json").write_text(json.dumps(summary_of(["a"], groups=[group])))
    return RunFolder(root / "run")


def test_group_folder_inside_the_run(tmp_path: Path) -> None:
    run = grouped(tmp_path, "groups/g000")
    assert run.run_folders() == [RunFolder(tmp_path / "run" / "groups" / "g000")]
    assert run.group_of("a").load()[1]["data"]["tenants"] == ["a"]
    assert "grouped run of 1 groups: name a tenant" in message(run.load)


@pytest.mark.parametrize("folder", ["../other", "groups/../../other", "/tmp/other"])
def test_group_folder_outside_the_run_is_refused(tmp_path: Path, folder: str) -> None:
    write_run(tmp_path / "other", ["a"])
    run = grouped(tmp_path, folder)
    expected = f"{run.summary_path}: group folder '{folder}' lies outside the run folder"
    assert message(run.run_folders).startswith(expected)
    assert message(lambda: run.group_of("a")).startswith(expected)


def test_group_folder_symlinked_out_is_refused(tmp_path: Path) -> None:
    write_run(tmp_path / "other", ["a"])
    run = grouped(tmp_path, "groups/g001")
    (run.path / "groups" / "g001").symlink_to(tmp_path / "other")
    assert "group folder 'groups/g001' lies outside the run folder" in message(run.run_folders)


# --------------------------------------------------------------------------- outputs: never overwrite what we did not create


def test_out_file_checks(run_copy: Path, tmp_path: Path) -> None:
    existing = tmp_path / "plan.json"
    existing.write_text("mine")
    with pytest.raises(FileExistsError, match=r"plan\.json exists; pass force=True"):
        check_out_file(existing)
    assert check_out_file(existing, force=True) == existing and existing.read_text() == "mine"
    for name in ("summary.json", "idata.nc"):
        assert "a run folder's own file; no command writes over it, not even with --force" in message(
            lambda n=name: check_out_file(run_copy / n, force=True))
    assert "is a folder, but a file is needed here" in message(lambda: check_out_file(tmp_path))
    assert f"cannot write here: {existing} is a file, not a folder" in message(lambda: check_out_file(existing / "x" / "r.html"))
    assert check_out_file(tmp_path / "new" / "r.html") == tmp_path / "new" / "r.html"


def _one_error_line(res) -> str:
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = res.output.strip().splitlines()
    assert len(lines) == 1, res.output
    return lines[0]


def test_cli_damaged_summary_and_existing_out(run_copy: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    (run_copy / "summary.json").write_text('{"data": [1]')
    line = _one_error_line(runner.invoke(app, ["report", str(run_copy)]))
    assert line.startswith(f"error: {run_copy / 'summary.json'}: invalid JSON")
    (run_copy / "summary.json").write_text(json.dumps(summary_of()))
    existing = tmp_path / "report.html"
    existing.write_text("not ours")
    line = _one_error_line(runner.invoke(app, ["report", str(run_copy), "--out", str(existing)]))
    assert "report.html exists; pass force=True (CLI: --force)" in line and existing.read_text() == "not ours"
    before = (run_copy / "summary.json").read_bytes()
    for cmd in (["report", str(run_copy)], ["allocate", "--run", str(run_copy), "--budget", "10"]):
        line = _one_error_line(runner.invoke(app, [*cmd, "--out", str(run_copy / "summary.json"), "--force"]))
        assert "a run folder's own file" in line
    assert (run_copy / "summary.json").read_bytes() == before
    line = _one_error_line(runner.invoke(app, ["allocate", "--run", str(run_copy), "--budget", "10", "--out", str(tmp_path)]))
    assert "is a folder, but a file is needed here" in line
    line = _one_error_line(runner.invoke(app, ["fit", "--data", str(tmp_path), "--out", str(existing)]))
    assert "report.html: is a file, but a folder is needed here" in line
