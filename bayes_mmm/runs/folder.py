"""The run folder: the one module that knows its file names, reads them with checks and writes them atomically.

Layout (docs/architecture.md, "Run folder")::

    <run>/idata.nc          posterior, log-likelihood, constant data (netCDF 4)
    <run>/summary.json      results and settings; config.spec is the only copy of the model settings
    <run>/evaluation.json   ground-truth comparison (synthetic lakes)
    <run>/allocation.json   a budget plan
    <run>/model_card.md     written by diagnose
    <run>/report.html       the HTML report
    <run>/groups/gNNN/      a grouped run: one ordinary run folder per group

Every reader turns a damaged or foreign file into one :class:`DataError` line
naming the file and what is wrong, so the CLI can exit 2 without a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bayes_mmm.core import atomic
from bayes_mmm.core.constants import CADENCE_DAYS, DAILY
from bayes_mmm.core.errors import DataError
from bayes_mmm.core.jsonfile import kind_of, read_json
from bayes_mmm.core.spec import ADSTOCKS, ModelSpec
from bayes_mmm.data.lake import is_tenant_folder
from bayes_mmm.model.design import periods

IDATA, SUMMARY = "idata.nc", "summary.json"
EVALUATION, ALLOCATION = "evaluation.json", "allocation.json"
MODEL_CARD, REPORT = "model_card.md", "report.html"
#: How every model card bayes-mmm writes begins (so diagnose replaces only its own).
CARD_TITLE = "# Model card — run "
MONITOR = "monitor.json"
GROUPS_DIR = "groups"
#: The files that make a folder a run.
RUN_FILES = (IDATA, SUMMARY)
#: A run folder's files: each is replaced only by the command that writes it (commands read them), never from another's --out.
RUN_OWNED = (*RUN_FILES, EVALUATION, ALLOCATION, MODEL_CARD, REPORT, MONITOR)

#: Groups and variables every reader of ``idata.nc`` relies on.
IDATA_GROUPS = ("posterior", "constant_data")
CONSTANT_VARS = ("spend", "y_scale")
#: Posterior variables every draw has a finite value of (mroas and weather elasticities may be NaN: no spend, no weather).
FINITE_VARS = ("roas", "beta", "adstock_alpha", "half_sat", "hill_shape", "sigma")


def not_a_run(path: Path) -> str | None:
    """Why the folder ``path`` is not a run folder (for ``--overwrite``), or None when it is one (hidden files aside)."""
    if any((path / name).is_file() for name in RUN_FILES):
        return None
    names = sorted(p.name for p in path.iterdir() if not p.name.startswith("."))
    if not names:
        return None
    return f"is not a run folder (it holds {', '.join(names[:3])}{' …' if len(names) > 3 else ''}, but no {SUMMARY})"


REFIT = "fit it again with `bayes-mmm fit --out DIR`"


def to_json(obj: Any) -> str:
    """JSON with NaN written as null, so every parser can read it."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        if isinstance(x, float | np.floating):
            return None if not np.isfinite(x) else float(x)
        if isinstance(x, np.integer):
            return int(x)
        if isinstance(x, np.bool_):
            return bool(x)
        return x

    return json.dumps(clean(obj), indent=2)


def require(obj: Any, key: str, kind: type, path: Path, what: str = "") -> Any:
    """``obj[key]`` if it is of ``kind``; else DataError naming the dotted key and what was found."""
    name = _dotted(what, key)
    if not isinstance(obj, dict) or key not in obj:
        raise DataError(f"key '{name}' is missing", file=path, hint=REFIT)
    value = obj[key]
    if not isinstance(value, kind):
        raise DataError(f"key '{name}' must be {kind_of(kind())}, found {kind_of(value)}", file=path, hint=REFIT)
    return value


def require_strings(obj: dict, key: str, path: Path, what: str = "") -> list[str]:
    """``obj[key]`` as a list of strings."""
    values = require(obj, key, list, path, what)
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise DataError(f"key '{_dotted(what, key)}' must list strings, found {kind_of(bad[0])}", file=path, hint=REFIT)
    return values


#: The keys of an interval record (``{"mean", "q05", "q50", "q95"}``): numbers (null where undefined) wherever they appear.
INTERVAL_KEYS = ("mean", "q05", "q50", "q95")


def check_intervals(obj: Any, path: Path, where: str) -> None:
    """Refuse an interval record holding a non-number (a hand-edited ``"roas": {"meta": {"mean": "abc"}}``), naming its key."""
    if isinstance(obj, dict):
        # A record is a dict of interval keys only, not all of them objects: a channel or tenant may be called "mean".
        record = bool(obj) and set(obj) <= set(INTERVAL_KEYS) and not all(isinstance(v, dict) for v in obj.values())
        for key, value in obj.items():
            name = _dotted(where, str(key))
            if record and value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise DataError(f"key '{name}' must be a number, found {kind_of(value)}", file=path, hint=REFIT)
            check_intervals(value, path, name)
    elif isinstance(obj, list):
        for k, value in enumerate(obj):
            check_intervals(value, path, f"{where}[{k}]")


def _dotted(what: str, key: str) -> str:
    """``what.key`` with control characters escaped: a key from a hostile file must not break the one-line error."""
    name = f"{what}.{key}" if what else key
    return name.encode("unicode_escape").decode("ascii") if not name.isprintable() else name


def is_run_file(path: str | Path, own: str | None = None) -> bool:
    """True if ``path`` is (or would be) one of a run folder's files (:data:`RUN_OWNED`) other than the command's ``own``."""
    path = Path(path)
    return path.name in RUN_OWNED and path.name != own and any((path.parent / f).exists() for f in RUN_FILES)


def file_head(path: Path, size: int = 4096) -> str:
    """The first ``size`` bytes of a file as text (a BOM dropped; undecodable bytes replaced)."""
    with open(path, "rb") as fh:
        return fh.read(size).decode("utf-8-sig", errors="replace")


def refuse_foreign(path: Path, force: bool, ours: Callable[[Path], bool], what: str, otherwise: str = "move it away",
                   own: str | None = None, inputs: Sequence[str | Path | None] = ()) -> None:
    """Before any work: refuse to replace a file at a command's output ``path`` unless it is ``what``
    (``ours(path)``) or ``force``; never a run folder's file other than the command's ``own`` (its name), a file in a
    lake's tenant folder, nor one of its ``inputs``; the place must be writable. Outputs never replace what the command did not create."""
    _refuse_protected(path, own, hint=otherwise)  # the command may have no --out to name (diagnose, evaluate)
    atomic.refuse_input(path, inputs)
    if path.is_dir():
        raise DataError("is a folder, but a file is needed here", file=path, hint=otherwise)
    if path.is_file() and not force and not ours(path):
        raise FileExistsError(f"{path} exists and is not {what}; pass --force to replace it, or {otherwise}")
    atomic.ensure_file_writable(path, force=True)


def check_out_file(path: str | Path, force: bool = False, inputs: Sequence[str | Path | None] = (), option: str = "--out",
                   own: str | None = None) -> Path:
    """Refuse an ``--out FILE`` (or another ``option``'s) that would replace a run folder's file other than the command's
    ``own``, a file in a lake's tenant folder or one of the command's ``inputs`` (always), an existing file (unless
    ``force``), a folder, or an unwritable place. Call before any work."""
    path = Path(path)
    _refuse_protected(path, own, hint=f"choose another {option}")
    atomic.ensure_file_writable(path, force, inputs, option)
    return path


def _refuse_protected(path: Path, own: str | None, hint: str) -> None:
    """Refuse, even with --force, an output over a run folder's file other than ``own``, or beside a lake's data."""
    if is_run_file(path, own):
        raise DataError(f"is a run folder's own file; no command writes over it, not even with --force, but the one that "
                        f"writes {path.name}", file=path, hint=hint)
    # A lake's tenant folder holds the data every run rests on: no output file lands beside them (a plan or a report
    # written over daily.csv would lose it), whichever lake it is and whether or not the command read it. Only the
    # file's own folder counts: a run folder kept inside a tenant folder, or a stray export higher up, is no lake.
    where = path.parent.resolve()  # links to the folder resolved; a link at ``path`` itself is replaced, not followed
    if is_tenant_folder(where):
        raise DataError(f"lies in {where}, a lake's tenant folder; outputs are never written among a lake's data, "
                        "not even with --force", file=path, hint=hint)


class RunFolder:
    """A run folder on disk: its paths, checked readers and atomic writers.

    Parameters
    ----------
    path
        The folder (it need not exist yet for :meth:`save`).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RunFolder) and self.path == other.path

    def __hash__(self) -> int:
        return hash(self.path)

    # ------------------------------------------------------------------ paths
    @property
    def idata_path(self) -> Path:
        return self.path / IDATA

    @property
    def summary_path(self) -> Path:
        return self.path / SUMMARY

    @property
    def evaluation_path(self) -> Path:
        return self.path / EVALUATION

    @property
    def allocation_path(self) -> Path:
        return self.path / ALLOCATION

    @property
    def model_card_path(self) -> Path:
        return self.path / MODEL_CARD

    @property
    def monitor_path(self) -> Path:
        return self.path / MONITOR

    @property
    def report_path(self) -> Path:
        return self.path / REPORT

    @staticmethod
    def group_folder_name(group_id: str) -> str:
        """The ``folder`` entry of a group in a grouped summary (relative to the run)."""
        return f"{GROUPS_DIR}/{group_id}"

    # ---------------------------------------------------------------- readers
    def summary(self, need_tenants: bool = False) -> dict:
        """``summary.json``, checked: an object whose ``data``, ``convergence`` (and ``groups``) are well-formed.

        Parameters
        ----------
        need_tenants
            Also require a ``tenants`` object with an object entry for every tenant of ``data.tenants``.
        """
        path = self.summary_path
        if not path.is_file():
            raise DataError(f"not a run folder: {SUMMARY} is missing", file=self.path, hint="create one with `bayes-mmm fit --out DIR`")
        summary = read_json(path)
        if not isinstance(summary, dict):
            raise DataError(f"must hold a JSON object, found {kind_of(summary)}", file=path, hint=REFIT)
        data = require(summary, "data", dict, path)
        require_strings(data, "tenants", path, "data")
        require_strings(data, "channels", path, "data")
        cadence = data.get("cadence", DAILY)
        if not isinstance(cadence, str) or cadence not in CADENCE_DAYS:
            raise DataError(f"key 'data.cadence' must be one of {', '.join(CADENCE_DAYS)}, found {cadence!r}", file=path, hint=REFIT)
        if "tenants" in summary:  # per-tenant entries: every reader looks them up by id
            check_intervals(require(summary, "tenants", dict, path), path, "tenants")
        conv = require(summary, "convergence", dict, path)
        if "ok" in conv:
            require(conv, "ok", bool, path, "convergence")
        if "groups" in summary:
            for k, entry in enumerate(require(summary, "groups", list, path)):
                self._check_group(entry, k)
        if need_tenants:
            entries = require(summary, "tenants", dict, path)
            for t in data["tenants"]:
                require(entries, t, dict, path, "tenants")
        return summary

    def _check_group(self, entry: Any, k: int) -> None:
        where = f"groups[{k}]"
        if not isinstance(entry, dict):
            raise DataError(f"{where} must be an object, found {kind_of(entry)}", file=self.summary_path, hint=REFIT)
        for key in ("id", "folder", "status"):
            require(entry, key, str, self.summary_path, where)
        require_strings(entry, "tenants", self.summary_path, where)
        self._inside(entry["folder"])

    def _inside(self, folder: str) -> Path:
        """A group's folder, refused unless it resolves inside this run folder (no absolute paths, ``..`` or symlinks out)."""
        rel = Path(folder)
        try:
            target = (self.path / rel).resolve()
        except (OSError, ValueError):  # an embedded NUL byte, a symlink loop
            target = None
        if rel.is_absolute() or ".." in rel.parts or target is None or not target.is_relative_to(self.path.resolve()):
            raise DataError(f"group folder '{folder}' lies outside the run folder", file=self.summary_path,
                            hint="group folders are relative paths inside the run, e.g. groups/g000")
        return self.path / rel

    def spec(self, summary: dict | None = None) -> ModelSpec:
        """The run's model settings, from ``summary.json`` ``config.spec`` (their one home)."""
        summary = self.summary() if summary is None else summary
        raw = require(require(summary, "config", dict, self.summary_path), "spec", dict, self.summary_path, "config")
        try:
            spec = ModelSpec.from_dict(raw)
        except (TypeError, ValueError, KeyError) as exc:
            raise DataError(f"config.spec is not valid model settings ({exc})", file=self.summary_path, hint=REFIT) from None
        if spec.adstock not in ADSTOCKS:  # a fitted run names the shape it fitted; "screen" is a choice before the fit
            raise DataError(f"config.spec.adstock must name a fitted shape ({', '.join(ADSTOCKS)}), found '{spec.adstock}'",
                            file=self.summary_path, hint=REFIT)
        return spec

    def n_lags(self, summary: dict | None = None) -> int:
        """The adstock window in periods of the run's data (``spec.l_max`` is stated in days)."""
        summary = self.summary() if summary is None else summary
        return periods(self.spec(summary).l_max, str((summary.get("data") or {}).get("cadence", "daily")))

    def idata(self, groups: tuple[str, ...] = ()):
        """``idata.nc``, checked: readable netCDF holding the groups and variables every reader uses, and ``groups``."""
        import arviz as az

        path = self.idata_path
        if not path.is_file():
            raise DataError(f"not a run folder: {IDATA} is missing", file=self.path, hint="create one with `bayes-mmm fit --out DIR`")
        try:
            idata = az.from_netcdf(str(path), engine="h5netcdf")
        except Exception as exc:  # h5py/xarray raise many types for a damaged file; all mean "unreadable"
            raise DataError(f"not a readable netCDF file ({type(exc).__name__})", file=path, hint=REFIT) from None
        missing = [g for g in (*IDATA_GROUPS, *groups) if g not in idata.groups()]
        if missing:
            raise DataError(f"no {' or '.join(missing)} group: not an idata.nc written by bayes-mmm", file=path, hint=REFIT)
        absent = [f"constant_data.{v}" for v in CONSTANT_VARS if v not in idata.constant_data]
        absent += [] if "tenant" in idata.constant_data.coords else ["the tenant coordinate"]
        absent += [] if idata.posterior.data_vars else ["posterior draws"]
        if absent:
            raise DataError(f"lacks {', '.join(absent)}: not an idata.nc written by bayes-mmm", file=path, hint=REFIT)
        try:  # read now what every command uses: a damaged chunk is then this error, not a traceback later
            for g in (*IDATA_GROUPS, *groups):
                idata[g].load()
        except Exception as exc:  # h5py raises OSError, others ValueError or KeyError, for a damaged chunk
            raise DataError(f"damaged: its {', '.join((*IDATA_GROUPS, *groups))} cannot be read ({type(exc).__name__})",
                            file=path, hint=REFIT) from None
        bad = [v for v in FINITE_VARS if v in idata.posterior and not np.isfinite(idata.posterior[v].values).all()]
        if bad:
            raise DataError(f"damaged: posterior draws of {', '.join(bad)} are not finite (NaN or infinite)", file=path, hint=REFIT)
        return idata

    def load(self, need_tenants: bool = False, groups: tuple[str, ...] = ()):
        """``(InferenceData, summary)`` of an ordinary run folder; a grouped run says which group folder to pass.

        ``groups``: the idata groups the caller reads beyond the posterior and constant data, checked and read now.
        """
        if not self.idata_path.is_file() and self.summary_path.is_file():
            self.group_of(None)  # a grouped run: raises with the folder to pass instead
        summary = self.summary(need_tenants)
        idata = self.idata(groups)
        for key in ("tenant", "channel"):
            held = [str(t) for t in idata.constant_data[key].values] if key in idata.constant_data.coords else None
            listed = summary["data"].get(f"{key}s")
            if held is not None and listed is not None and held != listed:
                raise DataError(f"{IDATA} holds {key}s {held[:3]} but {SUMMARY} lists {listed[:3]}",
                                file=self.path, hint="the two files come from different runs; " + REFIT)
        dates = idata.constant_data["date"].values if "date" in idata.constant_data.coords else None
        end = summary["data"].get("end")
        if dates is not None and len(dates) and isinstance(end, str) and str(dates[-1])[:10] != end[:10]:
            raise DataError(f"{IDATA}'s data end {str(dates[-1])[:10]} but {SUMMARY} says {end[:10]}", file=self.path,
                            hint="the two files come from different runs; " + REFIT)
        return idata, summary

    def allocation(self) -> dict | None:
        """``allocation.json`` if present, checked: ``tenants`` maps ids to objects of channel → daily amounts."""
        path = self.allocation_path
        if not path.exists():
            return None
        plan = read_json(path)
        if not isinstance(plan, dict):
            raise DataError(f"must hold a JSON object, found {kind_of(plan)}", file=path)
        for t, entry in require(plan, "tenants", dict, path).items():
            where = f"tenants.{t}"
            require(plan["tenants"], t, dict, path, "tenants")
            for key in ("plan", "current"):
                amounts = require(entry, key, dict, path, where) if key == "plan" or key in entry else {}
                for ch, days in amounts.items():
                    self._check_amounts(days, path, f"{where}.{key}.{ch}")
        if "days" in plan:
            require_strings(plan, "days", path)
        return plan

    @staticmethod
    def _check_amounts(days: Any, path: Path, where: str) -> None:
        if not isinstance(days, list) or not all(isinstance(d, int | float) and not isinstance(d, bool) for d in days):
            raise DataError(f"key '{where}' must list amounts (numbers)", file=path)

    def evaluation(self) -> dict | None:
        """``evaluation.json`` if present, checked: an object whose ``pairs`` is a list of objects and ``overall`` an object."""
        path = self.evaluation_path
        if not path.exists():
            return None
        ev = read_json(path)
        if not isinstance(ev, dict):
            raise DataError(f"must hold a JSON object, found {kind_of(ev)}", file=path)
        pairs = ev.get("pairs", [])
        if not isinstance(pairs, list) or not all(isinstance(p, dict) for p in pairs):
            raise DataError("key 'pairs' must be a list of objects", file=path)
        again = "write it again with `bayes-mmm evaluate`"
        overall = ev.get("overall", {})
        if not isinstance(overall, dict):
            raise DataError("key 'overall' must be an object", file=path, hint=again)
        cov = overall.get("coverage_90")
        if cov is not None and not (isinstance(cov, int | float) and not isinstance(cov, bool) and 0 <= cov <= 1):
            raise DataError(f"key 'overall.coverage_90' must be a share from 0 to 1, found {cov!r}", file=path, hint=again)
        summary = self.summary() if self.summary_path.is_file() else {}
        if ev.get("run_id") and summary.get("run_id") and ev["run_id"] != summary["run_id"]:
            raise DataError(f"was written for run {ev['run_id']}, not this run ({summary['run_id']})", file=path, hint=again)
        mine = set((summary.get("data") or {}).get("tenants", []))
        other = sorted({str(p.get("tenant")) for p in pairs} - mine) if mine else []
        if other:
            raise DataError(f"holds tenants this run does not have ({', '.join(other[:5])}): written for another run?",
                            file=path, hint=again)
        return ev

    # ----------------------------------------------------------- grouped runs
    def is_grouped(self) -> bool:
        """True for a merged run of groups (its summary has a ``groups`` list)."""
        return self.summary_path.is_file() and "groups" in self.summary()

    def run_folders(self) -> list[RunFolder]:
        """The folders holding posteriors: the run itself, or each group that was fitted."""
        summary = self.summary()
        if "groups" not in summary:
            return [self]
        return [RunFolder(self._inside(g["folder"])) for g in summary["groups"] if g["status"] == "ok"]

    def group_of(self, tenant: str | None = None) -> RunFolder:
        """The run folder holding ``tenant``: the run itself, or its group folder for a grouped run."""
        if not self.summary_path.is_file():
            return self
        summary = self.summary()
        if "groups" not in summary:
            return self
        groups = summary["groups"]
        if tenant is None:
            example = f", e.g. {self.path / groups[0]['folder']}" if groups else ""
            raise DataError(f"a grouped run of {len(groups)} groups: name a tenant (--tenant) or pass one group's folder{example}",
                            file=self.path)
        for g in groups:
            if tenant in g["tenants"]:
                if g["status"] != "ok":
                    raise DataError(f"tenant '{tenant}' is in group {g['id']}, which failed: {g.get('error')}", file=self.path)
                return RunFolder(self._inside(g["folder"]))
        raise DataError(f"unknown tenant id '{tenant}' in this grouped run", file=self.summary_path)

    # ---------------------------------------------------------------- writers
    def save(self, idata: Any, summary: dict, overwrite: bool = False) -> dict:
        """Write ``idata.nc`` and ``summary.json`` as a new folder, atomically; return the summary as written."""
        text = to_json(summary)
        with atomic.folder(self.path, overwrite=overwrite) as tmp:
            if idata is not None:
                idata.to_netcdf(str(tmp / IDATA), engine="h5netcdf")
            (tmp / SUMMARY).write_text(text, encoding="utf-8")
        return json.loads(text)

    def write_summary(self, summary: dict) -> dict:
        """Replace ``summary.json`` atomically; return it as written (NaN → null)."""
        text = to_json(summary)
        atomic.write_text(self.summary_path, text)
        return json.loads(text)

    def update_summary(self, **sections: Any) -> dict:
        """Merge top-level sections into ``summary.json`` (atomically)."""
        return self.write_summary({**self.summary(), **sections})

    def write_evaluation(self, evaluation: dict) -> Path:
        return atomic.write_text(self.evaluation_path, to_json(evaluation))

    def write_allocation(self, plan: dict) -> Path:
        return atomic.write_text(self.allocation_path, to_json(plan) + "\n")

    def check_evaluation(self, force: bool = False) -> None:
        """Refuse, before any work, to replace an ``evaluation.json`` that bayes-mmm did not write (unless ``force``)."""
        def ours(p: Path) -> bool:  # the reader's checks, and both keys present (``{"mine": true}`` passes the reader)
            try:
                ev = self.evaluation()
            except (DataError, OSError, ValueError):
                return False
            return ev is not None and "pairs" in ev and "overall" in ev

        refuse_foreign(self.evaluation_path, force, ours, "an evaluation bayes-mmm wrote", own=EVALUATION)

    def check_model_card(self, force: bool = False) -> None:
        """Refuse, before any work, to replace a ``model_card.md`` that bayes-mmm did not write (unless ``force``)."""
        refuse_foreign(self.model_card_path, force, lambda p: file_head(p).startswith(CARD_TITLE), "a model card bayes-mmm wrote",
                       own=MODEL_CARD)

    def write_model_card(self, card: str) -> Path:
        return atomic.write_text(self.model_card_path, card)


def run_folders(run_dir: str | Path | RunFolder) -> list[Path]:
    """Paths of :meth:`RunFolder.run_folders` (what diagnose, report and the population prior iterate)."""
    return [f.path for f in as_run(run_dir).run_folders()]


def as_run(run_dir: str | Path | RunFolder) -> RunFolder:
    """A :class:`RunFolder` from a path (or the folder itself)."""
    return run_dir if isinstance(run_dir, RunFolder) else RunFolder(run_dir)


__all__ = ["GROUPS_DIR", "IDATA", "REPORT", "SUMMARY", "RunFolder", "as_run", "check_out_file", "is_run_file",
           "run_folders", "to_json"]
