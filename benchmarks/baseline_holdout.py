"""Walk-forward holdout R² of the baseline alone, without sampling: how much of CV's gap is the baseline's.

For each fold of ``bayes-mmm cv`` (same folds) and tenant of a synthetic lake, the true media contribution
(``truth_daily.parquet``) is removed from revenue and the baseline design of the fold is fitted by its
posterior mean under the model's own prior (ridge with the design's prior variances, noise from least
squares). Holdout R² adds the true media back, so it isolates the baseline: the model cannot do better than
this with its media right. ``--before`` builds the design as before session 21 (weather not held at the
training range, the yearly terms' prior not shrunk under a year). Prints, per lake, the mean over tenants and how many are within 0.1 of the oracle.

    python benchmarks/baseline_holdout.py LAKE [LAKE ...] [--before]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bayes_mmm.analysis.cv import metrics, walk_forward_folds
from bayes_mmm.data.lake import load_lake
from bayes_mmm.model import design as design_module
from bayes_mmm.model.design import build_design


def holdout(lake: Path, n_folds: int = 5) -> tuple[dict[str, float], dict[str, float]]:
    """Per tenant, mean holdout R² of the baseline posterior mean and of the true expected revenue."""
    ds = load_lake(lake)
    dates = pd.DatetimeIndex(ds["date"].values)
    model, oracle = {}, {}
    for fold in walk_forward_folds(ds["observed"].values, n_folds):
        d = build_design(ds, None, fold.train)
        for i, t in enumerate(d.tenants):
            tr, te = fold.train[i], fold.test[i]
            truth = pd.read_parquet(lake / t / "truth_daily.parquet").set_index("date").reindex(dates)
            media = truth.filter(like="media_").sum(axis=1).to_numpy() / d.y_scale[i]
            y = np.nan_to_num(ds["revenue"].values[i]) / d.y_scale[i]
            x = d.X[i][:, d.keep[i]]
            cov = d.Rinv[i] @ np.diag(d.prior_var[i]) @ d.Rinv[i].T  # the design's prior on the coefficients
            k = len(d.keep[i])
            ls = np.linalg.lstsq(x[tr], (y - media)[tr], rcond=None)[0]
            sig2 = np.sum(((y - media)[tr] - x[tr] @ ls) ** 2) / max(tr.sum() - k, 1)
            b = np.linalg.solve(x[tr].T @ x[tr] / sig2 + np.linalg.inv(cov[:k, :k]), x[tr].T @ (y - media)[tr] / sig2)
            model.setdefault(t, []).append(metrics(y[te], x[te] @ b + media[te])["r2"])
            oracle.setdefault(t, []).append(metrics(y[te], truth["expected_revenue"].to_numpy()[te] / d.y_scale[i])["r2"])
    return {t: float(np.mean(v)) for t, v in model.items()}, {t: float(np.mean(v)) for t, v in oracle.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lakes", nargs="+", type=Path)
    ap.add_argument("--before", action="store_true", help="the design before session 21 (no weather clip, no yearly shrink)")
    args = ap.parse_args()
    if args.before:
        design_module._training_range = lambda *a: (None, None, None)
        design_module._years = lambda *a: 1.0
    for lake in args.lakes:
        model, oracle = holdout(lake)
        within = sum(model[t] >= oracle[t] - 0.1 for t in model)
        print(f"{lake}: baseline holdout R² {np.mean(list(model.values())):.3f} (oracle {np.mean(list(oracle.values())):.3f}), "
              f"{within} of {len(model)} tenants within 0.1 of the oracle", flush=True)


if __name__ == "__main__":
    main()
