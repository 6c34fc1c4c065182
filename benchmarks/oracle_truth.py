"""A scenario lake's truth in the flat layout ``bench_allocate.bench_regret`` scores plans with.

Scenario tenants (``synthetic.scenario_sim``) describe each channel as nested ``adstock`` and
``saturation`` dicts; the allocator oracle reads the default universe's flat fields
(``adstock_alpha, l_max, half_sat, hill_shape``). Only a mechanism the oracle can express is
converted — additive media, geometric adstock, Hill saturation, no weather link — anything else
is a ValueError rather than a silently wrong optimum.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

DAILY = ("daily.parquet", "daily.csv")


def flat_channel(name: str, ch: dict) -> dict:
    """One channel's truth with the oracle's flat fields (ValueError when it cannot express it)."""
    ad, sat, link = ch["adstock"], ch["saturation"], ch.get("weather_link", {"kind": "none"})
    if (ad["kind"], sat["kind"], link["kind"]) != ("geometric", "hill", "none"):
        raise ValueError(f"channel {name}: the oracle needs geometric adstock, Hill and no weather link; "
                         f"got {ad['kind']}, {sat['kind']}, {link['kind']}")
    return ch | {"adstock_alpha": ad["alpha"], "l_max": int(ad["l_max"]), "half_sat": sat["half_sat"],
                 "hill_shape": sat["shape"]}


def oracle_lake(lake: Path, out: Path) -> Path:
    """Copy each tenant's daily table to ``out`` with a flat ``truth.json``; returns ``out``."""
    for folder in sorted(p for p in lake.iterdir() if (p / "truth.json").is_file()):
        truth = json.loads((folder / "truth.json").read_text())
        if truth.get("signal", {}).get("combine", "additive") != "additive":
            raise ValueError(f"{folder.name}: the oracle needs additive media")
        dest = out / folder.name
        dest.mkdir(parents=True, exist_ok=True)
        for name in DAILY:
            if (folder / name).is_file():
                shutil.copy2(folder / name, dest / name)
        channels = {c: ch if "l_max" in ch else flat_channel(c, ch) for c, ch in truth["channels"].items()}
        (dest / "truth.json").write_text(json.dumps(truth | {"channels": channels}))
    return out
