"""The public workflow functions that the CLI and the notebooks share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bayes_mmm.data import load_lake
from bayes_mmm.fit import FitResult, SamplerConfig, fit
from bayes_mmm.spec import ModelSpec
from bayes_mmm.summary import build_summary, save_run


def fit_lake(
    data: str | Path,
    tenants: str | list[str] = "all",
    out: str | Path | None = None,
    spec_kwargs: dict[str, Any] | None = None,
    sampler_kwargs: dict[str, Any] | None = None,
    overwrite: bool = False,
    console: Any | None = None,
) -> dict:
    """Load a lake, fit the MMM and (optionally) write the run folder.

    Parameters
    ----------
    data
        Lake folder.
    tenants
        ``"all"`` or tenant ids.
    out
        Run folder to write (atomically); ``None`` writes nothing.
    spec_kwargs, sampler_kwargs
        Fields of :class:`~bayes_mmm.spec.ModelSpec` and
        :class:`~bayes_mmm.fit.SamplerConfig`.

    Returns
    -------
    dict
        The run summary (summary.json's content).
    """
    spec = ModelSpec(**(spec_kwargs or {}))
    sampler = SamplerConfig(**(sampler_kwargs or {}))
    if out is not None and Path(out).exists() and any(Path(out).iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass --overwrite to replace it")
    ds = load_lake(data, tenants)
    if console is not None:
        console.print(
            f"fitting {ds.sizes['tenant']} tenants × {ds.sizes['date']} days × {ds.sizes['channel']} channels "
            f"with {sampler.sampler} ({sampler.chains} chains × {sampler.tune}+{sampler.draws})"
        )
    result: FitResult = fit(ds, spec, sampler)
    if out is None:
        return build_summary(result, data)
    return save_run(result, out, lake=data, overwrite=overwrite)
