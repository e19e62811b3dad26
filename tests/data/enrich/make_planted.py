"""Make ``planted.tsv``: a synthetic scored site table with planted AKT-substrate shifts (seeded; rerun to check).

    python tests/data/enrich/make_planted.py

150 sites; 20 are called AKT sites (``call``, ``score >= 0.6``). Fold-change columns (log2): ``up`` (AKT sites
shifted +1.2, others centred on 0), ``down`` (AKT sites shifted -1.2), ``null`` (no shift), ``s1``-``s3`` (three
samples with the AKT sites shifted +1), ``up_p`` (p-values of ``up``); a few cells of ``up`` are missing (``NA``,
two of them on AKT sites) and the last row repeats the first site.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(24)
n, m = 150, 20
akt = np.zeros(n, dtype=bool)
akt[rng.choice(n, m, replace=False)] = True
score = np.where(akt, rng.uniform(0.6, 0.99, n), rng.uniform(0.0, 0.59, n)).round(4)
noise = lambda: rng.normal(0.0, 0.5, n)  # noqa: E731
table = pd.DataFrame({
    "accession": [f"P{10000 + i}" for i in range(n)],
    "gene": [f"GENE{i}" for i in range(n)],
    "residue": rng.choice(["S", "T"], n, p=[0.85, 0.15]),
    "position": rng.integers(5, 900, n),
    "score": score,
    "percentile": (100 * (1 - (1 - score) ** 3)).round(4),
    "call": np.where(akt, "true", "false"),
    "up": (noise() + 1.2 * akt).round(3),
    "down": (noise() - 1.2 * akt).round(3),
    "null": noise().round(3),
})
for i in (1, 2, 3):
    table[f"s{i}"] = (noise() + 1.0 * akt).round(3)
table["up_p"] = np.clip(np.exp(-np.abs(table["up"]) * 3 + rng.normal(0, 0.3, n)), 1e-6, 1).round(4)
table["up"] = table["up"].astype(object)
table.loc[np.flatnonzero(~akt)[:3], "up"] = "NA"
table.loc[np.flatnonzero(akt)[:2], "up"] = "NA"
table = pd.concat([table, table.iloc[[0]]], ignore_index=True)
table.to_csv(Path(__file__).with_name("planted.tsv"), sep="\t", index=False, lineterminator="\n")
