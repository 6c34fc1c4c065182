"""The ``bayes-mmm`` command line: a thin layer over the Python API.

Bad input ends with one red line naming file, column and rows, and exit
code 2 — never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bayes_mmm.core.constants import DAILY, DEMO_CHAINS, DEMO_DRAWS, DEMO_TUNE, PERIOD_UNIT, REFRESH_ROAS_CHANGE_SD
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.numbers import MISSING, fmt
from bayes_mmm.core.spec import ModelSpec

app = typer.Typer(
    help="Hierarchical, weather-aware Bayesian marketing-mix modeling for many tenants.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
#: Piped or redirected output has no terminal width; rich would assume 80 columns and cut tenant ids ("pym…").
PIPE_WIDTH = 160
out = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH)
err = Console(stderr=True, width=None if sys.stderr.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH)

DEFAULT_LAKE = Path("data/lake")
DEFAULT_SPEC = ModelSpec()  # the CLI's model defaults are the API's
#: C0/C1 control characters (ANSI escapes among them) that must never reach the terminal from input.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def esc(value: object) -> str:
    """Text from input (cells, names, paths, messages) as literal text: no rich markup, no control codes."""
    return escape(CONTROL.sub("?", str(value)))
AllowGate = Annotated[list[str] | None, typer.Option(
    "--allow-gate", help="Go on despite this data-quality gate's error (repeatable; names: bayes-mmm validate).")]
Mlflow = Annotated[bool, typer.Option(
    "--mlflow", help="Log parameters, metrics and the run folder's files to MLflow (MLFLOW_TRACKING_URI; pip install 'bayes-mmm\\[tracking]').")]
MlflowExperiment = Annotated[str | None, typer.Option(
    "--mlflow-experiment", help="Experiment of a new MLflow run (default: MLFLOW_EXPERIMENT_NAME); an active run is used as it is.")]
MlflowArtifacts = Annotated[str, typer.Option(
    "--mlflow-artifacts", help="default: summary.json, model_card.md, report.html, monitor.json… when present; all: also idata.nc.")]


def friendly(fn: Callable) -> Callable:
    """Turn bad input into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with warnings.catch_warnings():
                warnings.showwarning = show_warning
                return fn(*args, **kwargs)
        except (DataError, FileExistsError, FileNotFoundError, ValueError) as exc:
            err.print(f"[bold red]error:[/] {esc(exc)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except OSError as exc:  # a file that fails mid-read (a damaged idata.nc chunk read late), a full disk
            err.print(f"[bold red]error:[/] a file could not be read or written ({esc(exc)}) — a damaged run file, a full "
                      "disk or a missing permission?", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            interrupted("[yellow]interrupted: nothing was written[/]")

    return wrapper


OWN_PROCESS = {"on": False}  # set by main(): the command owns the interpreter (not a CliRunner in a test)


def interrupted(message: str) -> NoReturn:
    """Say what Ctrl-C left and exit 130.

    Everything the command wrote is already undone when this runs. A process of
    its own then ends without finalising Python: native threads that Ctrl-C left
    (an LLVM compile, nutpie's samplers winding down) abort finalisation (SIGABRT).
    """
    err.print(message, highlight=False, soft_wrap=True)
    fit_module = sys.modules.get("bayes_mmm.inference.fit")
    if OWN_PROCESS["on"] or (fit_module is not None and fit_module.compiling()):
        if fit_module is not None:  # os._exit runs no atexit handler: the abandoned compile's files go now
            fit_module.drop_compile_scratch()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    raise typer.Exit(130)


def check_mlflow(on: bool, artifacts: str) -> None:
    """Before any long work: --mlflow needs mlflow installed and a known --mlflow-artifacts choice."""
    if on:
        from bayes_mmm.runs.tracking import ARTIFACT_CHOICES, require_mlflow

        require_mlflow()
        if artifacts not in ARTIFACT_CHOICES:
            raise ValueError(f"--mlflow-artifacts must be one of {', '.join(ARTIFACT_CHOICES)}, got {artifacts!r}")


def log_mlflow(on: bool, command: str, run: Path, experiment: str | None, artifacts: str, **kwargs) -> None:
    """Log the finished command's run to MLflow when --mlflow is given, and say where it went."""
    if not on:
        return
    from bayes_mmm.api import track_run

    run_id = track_run(command, run, experiment, artifacts, **kwargs)
    out.print(f"logged to MLflow run [bold]{esc(run_id)}[/]", highlight=False)


def show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: object = None,
                 line: str | None = None) -> None:
    """A warning as one yellow line on stderr: its text only (escaped), not the source line that raised it."""
    err.print(f"[bold yellow]warning:[/] {esc(message)}", highlight=False, soft_wrap=True)


#: Seconds between "still fitting" lines where no progress bar shows (output to a file or pipe).
HEARTBEAT_SECONDS = 60.0


@contextlib.contextmanager
def heartbeat(what: str, every: float = HEARTBEAT_SECONDS) -> Iterator[None]:
    """Print "still <what>: N min" every ``every`` seconds while the block runs, when stdout is not a terminal.

    The sampler's progress bar draws only on a terminal: a fit logged to a file (nohup, CI) was silent for 39 minutes.
    """
    if out.is_terminal:
        yield
        return
    done, start = threading.Event(), time.monotonic()

    def beat() -> None:
        while not done.wait(every):
            out.print(f"still {what}: {(time.monotonic() - start) / 60:.0f} min", highlight=False)

    thread = threading.Thread(target=beat, name="bayes-mmm-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def quiet_libraries() -> None:
    """Silence import-time chatter of the numerical stack (ArviZ refactor notice, BLAS)."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", message=".*BLAS.*")
    os.environ.setdefault("PYTENSOR_FLAGS", "blas__ldflags=")


@app.command()
@friendly
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Lake folder to create.")] = DEFAULT_LAKE,
    tenants: Annotated[int, typer.Option(help="Number of tenants.", min=1)] = 20,
    days: Annotated[int, typer.Option(help="Days of history (365–730; with --continue-from, new days: 1–3650).")] = 730,
    seed: Annotated[int, typer.Option(help="Random seed (with --continue-from: which independent continuation, ≥ 0).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing lake.")] = False,
    scenario: Annotated[str, typer.Option(help="Data-generating process (docs/scenarios.md).")] = "default",
    cadence: Annotated[str, typer.Option(help="daily, or weekly totals (weekly.csv).")] = "daily",
    weather: Annotated[str, typer.Option(help="Weather columns: all, none, or mixed (a random half without).")] = "all",
    no_weather: Annotated[bool, typer.Option("--no-weather", help="Same as --weather none.")] = False,
    lift_tests: Annotated[int, typer.Option(min=0, help="Experiments per tenant (lift_tests.csv).")] = 0,
    continue_from: Annotated[Path | None, typer.Option("--continue-from", help="Continue this synthetic lake by --days new days.")] = None,
    regime: Annotated[str | None, typer.Option(help="With --continue-from: roas_halves:CH@DATE, new_channel:NAME@DATE or weather_station_breaks@DATE.")] = None,
    regime_tenants: Annotated[str | None, typer.Option(help="Tenants (comma-separated) that get the regime change; default all.")] = None,
) -> None:
    """Simulate synthetic tenants (with ground truth) as a lake, or continue one past its end."""
    from bayes_mmm.core.atomic import ensure_writable
    from bayes_mmm.data.lake import not_a_simulated_lake

    check_simulation_size(tenants, days, seed, lift_tests, continued=continue_from is not None)
    ensure_writable(out_dir, overwrite, inputs=(continue_from,), foreign=not_a_simulated_lake)  # before minutes of work
    if continue_from is not None:
        from bayes_mmm.data.lake import list_tenants
        from synthetic import write_lake
        from synthetic.continuation import continue_lake

        list_tenants(continue_from)  # a file or a missing folder: the one line every command gives
        chosen = regime_tenants.split(",") if regime_tenants else None
        universe = continue_lake(continue_from, days, regime, chosen, replicate=seed)
        write_lake(universe, out_dir, fmt=fmt, overwrite=overwrite)
        changed = [t.tenant_id for t in universe if t.truth["continuation"]["changed"]]
        out.print(f"continued {len(universe)} tenants by {days} days into [bold]{out_dir}[/] ({len(changed)} changed: {regime or 'none'})")
        return
    if regime is not None or regime_tenants is not None:
        raise ValueError("--regime and --regime-tenants need --continue-from")
    from synthetic import simulate_universe, write_lake

    with out.status(f"simulating {tenants} tenants × {days} days ({scenario})"):
        universe = simulate_universe(n_tenants=tenants, n_days=days, seed=seed, scenario=scenario, cadence=cadence,
                                     weather="none" if no_weather else weather, lift_tests=lift_tests)
        write_lake(universe, out_dir, fmt=fmt, overwrite=overwrite)
    out.print(f"wrote {len(universe)} tenants to [bold]{esc(out_dir)}[/] (scenario {esc(scenario)}, seed {seed})")


#: Largest simulation the CLI starts: beyond these it would run for hours and write gigabytes, almost surely a typo.
MAX_SIM_TENANTS, MAX_SIM_LIFT_TESTS, MAX_CONTINUE_DAYS = 2000, 50, 3650


def check_simulation_size(tenants: int, days: int, seed: int, lift_tests: int, continued: bool) -> None:
    """Refuse a simulation far beyond any use at once, naming the option, before minutes of work."""
    limits = [("--tenants", tenants, 1, MAX_SIM_TENANTS), ("--lift-tests", lift_tests, 0, MAX_SIM_LIFT_TESTS),
              ("--seed", seed, 0, None), ("--days", days, 1, MAX_CONTINUE_DAYS) if continued else ("--days", days, 365, 730)]
    for option, value, lo, hi in limits:
        if value < lo or (hi is not None and value > hi):
            bound = f"between {lo:,} and {hi:,}" if hi is not None else f"at least {lo}"
            raise ValueError(f"{option} must be {bound}, got {value:,}")


def verdict_cell(v: dict, width: int | None = None) -> str:
    """A verdict for a table: no-go with its reasons; go with what it does not cover (no channel identified)."""
    from bayes_mmm.analysis.verdict import NONE_IDENTIFIED

    if v["go"]:
        return "[green]go[/]" + (f" [dim]({NONE_IDENTIFIED})[/]" if NONE_IDENTIFIED in v["reasons"] else "")
    return f"[red]no-go[/] {esc('; '.join(v['reasons'])[:width])}"


def validation_table(table) -> Table:
    """Rich table of validation checks: one row per tenant, one column per gate (headed by its level)."""
    from bayes_mmm.data.validate import FAIL, WARN

    checks = list(dict.fromkeys(table["check"]))
    levels = dict(zip(table["check"], table["level"], strict=False))
    t = Table(title="data-quality gates (error stops fit and cv; warning is reported)", show_lines=False)
    t.add_column("tenant", no_wrap=True)  # never cut: two geos of one data set may differ only at the end
    for c in checks:
        t.add_column(f"{c}\n[dim]{levels[c]}[/]", justify="center")
    colour = {FAIL: "[bold red]fail[/]", WARN: "[yellow]warn[/]"}
    for tid, rows in table.groupby("tenant", sort=False):
        status = dict(zip(rows["check"], rows["status"], strict=True))
        t.add_row(esc(tid), *(colour.get(status[c], "[green]ok[/]") for c in checks))
    return t


@app.command()
@friendly
def validate(
    data: Annotated[Path, typer.Option("--data", help="Lake folder.")] = DEFAULT_LAKE,
    tenant: Annotated[str, typer.Option(help="all, or ids separated by commas.")] = "all",
) -> None:
    """Check a lake against the data-quality gates; exit 2 when an error-level gate fails (warnings do not)."""
    from bayes_mmm.data.validate import failed, validate_lake, warned

    table = validate_lake(data, tenant)
    out.print(validation_table(table))
    for _, row in warned(table).iterrows():
        out.print(f"[yellow]warn[/] {esc(row.tenant)} {row.check}: {esc(row.detail)}", highlight=False)
    bad = failed(table)
    for _, row in bad.iterrows():
        err.print(f"[bold red]fail[/] {esc(row.tenant)} {row.check}: {esc(row.detail)}", highlight=False)
    if len(bad):
        raise typer.Exit(2)
    n, n_warn = table["tenant"].nunique(), len(warned(table))
    out.print(f"[green]no errors[/] for {n} tenants ({n_warn} warnings)" if n_warn else f"[green]all gates pass[/] for {n} tenants")


@app.command("import")
@friendly
def import_(
    out_dir: Annotated[Path, typer.Option("--out", help="Lake folder to add the tenant to.")] = DEFAULT_LAKE,
    mapping: Annotated[Path | None, typer.Option(help="TOML mapping: which export is what (see README).")] = None,
    tenant: Annotated[str | None, typer.Option(help="Tenant id (overrides the mapping's tenant_id).")] = None,
    revenue: Annotated[Path | None, typer.Option(help="Shop revenue export (orders or daily sales).")] = None,
    revenue_column: Annotated[str | None, typer.Option(help="Amount column of the revenue export, e.g. Total.")] = None,
    channel: Annotated[list[str] | None, typer.Option(
        help="NAME=FILE, repeatable: an ad-platform export (Meta, Google Ads, TikTok detected from the header).")] = None,
    cost_per: Annotated[list[str] | None, typer.Option(
        help="NAME=AMOUNT, repeatable: multiply a channel's column, e.g. email=0.002 per send.")] = None,
    weather: Annotated[Path | None, typer.Option(help="Open-Meteo daily history CSV.")] = None,
    forecast: Annotated[Path | None, typer.Option(help="Open-Meteo daily forecast CSV → TENANT/forecast.csv.")] = None,
    missing_revenue: Annotated[str | None, typer.Option(help="Days without revenue rows: error, zero or empty.")] = None,
    weeks: Annotated[str | None, typer.Option(help=(
        "Sum daily exports into weeks starting on this weekday (monday … sunday): a weekly lake, e.g. for a shop "
        "with many days without sales."))] = None,
    force: Annotated[bool, typer.Option(help="Replace what an earlier import wrote in the tenant folder (data file, tenant.json, forecast.csv); other files there, e.g. lift_tests.csv, are kept.")] = False,
) -> None:
    """Build one tenant folder of the lake from raw exports (shop, ad platforms, Open-Meteo)."""
    from bayes_mmm.api import import_exports
    from bayes_mmm.data.importers import parse_pairs

    costs = {k: _number(v, "--cost-per") for k, v in parse_pairs(cost_per or [], "--cost-per").items()}
    imported = import_exports(out_dir, mapping, force=force, tenant_id=tenant, revenue=revenue,
                              revenue_column=revenue_column, channels=parse_pairs(channel or [], "--channel"),
                              cost_per=costs, weather=weather, forecast=forecast, missing_revenue=missing_revenue,
                              weeks=weeks)
    d = imported.daily
    spend = [c for c in d.columns if c.startswith("spend_")]
    unit = f"{PERIOD_UNIT[imported.cadence]}s"
    out.print(f"imported [bold]{esc(imported.tenant_id)}[/]: {len(d)} {unit} ({d['date'].iloc[0]} to {d['date'].iloc[-1]}), "
              f"channels {esc(', '.join(c.removeprefix('spend_') for c in spend))}"
              + (f", forecast {len(imported.forecast)} {unit}" if imported.forecast is not None else ""))
    for note in imported.notes:
        out.print(f"[yellow]note[/] {esc(note)}")
    out.print(f"written to [bold]{esc(out_dir / imported.tenant_id)}[/]; next: bayes-mmm validate --data {esc(out_dir)} --tenant {esc(imported.tenant_id)}")


def _number(text: str, option: str, typed: str | None = None) -> float:
    """``text`` as a number; else a ValueError quoting what was ``typed`` (default ``text``) for ``option``."""
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{option}: '{typed or text}' is not a number") from None


def _number_or_none(text: str | None, option: str) -> float | None:
    """A CLI number, or None for 'none'/'off'."""
    if text is None or text.strip().lower() in ("none", "off"):
        return None
    return _number(text, option)


def _share_or_none(text: str | None, option: str) -> float | None:
    """A CLI share as a fraction ('0.3') or a percentage ('30%'), or None for 'none'/'off'."""
    if text is None or text.strip().lower() in ("none", "off"):
        return None
    text = text.strip()
    percent = text.endswith("%")
    value = _number(text[:-1] if percent else text, option, typed=text)  # quoted as typed, '%' included
    return value / 100 if percent else value


def _share(text: str, option: str) -> float:
    """:func:`_share_or_none` with 'none'/'off' read as 0."""
    share = _share_or_none(text, option)
    return 0.0 if share is None else share


def print_fit(summary: dict) -> None:
    """Headline ROAS table and convergence verdict of a run."""
    t = Table(title="ROAS (posterior mean [90 % interval])")
    t.add_column("tenant", no_wrap=True)
    channels = summary["data"]["channels"]
    for ch in channels:
        t.add_column(esc(ch), justify="right")
    t.add_column("R²", justify="right")
    for tid, e in summary["tenants"].items():
        cells = []
        for ch in channels:
            r = e["roas"][ch]
            cells.append(MISSING if r["mean"] is None else f"{r['mean']:.2f} [{r['q05']:.2f}, {r['q95']:.2f}]")
        t.add_row(esc(tid), *cells, fmt(e["fit"]["r2"]))
    out.print(t)
    no_weather = [tid for tid, e in summary["tenants"].items() if e.get("weather") is False]
    if no_weather:
        seasonal = ((summary.get("config") or {}).get("spec") or {}).get("seasonal_media", False)
        how = "media's effect follows the yearly season instead" if seasonal else "media's effect does not vary with weather"
        out.print(f"[yellow]without weather[/] (no usable temp_c/precip_mm; no weather terms, {how}): {esc(', '.join(no_weather))}")
    from bayes_mmm.analysis.card import pooling_line, screen_line, tenants_with

    ar = tenants_with(summary, "residual_ar")
    if ar:
        out.print("AR(1) noise (what the model leaves unexplained carries over to the next period): "
                  + esc(", ".join(f"{t} ρ {r:.2f}" for t, r in ar.items())))
    power = tenants_with(summary, "noise_power")
    if power:
        out.print("noise grows with the level (sd ∝ level^p): " + esc(", ".join(f"{t} p {p:.1f}" for t, p in power.items())))
    nu = tenants_with(summary, "noise_nu")
    if nu:
        out.print("Student-t noise (outlying days weigh less): " + esc(", ".join(f"{t} ν {v:g}" for t, v in nu.items())))
    if screen := screen_line(summary):
        out.print(esc(screen))
    if pool := pooling_line(summary):
        out.print(esc(pool))
    if "adstock_choice" in summary:
        ch = summary["adstock_choice"]
        out.print(f"adstock chosen by LOO: [bold]{ch['chosen']}[/] ({esc(ch['reason'])})")
    print_identification(summary)
    print_convergence(summary)


def print_convergence(summary: dict) -> None:
    """One line: converged, or a warning naming the worst parameters and what to try (fit and refresh alike)."""
    from bayes_mmm.analysis.card import rounds_note
    from bayes_mmm.inference.fit import convergence_advice

    c = summary["convergence"]
    s = summary["sampler"]
    line = (
        f"R-hat max {c['rhat_max']}, bulk ESS min {c['ess_bulk_min']}, divergences {c['divergences']}; "
        f"{s['name']} {s['chains']}×({s['tune']}+{s['draws']}){rounds_note(s)} in {s['seconds']} s"
    )
    if c["ok"]:
        out.print(f"[green]converged[/]: {line}")
    else:
        worst = ", ".join(f"{k} ({v})" for k, v in list(c["worst_rhat"].items())[:3])
        err.print(f"[bold yellow]WARNING: not converged[/]: {line}. Worst R-hat: {esc(worst)}. "
                  f"{esc(convergence_advice(c, s))}; summary.json marks the run not ok.")


#: ModelSpec fields that `fit` sets from an option: a refused value is named by its option.
SPEC_OPTIONS = {"half_sat_floor": "--half-sat-floor", "media_weather_bound": "--media-weather-bound", "hill_shape_max": "--hill-shape-max",
                "hill_shape": "--hill-shape",
                "media_weather_clip": "--media-weather-clip", "residual_ar": "--residual-ar", "noise_scale": "--noise-scale",
                "noise_tails": "--noise-tails", "l_max": "--adstock-days", "pool_min_tenants": "--pool-min-tenants"}


def _check_spec(spec_kwargs: dict, adstock: str) -> None:
    """Refuse, before any work, the option values the model spec would refuse, in the options' own names."""
    from bayes_mmm.core.spec import ADSTOCK_CHOICES, ModelSpec

    if adstock not in (*ADSTOCK_CHOICES, "auto"):
        raise ValueError(f"--adstock must be one of {', '.join((*ADSTOCK_CHOICES, 'auto'))}, got '{adstock}'")
    try:
        ModelSpec(**spec_kwargs)
    except ValueError as exc:
        message = str(exc)
        for name, option in SPEC_OPTIONS.items():
            message = re.sub(rf"\b{name}\b", option, message)
        raise ValueError(message) from None


def print_identification(summary: dict) -> None:
    """One line per tenant×channel the data cannot tell apart, or that all are identified."""
    from bayes_mmm.analysis.identification import answered, flagged

    if not any("identification" in e for e in summary["tenants"].values()):
        return  # runs without the checks (grouped fits, older runs) say nothing rather than "all identified"
    rows = flagged(summary)
    if not rows:
        out.print("[green]all channels identified[/] (ROAS contraction and width, correlation and chains, spend variation, co-movement and spend following revenue checked)")
    for tid, ch, e in rows:
        out.print(f"[yellow]not identified[/] {esc(tid)} {esc(ch)}: {esc('; '.join(e['reasons']))}. "
                  f"Would help: {esc('; '.join(e['fixes']))}", highlight=False, soft_wrap=True)
    for tid, ch, why in answered(summary):
        out.print(f"[green]a lift test answers[/] {esc(tid)} {esc(ch)}: {esc('; '.join(why))}", highlight=False, soft_wrap=True)


@app.command()
@friendly
def fit(
    data: Annotated[Path, typer.Option("--data", help="Lake folder.")] = DEFAULT_LAKE,
    tenant: Annotated[str, typer.Option(help="all, or ids separated by commas.")] = "all",
    out_dir: Annotated[Path, typer.Option("--out", help="Run folder to create.")] = Path("runs/latest"),
    sampler: Annotated[str, typer.Option(help="nutpie, pymc or numpyro.")] = "nutpie",
    chains: Annotated[int, typer.Option(help="Chains, at least 2 (4: a posterior with several modes shows in R-hat).")] = 4,
    draws: Annotated[int | None, typer.Option(min=1, help="Kept draws per chain (default: 1,000 with a year of periods or more, else 1,500).")] = None,
    tune: Annotated[int | None, typer.Option(min=0, help="Warm-up per chain (default: 300 with a year of periods or more, else 500).")] = None,
    seed: int = 0,
    target_accept: float = 0.9,
    top_up: Annotated[int, typer.Option(min=0, help=(
        "Extra rounds of fresh chains when the first mixes too slowly (no divergence, R-hat ≤ 1.05); "
        "only with --draws left to the data. 0: off."))] = 1,
    retry_accept: Annotated[float | None, typer.Option(help=(
        "A diverged round starts the fit over once, its draws discarded: with nothing centred, or, when nothing "
        "was, at this target acceptance. Only with --draws left to the data. 0: no retry."))] = 0.97,
    no_weather_media: Annotated[bool, typer.Option(help="Drop the weather×media interaction.")] = False,
    unpooled: Annotated[bool, typer.Option(help="Fit every tenant without partial pooling.")] = False,
    no_media: Annotated[bool, typer.Option(help="Baseline-only model (for comparison).")] = False,
    adstock: Annotated[str, typer.Option(
        help="screen (default: delayed where a least-squares screen of the data finds spend acting days later, else "
             "geometric), geometric, delayed, or auto (fit both and keep delayed only if PSIS-LOO prefers it by > 2 se; "
             "twice the time).")] = "screen",
    adstock_days: Annotated[int | None, typer.Option(
        min=1, max=365, help="Longest carry-over in days, the adstock window (default: 14 for daily data, 56 = 8 "
                             "weeks for weekly data; whole weeks on weekly data).")] = None,
    roas_prior: Annotated[str | None, typer.Option(
        help="Prior: central 90 % ROAS range per channel, '*' for the rest, e.g. 'email=3:12,*=1:5'.")] = None,
    roas_low: Annotated[float | None, typer.Option(help="Prior: ROAS probably above this… (the '*' range; default 0.5)")] = None,
    roas_high: Annotated[float | None, typer.Option(help="…and below this (90 %; default 10).")] = None,
    adstock_prior: Annotated[str | None, typer.Option(
        help="Prior: 90 % range LOW:HIGH of the daily carry-over α (0–1); default 0.10:0.76.")] = None,
    half_sat_prior: Annotated[str | None, typer.Option(
        help="Prior: 90 % range of the half-saturation in multiples of the channel's mean daily spend; default 0.44:2.28.")] = None,
    hill_prior: Annotated[str | None, typer.Option(help="Prior: 90 % range of the Hill shape; default 0.79:2.13.")] = None,
    weather_prior: Annotated[str | None, typer.Option(
        help="Prior: 90 % range of weather sensitivity γ per sd of weather; default -0.33:0.33.")] = None,
    prior_from: Annotated[Path | None, typer.Option(
        help="Cold start: use the population posterior of this earlier pooled run as the media priors.")] = None,
    half_sat_floor: Annotated[str, typer.Option(
        help="Identification lever: soft floor on half-saturation at this quantile of positive spend ('none': off).")] = str(DEFAULT_SPEC.half_sat_floor),
    media_weather_bound: Annotated[str, typer.Option(
        help="Identification lever: bound on |log media multiplier| over observed weather (0.693 = log 2; 'none': off).")] = str(DEFAULT_SPEC.media_weather_bound),
    hill_shape_max: Annotated[str, typer.Option(
        help="Identification lever: soft ceiling on each channel's Hill shape (3, Robyn's upper bound; 'none': off).")] = str(DEFAULT_SPEC.hill_shape_max),
    hill_shape: Annotated[str, typer.Option(
        help="Hill shape: channel (one per channel, S-shaped curves allowed) or fixed (1: every curve concave, "
             "diminishing returns from the first unit, as Meridian's default).")] = DEFAULT_SPEC.hill_shape,
    media_weather_clip: Annotated[float | None, typer.Option(
        help="Identification lever: soft clip (in sd) of the weather that multiplies media, c·tanh(z/c) (e.g. 2); off by default.")] = None,
    residual_ar: Annotated[str, typer.Option(
        help="AR(1) noise (unexplained revenue that lasts for days) for: auto (tenants without weather), all, none.")] = "auto",
    noise_scale: Annotated[str, typer.Option(
        help="Noise sd per day: none (constant), level (grows with the tenant's level as level^p, p estimated).")] = "none",
    noise_tails: Annotated[str, typer.Option(
        help="Noise tails: normal, or student (Student-t, ν estimated per tenant; outliers and spikes weigh less).")] = "normal",
    pool_min_tenants: Annotated[int, typer.Option(
        min=0, help="A channel fewer tenants than this spend on keeps how much tenants differ at the prior's instead "
                    "of learning it, and its ROAS where fewer show it in their own data (spend that varies and does "
                    "not move with another channel's) (0: always learnt).")] = DEFAULT_SPEC.pool_min_tenants,
    group_size: Annotated[int | None, typer.Option(
        min=1, help="Fit tenant groups of at most this size as Dask tasks and merge them into one run.")] = None,
    group_by: Annotated[str, typer.Option(help="Grouping: random, category, city or weather (sensitivity class).")] = "random",
    scheduler: Annotated[str | None, typer.Option(
        help="dask.distributed scheduler address (tcp://host:8786); default: a local cluster.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Local cluster workers (default: cores ÷ chains).")] = None,
    retries: Annotated[int, typer.Option(min=0, help="Resubmit a failed group this many times.")] = 1,
    allow_gate: AllowGate = None,
    overwrite: bool = False,
    mlflow: Mlflow = False,
    mlflow_experiment: MlflowExperiment = None,
    mlflow_artifacts: MlflowArtifacts = "default",
) -> None:
    """Fit the hierarchical MMM and write a run folder (idata.nc, summary.json).

    Media priors are stated as central 90 % ranges (--roas-prior, --adstock-prior,
    --half-sat-prior, --hill-prior, --weather-prior); the run records them in
    summary.json (config.spec.priors) and its config hash. With --prior-from, the
    population prior replaces them.

    With --group-size or --scheduler, tenants are partitioned into groups fitted in
    parallel on Dask; the run folder then holds groups/gNNN/ run folders and one
    merged summary.json.
    """
    quiet_libraries()
    check_mlflow(mlflow, mlflow_artifacts)
    from bayes_mmm.api import fit_lake, gate_lake
    from bayes_mmm.core.priors import DEFAULT_ROAS, priors_from_options

    # --roas-low/--roas-high default to DEFAULT_ROAS (0.5 and 10) but stay None when not given, so a '*' in --roas-prior can be told apart.
    roas_default = None if roas_low is None and roas_high is None else (DEFAULT_ROAS[0] if roas_low is None else roas_low, DEFAULT_ROAS[1] if roas_high is None else roas_high)
    priors = priors_from_options(roas_prior, roas_default, adstock=adstock_prior,
                                 half_sat=half_sat_prior, hill=hill_prior, weather=weather_prior)
    spec_kwargs = {
        "weather_media": not no_weather_media,
        "pooled": not unpooled,
        "media": not no_media,
        "adstock": "geometric" if adstock == "auto" else adstock,
        "l_max": adstock_days,
        "priors": priors,
        "half_sat_floor": _number_or_none(half_sat_floor, "--half-sat-floor"),
        "media_weather_bound": _number_or_none(media_weather_bound, "--media-weather-bound"),
        "media_weather_clip": media_weather_clip,
        "hill_shape_max": _number_or_none(hill_shape_max, "--hill-shape-max"),
        "hill_shape": hill_shape,
        "residual_ar": residual_ar,
        "noise_scale": noise_scale,
        "noise_tails": noise_tails,
        "pool_min_tenants": pool_min_tenants,
    }
    _check_spec(spec_kwargs, adstock)
    sampler_kwargs = {
        "sampler": sampler,
        "chains": chains,
        "draws": draws,
        "tune": tune,
        "seed": seed,
        "target_accept": target_accept,
        "top_up": top_up,
        "retry_accept": retry_accept or None,
    }
    if group_size is not None or scheduler is not None:
        if prior_from is not None:
            raise ValueError("--prior-from cold-starts a few new tenants in one fit; it cannot be combined with --group-size")
        if adstock == "auto":
            raise ValueError("--adstock auto compares two fits of the same tenants; choose the adstock before --group-size")
        from bayes_mmm.runs.groups import fit_groups

        gate_lake(data, tenant, allow_gate or (), out)
        try:
            summary = fit_groups(data, out_dir, tenant, by=group_by, max_size=group_size or 20, spec_kwargs=spec_kwargs,
                                 sampler_kwargs=sampler_kwargs, scheduler=scheduler, n_workers=workers, retries=retries,
                                 overwrite=overwrite, console=out)
        except RuntimeError as exc:  # every group failed: nothing was written
            err.print(f"[bold red]error:[/] {esc(exc)}; nothing was written", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
    else:
        with heartbeat("fitting"):
            summary = fit_lake(data, tenant, out_dir, spec_kwargs=spec_kwargs, sampler_kwargs=sampler_kwargs,
                               overwrite=overwrite, console=out, prior_from=prior_from, allow_gates=allow_gate or (),
                               choose_adstock=adstock == "auto")
    print_fit(summary)
    log_mlflow(mlflow, "fit", out_dir, mlflow_experiment, mlflow_artifacts)
    failed = [g for g in summary.get("groups", []) if g["status"] != "ok"]
    for g in failed:
        err.print(f"[bold red]group {g['id']} failed[/] ({esc(', '.join(g['tenants']))}): {esc(g['error'])}", highlight=False)
    if failed:
        out.print(f"run folder (without the failed groups): [bold]{esc(out_dir)}[/]")
        raise typer.Exit(1)  # the run is written, but scripts must see that tenants are missing
    out.print(f"run folder: [bold]{esc(out_dir)}[/]")


@app.command()
@friendly
def evaluate(
    run: Annotated[Path, typer.Argument(help="Run folder.")],
    truth: Annotated[Path, typer.Option("--truth", help="Synthetic lake with truth.json files.")] = DEFAULT_LAKE,
    force: Annotated[bool, typer.Option(help="Replace an evaluation.json that bayes-mmm did not write.")] = False,
) -> None:
    """Compare a run with the synthetic ground truth; writes evaluation.json."""
    quiet_libraries()
    from bayes_mmm.analysis.evaluate import evaluate_run
    from bayes_mmm.runs.folder import RunFolder

    ev = evaluate_run(run, truth, force)
    t = Table(title="recovery of true ROAS")
    for col in ("tenant", "channel", "true", "mean", "90 % interval", "inside", "rel. error"):
        t.add_column(col, justify="right" if col not in ("tenant", "channel") else "left", no_wrap=col == "tenant")
    for row in ev["pairs"]:
        t.add_row(esc(row["tenant"]), esc(row["channel"]), f"{row['true_roas']:.2f}", f"{row['mean']:.2f}",
                  f"[{row['q05']:.2f}, {row['q95']:.2f}]", "✓" if row["inside"] else "[red]✗[/]",
                  fmt(row["rel_error"], "+.0%"))  # a true ROAS of 0 has none
    out.print(t)
    s = ev["overall"]
    out.print(f"coverage of 90 % intervals: {s['coverage_90']:.0%}; median |relative error| {s['median_abs_rel_error']:.1%}; "
              f"written to {RunFolder(run).evaluation_path}")


@app.command()
@friendly
def diagnose(
    run: Annotated[Path, typer.Argument(help="Run folder.")],
    force: Annotated[bool, typer.Option(help="Replace a model_card.md that bayes-mmm did not write.")] = False,
) -> None:
    """Convergence, sampler health, posterior predictive calibration and LOO per tenant; writes the model card.

    For a grouped run, every group folder gets its own diagnostics and model card.
    """
    quiet_libraries()
    from bayes_mmm.api import diagnose_run
    from bayes_mmm.runs.folder import RunFolder

    folders = RunFolder(run).run_folders()
    for folder in folders:  # every group's card checked before any work
        folder.check_model_card(force)
    for folder in folders:
        with out.status(f"computing diagnostics (PPC, LOO) of {esc(folder.path)}"):
            summary = diagnose_run(folder.path, force=force)
        print_diagnostics(summary)
        out.print(f"model card: [bold]{folder.model_card_path}[/]")


def print_diagnostics(summary: dict) -> None:
    """Per-tenant table: PPC coverage, LOO and verdict."""
    d = summary["diagnostics"]
    h = d["sampler_health"]
    out.print(
        f"divergences {h['divergences']}, E-BFMI min {h['bfmi_min']}{' (LOW)' if h['bfmi_low'] else ''}, "
        f"tree-depth saturation {h['treedepth_saturation']}"
    )
    t = Table(title="per-tenant checks")
    for col in ("tenant", "inside 50 %", "inside 90 %", "elpd", "k > 0.7", "verdict"):
        t.add_column(col, justify="left" if col in ("tenant", "verdict") else "right", no_wrap=col == "tenant")
    for tid, ppc in d["ppc"].items():
        lo = d["loo_by_tenant"][tid]
        v = summary["verdicts"][tid]
        t.add_row(esc(tid), fmt(ppc["inside_50"], ".2f"), fmt(ppc["inside_90"], ".2f"), fmt(lo["elpd"], ".0f"),
                  fmt(lo["k_over_0.7"], ""),
                  verdict_cell(v, 60))
    out.print(t)


@app.command()
@friendly
def compare(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders (the first is the reference version).")],
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the comparison as JSON.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
) -> None:
    """Compare runs: PSIS-LOO (same data) and how ROAS and mROAS moved vs the first run (90 % intervals)."""
    quiet_libraries()
    from bayes_mmm.analysis.diagnostics import compare_versions
    from bayes_mmm.runs.folder import check_out_file

    if len(runs) < 2:
        raise ValueError("compare needs at least two run folders")
    if out_file is not None:
        check_out_file(out_file, force)  # before loading the runs: never over a file the user did not ask to replace
    result = compare_versions(runs)
    table = result["loo"]
    if table is not None:
        t = Table(title="LOO comparison (higher elpd is better)")
        for col in ("run", *table.columns):
            t.add_column(esc(col), justify="right" if col != "run" else "left")
        for name, row in table.iterrows():
            t.add_row(esc(name), *(f"{v:.2f}" if isinstance(v, float) else esc(v) for v in row.values))
        out.print(t)
    else:
        out.print(f"[yellow]LOO skipped[/]: {esc(result['loo_note'])}", highlight=False)
    for name, moves in result["moves"].items():
        out.print(moves_table(moves, f"{esc(runs[0].name)} → {esc(name)}: ROAS and mROAS (90 % intervals)"))
    if out_file is not None:
        from bayes_mmm.core import atomic
        from bayes_mmm.runs.summary import to_json

        doc = {"runs": [str(r) for r in runs], "loo": None if table is None else table.reset_index().to_dict(orient="records"),
               "loo_note": result["loo_note"], "moves": {k: v.to_dict(orient="records") for k, v in result["moves"].items()}}
        atomic.write_text(out_file, to_json(doc))


def moves_table(moves, title: str) -> Table:
    """Rich table of interval moves; rows whose intervals do not overlap are marked."""
    t = Table(title=title)
    for col in ("tenant", "channel", "metric", "old [q05, q95]", "new [q05, q95]", "moved"):
        t.add_column(col, justify="left" if col in ("tenant", "channel", "metric") else "right", no_wrap=col == "tenant")
    for r in moves.itertuples(index=False):
        t.add_row(esc(r.tenant), esc(r.channel), r.metric, f"{r.old_mean:.2f} [{r.old_q05:.2f}, {r.old_q95:.2f}]",
                  f"{r.new_mean:.2f} [{r.new_q05:.2f}, {r.new_q95:.2f}]", "[bold red]yes[/]" if r.moved else "")
    return t


def monitor_table(report: dict) -> Table:
    """Rich table of a monitor report: one row per tenant."""
    colour = {"ok": "[green]ok[/]", "investigate": "[yellow]investigate[/]", "retrain": "[bold red]retrain[/]"}
    t = Table(title=f"monitor: {report['checked']['start']} – {report['checked']['end']} ({report['checked']['periods']} periods)")
    for col in ("tenant", "R²", "ref R²", "MAPE %", "ref MAPE", "in 90 %", "bias σ", "action"):
        t.add_column(col, justify="left" if col in ("tenant", "action") else "right", no_wrap=col == "tenant")
    for tid, e in report["tenants"].items():
        ref = e["reference"]
        t.add_row(tid, fmt(e["r2"]), fmt(ref["r2_on_new_periods"]), fmt(e["mape"], ".1f"), fmt(ref["mape"], ".1f"),
                  f"{e['coverage_90']:.0%}", f"{e['bias_sigma']:+.2f}", colour[e["action"]])
    return t


@app.command()
@friendly
def monitor(
    run: Annotated[Path, typer.Argument(help="Run folder to check.")],
    data: Annotated[Path, typer.Option("--data", help="Lake with the run's data plus new periods after its window.")] = DEFAULT_LAKE,
    out_file: Annotated[Path | None, typer.Option("--out", help="Where to write monitor.json (default RUN/monitor.json).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing file that an earlier monitor of this run did not write.")] = False,
    mlflow: Mlflow = False,
    mlflow_experiment: MlflowExperiment = None,
    mlflow_artifacts: MlflowArtifacts = "default",
) -> None:
    """Score new periods against the run's posterior predictive; exit 0 when all ok, 3 when drift is found."""
    quiet_libraries()
    check_mlflow(mlflow, mlflow_artifacts)
    from bayes_mmm.analysis.monitor import MONITOR_JSON
    from bayes_mmm.api import monitor_lake

    report = monitor_lake(run, data, out_file, force)
    out.print(monitor_table(report))
    for tid, e in report["tenants"].items():
        for why in e["model_drift_reasons"] + e["data_drift"]:
            out.print(f"  {tid}: {why}", highlight=False)
    for tid, why in (report.get("not_checked") or {}).items():
        out.print(f"  {tid}: not checked ({why})", highlight=False)
    flagged = [t for t, e in report["tenants"].items() if e["action"] != "ok"]
    waiting = len(report.get("not_checked") or {})
    unchecked = f" ({waiting} not checked: no new revenue yet)" if waiting else ""
    if flagged:
        out.print(f"[bold red]drift[/] in {len(flagged)} of {len(report['tenants'])} tenants{unchecked}")
    else:
        out.print(f"[green]no drift[/] in {len(report['tenants'])} tenants{unchecked}")
    try:
        log_mlflow(mlflow, "monitor", run, mlflow_experiment, mlflow_artifacts, monitor_report=report,
                   monitor_path=out_file if out_file is not None else run / MONITOR_JSON)
    except Exception as exc:  # refused logs, an unreachable server, a file that could not be copied
        if not flagged:
            raise
        # A scheduler acts on exit 3; a tracking server that is down must not turn drift into an input error.
        err.print(f"[bold red]error:[/] {esc(exc)} (the drift verdict stands: monitor.json is written)", highlight=False, soft_wrap=True)
    if flagged:
        raise typer.Exit(3)


@app.command()
@friendly
def refresh(
    run: Annotated[Path, typer.Argument(help="Run folder to refresh.")],
    data: Annotated[Path, typer.Option("--data", help="Extended lake (the run's tenants with new periods).")] = DEFAULT_LAKE,
    out_dir: Annotated[Path, typer.Option("--out", help="New run folder.")] = Path("run_refreshed"),
    draws: Annotated[int | None, typer.Option(min=1, help="Draws per chain (default: the old run's).")] = None,
    tune: Annotated[int | None, typer.Option(min=0, help="Warm-up per chain (default: half the old run's, ≥ 100).")] = None,
    roas_change_sd: Annotated[float, typer.Option(
        min=0, help="Scale of the half-normal prior on each channel's sd of log ROAS changes since the run's last day "
             "(0: ROAS assumed unchanged).")] = REFRESH_ROAS_CHANGE_SD,
    allow_gate: AllowGate = None,
    overwrite: bool = False,
) -> None:
    """Refit on extended data warm-started from the run's posterior (tempered priors); records the parent run.

    ROAS may have changed since the run's last day (--roas-change-sd); the new run's ROAS is the current one.
    """
    quiet_libraries()
    from bayes_mmm.api import refresh_run

    kwargs = {k: v for k, v in {"draws": draws, "tune": tune}.items() if v is not None}
    summary = refresh_run(run, data, out_dir, kwargs, overwrite=overwrite, console=out, roas_change_sd=roas_change_sd or None,
                          allow_gates=allow_gate or ())
    out.print(f"[bold green]refreshed[/] {summary['run_id']} (parent {summary['parent']['run_id']}) in "
              f"{summary['parent']['refit_seconds']:.0f} s → {out_dir}")
    print_convergence(summary)


def print_cv(cvs: dict[str, dict], folds: int) -> None:
    """Per-tenant CV table and the pass rate; a tenant too short for every fold shows a dash."""
    from bayes_mmm.analysis.cv import mean_holdout_r2, pass_rate

    t = Table(title=f"walk-forward CV, {folds} folds")
    for col in ("tenant", "R²", "MAPE %", "naive R²", "ridge R²", "verdict"):
        t.add_column(col, justify="left" if col in ("tenant", "verdict") else "right", no_wrap=col == "tenant")
    for tid, c in cvs.items():
        t.add_row(esc(tid), fmt(c["r2_mean"]), fmt(c["mape_mean"], ".1f"), fmt(c["naive_r2_mean"]), fmt(c["ridge_r2_mean"]),
                  verdict_cell(c["verdict"]))
    out.print(t)
    mean, n = mean_holdout_r2(cvs)
    out.print(f"pass rate {pass_rate(cvs):.0%}; mean holdout R² {fmt(mean)}" + (f" over {n} of {len(cvs)} tenants" if n < len(cvs) else ""))


@app.command()
@friendly
def cv(
    run: Annotated[Path, typer.Argument(help="Run folder (its model settings are re-used).")],
    data: Annotated[Path, typer.Option("--data", help="Lake folder the run was fitted on.")] = DEFAULT_LAKE,
    folds: Annotated[int, typer.Option(min=1, help="Walk-forward folds (expanding window).")] = 5,
    draws: Annotated[int, typer.Option(
        min=0, help="Draws per chain of each fold fit; 0 (default): sized from the data and topped up when mixing is slow, "
        "as fit does. A smaller number is faster, but its folds may not converge.")] = 0,
    tune: Annotated[int | None, typer.Option(min=0, help="Warm-up per chain (default: sized as fit does).")] = None,
    allow_gate: AllowGate = None,
    mlflow: Mlflow = False,
    mlflow_experiment: MlflowExperiment = None,
    mlflow_artifacts: MlflowArtifacts = "default",
) -> None:
    """Walk-forward cross-validation against naive-seasonal and Ridge baselines; results into summary.json."""
    quiet_libraries()
    check_mlflow(mlflow, mlflow_artifacts)
    from bayes_mmm.analysis.cv import unconverged_folds
    from bayes_mmm.api import cv_run
    from bayes_mmm.inference.fit import longer_chains

    with heartbeat("cross-validating"):
        summary = cv_run(data, run, n_folds=folds, sampler_kwargs={"draws": draws or None, "tune": tune},
                         allow_gates=allow_gate or (), console=out)
    cvs = {t: e["cv"] for t, e in summary["tenants"].items()}
    print_cv(cvs, folds)
    bad = unconverged_folds(cvs)
    if bad:
        err.print(f"[bold yellow]WARNING:[/] {len(bad)} of {folds} fold fits did not converge (folds {', '.join(str(k + 1) for k in bad)}): "
                  "their holdout numbers rest on unreliable draws."
                  + f" Try {longer_chains(draws)}: split R-hat falls with each chain's length, not with warm-up.")
    log_mlflow(mlflow, "cv", run, mlflow_experiment, mlflow_artifacts, settings={"folds": folds, "draws": draws, "tune": tune})


@app.command()
@friendly
def report(
    run: Annotated[Path, typer.Argument(help="Run folder.")],
    out_file: Annotated[Path | None, typer.Option("--out", help="HTML file (default RUN/report.html).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
) -> None:
    """Write the self-contained HTML diagnostic report of a run (one per group for a grouped run)."""
    quiet_libraries()
    from bayes_mmm.runs.folder import run_folders
    from bayes_mmm.surfaces.report import report_target, write_report

    folders = run_folders(run)
    if out_file is not None and len(folders) > 1:
        raise ValueError("--out names one file, but this grouped run gets one report per group; leave --out out")
    targets = [report_target(folder, out_file, force) for folder in folders]  # before any work
    for folder, target in zip(folders, targets, strict=True):
        path = write_report(folder, target)
        out.print(f"report: [bold]{esc(path)}[/]")


@app.command()
@friendly
def allocate(
    run: Annotated[Path, typer.Option("--run", help="Run folder.")],
    budget: Annotated[float | None, typer.Option(help="Total spend over the plan's periods (omit with --target-roas/--target-mroas).")] = None,
    tenant: Annotated[str | None, typer.Option(help="One tenant; omit for the whole portfolio.")] = None,
    days: Annotated[int | None, typer.Option(min=1, help="Plan length in days (daily runs; alias of --periods).")] = None,
    periods: Annotated[int | None, typer.Option(min=1, help="Plan length in periods of the run's cadence (default 7 days / 4 weeks).")] = None,
    start: Annotated[str | None, typer.Option(help="First plan date YYYY-MM-DD (default: the period after the data).")] = None,
    forecast: Annotated[Path | None, typer.Option(help="forecast.csv covering every plan period: date, temp_c, precip_mm[, snow_cm][, tenant_id].")] = None,
    objective: Annotated[str, typer.Option(help="mean, mean-sd:λ or cvar:α.")] = "mean",
    bounds: Annotated[str | None, typer.Option(help="Per-channel bounds per period replacing the band, e.g. 'meta=50:400,google=20%,*=0:1000' ('*': every channel not named).")] = None,
    band: Annotated[str, typer.Option(help="Trust region: each channel within ± this share of its current spend (0.3 or 30%; 'none': off).")] = "0.3",
    pacing: Annotated[str, typer.Option(help="Largest change from one period to the next, as a share (0.2 or 20%; 'none': off).")] = "0.2",
    cap: Annotated[str | None, typer.Option(help="Caps per period, e.g. 'email=150' or 'email=150,*=900' (* every channel not named; default: 1.2 × the largest observed spend).")] = None,
    history: Annotated[str, typer.Option(help="Trust region: each channel at most this quantile of its own past spend per period (today's level always allowed; 1: the largest; 'none': off).")] = "0.95",
    confidence: Annotated[str, typer.Option(help="Do no harm: least P(plan beats current) for a move (0.9 or 90%; 'none': take the optimum).")] = "0.9",
    min_gain: Annotated[str, typer.Option(help="Do no harm: least expected gain of a move, as a share of its budget (e.g. 0.01 or 1%; 0: P alone).")] = "0.01",
    shape_check: Annotated[bool, typer.Option(help="Do no harm: judge each move also with S-shaped curves made concave at today's spend (no increasing returns); --no-shape-check trusts the fitted shapes.")] = True,
    target_roas: Annotated[float | None, typer.Option(help="Find the largest budget whose plan's expected ROAS is at least this.")] = None,
    target_mroas: Annotated[float | None, typer.Option(help="Find the budget at which the plan's marginal ROAS falls to this.")] = None,
    allow_unconverged: Annotated[bool, typer.Option(help="Allocate from a run that did not converge (loud warning).")] = False,
    out_file: Annotated[Path, typer.Option("--out", help="plan.json to write.")] = Path("plan.json"),
    csv: Annotated[Path | None, typer.Option(help="Also write the plan as a CSV: date, tenant_id, one column per channel.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out / --csv file.")] = False,
) -> None:
    """Split a budget across channels and periods under posterior uncertainty, within a trust region, doing no harm."""
    quiet_libraries()
    from bayes_mmm.decide.allocate import (
        TrustRegion,
        parse_caps,
        parse_channel_bounds,
        plan_budget,
        prepare,
        write_plan,
    )
    from bayes_mmm.decide.harm import check_min_gain
    from bayes_mmm.decide.target import target_budget
    from bayes_mmm.decide.whatif import write_plan_csv
    from bayes_mmm.runs.folder import check_out_file

    check_out_file(out_file, force, inputs=(forecast,))  # before the optimisation, not after
    if csv is not None:
        check_out_file(csv, force, inputs=(forecast,), option="--csv")
        table, plan_path = csv.resolve(), out_file.resolve()
        if table == plan_path:
            raise DataError("--out and --csv name the same file: the table would replace the plan", file=csv,
                            hint="give --csv another name, e.g. plan.csv")
        if table in plan_path.parents or plan_path in table.parents:  # one would be written as the other's folder
            raise DataError(f"--out {out_file} and --csv {csv}: one lies inside the other", file=csv,
                            hint="give the plan and the table two files side by side, e.g. plan.json and plan.csv")
    targets = [(k, v) for k, v in (("roas", target_roas), ("mroas", target_mroas)) if v is not None]
    if len(targets) + (budget is not None) != 1:
        raise DataError("pass exactly one of --budget, --target-roas, --target-mroas")
    trust = TrustRegion(band=_share_or_none(band, "--band"), pacing=_share_or_none(pacing, "--pacing"), caps=parse_caps(cap),
                        history=_number_or_none(history, "--history"))
    kw = {"objective": objective, "channel_bounds": parse_channel_bounds(bounds), "trust": trust,
          "confidence": _share_or_none(confidence, "--confidence"), "min_gain": check_min_gain(_share(min_gain, "--min-gain")), "shape_check": shape_check}
    with out.status("optimising the plan over posterior draws"):
        setup = prepare(run, tenant, days, periods, forecast, start, allow_unconverged)
        plan = plan_budget(setup, budget, **kw) if budget is not None else target_budget(setup, targets[0][1], targets[0][0], **kw)
    write_plan(plan, out_file)
    print_plan(plan)
    out.print(f"plan: [bold]{esc(out_file)}[/]")
    if csv is not None:
        out.print(f"plan table: [bold]{esc(write_plan_csv(plan, csv))}[/]")


def _whole(x: float) -> str:
    # Rounded first: "uplift -0 [-0, -0]" read as a loss where the plan keeps today's mix.
    return f"{round(x) + 0.0 if math.isfinite(x) else x:,.0f}"


def _money(st: dict) -> str:
    return f"{_whole(st['mean'])} [{_whole(st['q05'])}, {_whole(st['q95'])}]"


def _held_note(refused: dict, min_gain: float) -> str:
    """Why do-no-harm's gain bar held a tenant at step 0, with what the refused move promised."""
    budget = f"the {refused['budget']:,.0f} budget" + (" it shares" if refused["shared"] else "")
    return (f" — held: its likely move (step {refused['step']:.1f}, P {refused['prob_beats_current']:.2f}) promised "
            f"{refused['expected_gain']:+,.0f} ({refused['expected_gain'] / refused['budget']:.2%} of {budget}), "
            f"below --min-gain {min_gain:.2%}; --min-gain 0 takes it")


def _beats(e: dict) -> str:
    """P(plan beats current), or that the plan is the current mix (P 0 there reads like a sure loss)."""
    return "the plan is the current mix" if e.get("plan_is_current") else f"P(plan beats current) {e['prob_plan_beats_current']:.2f}"


def print_plan(plan: dict) -> None:
    """Recommended vs current spend per tenant and channel, expected incremental revenue, and the portfolio total."""
    unit = f"{PERIOD_UNIT[plan.get('cadence', DAILY)]}s"
    for tid, e in plan["tenants"].items():
        t = Table(title=f"{esc(tid)}: {plan.get('objective', 'user')} plan over {len(plan['days'])} {unit}")
        t.add_column("channel")
        t.add_column("current", justify="right")
        t.add_column("plan", justify="right")
        t.add_column(f"plan per {unit[:-1]}", justify="left")
        for ch, days in e["plan"].items():
            t.add_row(esc(ch), f"{sum(e['current'][ch]):,.0f}", f"{sum(days):,.0f}", " ".join(f"{d:,.0f}" for d in days))
        out.print(t)
        p, c = e["expected_incremental_revenue"]["plan"], e["expected_incremental_revenue"]["current"]
        step = f"; step toward the optimum {e['step_toward_optimum']:.1f}" if "step_toward_optimum" in e else ""
        if e.get("held_small_gain"):
            step += _held_note(e["refused_step"], plan["do_no_harm"]["min_gain"])
        if "held_by_shape" in e:
            h = e["held_by_shape"]
            step += (f" — the fitted curves alone would take step {h['step']:.1f} (P {h['prob_beats_current']:.2f}, "
                     f"{h['expected_gain']:+,.0f}): its gain rests on increasing returns; --no-shape-check takes it")
        out.print(f"  incremental revenue: plan {_money(p)} vs current {_money(c)}; uplift {_money(e['uplift'])}; "
                  f"{_beats(e)}{step}")
        reasons = sorted(set(e.get("reasons", [])))
        if reasons and reasons != ["no forecast: average weather assumed"]:
            for d, r in zip(plan["days"], e["reasons"], strict=False):
                out.print(f"  {d}: {esc(r)}")
    pf = plan["portfolio"]
    out.print(f"[bold]portfolio[/]: budget {pf.get('budget', plan.get('budget', 0)):,.0f}; incremental revenue plan "
              f"{_money(pf['expected_incremental_revenue']['plan'])} vs current {_money(pf['expected_incremental_revenue']['current'])}; "
              f"uplift {_money(pf['uplift'])}; {_beats(pf)}")
    if "expected_tenants_worse_off" in pf:  # absent in plans written before it
        out.print(f"tenants expected to end worse off than their current mix: {pf['expected_tenants_worse_off']:.1f} "
                  f"of {len(plan['tenants'])} (the posterior's own risk)")
    if "trust_region" in plan:
        tr = plan["trust_region"]
        out.print(f"trust region: {esc(tr['explained'])}")
        if tr.get("tied"):
            out.print(f"moved together at today's split (the data cannot tell them apart): {esc(', '.join(tr['tied']))}")
        if tr.get("held"):
            out.print(f"kept at current spend (not identified): {esc(', '.join(tr['held']))}")
        if tr.get("dark"):
            out.print(f"kept at 0 (no spend in the recent window: the band and pacing scale today's 0; give one room "
                      f"with --tenant ID --bounds CHANNEL=MIN:MAX --pacing none): {esc(', '.join(tr['dark']))}")
        out.print(f"do no harm: {esc(plan['do_no_harm']['explained'])}")
    if "target" in plan:
        out.print(f"target: {esc(plan['target']['explained'])} → budget {plan['target']['budget']:,.0f} "
                  f"({plan['target']['kind']} {plan['target']['reached']:.3g})")
    for note in plan.get("warnings", []):
        out.print(f"[yellow]warning[/] {esc(note)}")


@app.command("score-plan")
@friendly
def score_plan_cmd(
    run: Annotated[Path, typer.Option("--run", help="Run folder.")],
    plan: Annotated[Path, typer.Option("--plan", help="Plan CSV: date, tenant_id, <channel>… (wide) or date, tenant_id, channel, spend (long); or allocate's plan.json.")],
    forecast: Annotated[Path | None, typer.Option(help="forecast.csv covering the plan's periods.")] = None,
    same_budget: Annotated[str, typer.Option(help="'portfolio': current scaled to the plan's total; 'tenant': to each tenant's total.")] = "portfolio",
    allow_unconverged: Annotated[bool, typer.Option(help="Score on a run that did not converge (loud warning).")] = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the scores as JSON.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
) -> None:
    """What-if: a plan's expected incremental revenue, 90 % interval and P(beats current)."""
    quiet_libraries()
    from bayes_mmm.decide.plan import write_plan
    from bayes_mmm.decide.score import plan_scores
    from bayes_mmm.runs.folder import check_out_file

    if out_file is not None:
        check_out_file(out_file, force, inputs=(plan, forecast))
    scores = plan_scores(run, plan, forecast, same_budget, allow_unconverged)  # its warnings: printed with the plan
    print_plan(scores)
    if out_file is not None:
        out.print(f"scores: [bold]{esc(write_plan(scores, out_file))}[/]")


@app.command()
@friendly
def demo(
    tenants: Annotated[int, typer.Option(min=2, help="Tenants to simulate.")] = 20,
    days: Annotated[int, typer.Option(help="Days of history (365–730).")] = 730,
    draws: Annotated[int | None, typer.Option(min=1, help=(
        f"Kept draws per chain of the {DEMO_CHAINS} chains (default: sized as fit sizes them, with a top-up round "
        "when the first mixes too slowly)."))] = DEMO_DRAWS,
    tune: Annotated[int | None, typer.Option(min=0, help="Warm-up per chain (default: as fit).")] = DEMO_TUNE,
    cv_folds: Annotated[int, typer.Option(min=0, help="Walk-forward CV folds (0 = skip; each fold is a refit).")] = 0,
    seed: int = 0,
    root: Annotated[Path, typer.Option(help="Folder for data/lake, runs/demo and reports/ (existing user data there is never replaced).")] = Path("."),
) -> None:
    """Run the whole path on the built-in synthetic universe and write the HTML report."""
    quiet_libraries()
    from bayes_mmm.api import run_demo

    try:
        paths = run_demo(root, tenants=tenants, days=days, draws=draws, tune=tune, cv_folds=cv_folds, seed=seed, console=out)
    except KeyboardInterrupt:  # the step under way leaves nothing; the demo's earlier steps (its own lake) stay
        interrupted(f"[yellow]interrupted[/]: the current step wrote nothing; what the demo finished before stays under "
                    f"{esc(root)} (a rerun replaces it)")
    out.print(f"[bold green]done[/]: lake {esc(paths['lake'])}, run {esc(paths['run'])}, report [bold]{esc(paths['report'])}[/]")


def _click_errors() -> tuple[type[Exception], type[Exception] | None]:
    """``(ClickException, NoArgsIsHelpError)`` of the click typer runs on (recent typers vendor their own click)."""
    base = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
    return base, getattr(sys.modules[base.__module__], "NoArgsIsHelpError", None)


def main() -> None:  # pragma: no cover - console entry
    """Entry point (console script, python -m bayes_mmm): a clean exit for Ctrl-C, one line for a usage error."""
    OWN_PROCESS["on"] = True
    usage, no_args = _click_errors()
    try:
        code = app(standalone_mode=False)
    except KeyboardInterrupt:  # before typer takes over (while importing); commands handle their own
        interrupted("[yellow]interrupted[/]")
    except typer.Abort:  # end of input at a prompt
        err.print("aborted")
        sys.exit(1)
    except usage as exc:
        if no_args is None or not isinstance(exc, no_args):  # a bare command has printed its help already
            # typer would draw a box over several lines; the project's errors are one line
            where = getattr(getattr(exc, "ctx", None), "command_path", None) or "bayes-mmm"
            err.print(f"error: {esc(exc.format_message())} (see `{where} --help`)", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]


if __name__ == "__main__":  # python -m bayes_mmm.surfaces.cli (e.g. from a source tree)
    main()
