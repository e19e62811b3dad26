"""The numbers of the README's worked examples (GSK3B S9, PRAS40 T246, FOXO3), from the bundled model.

One command (from the repository root)::

    python benchmarks/whatif/worked_example.py

Re-run it when the bundled model changes and update the README's "Why a site scores high", "What a missense
variant does" and "Where the sites are" sections with what it prints.
"""

from __future__ import annotations

from pathlib import Path

import phosnet
from phosnet.explainer import position_importance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "phosnet" / "examples" / "akt_substrates.fasta"
AKT1S1 = ROOT / "tests" / "data" / "whatif" / "akt1s1.fasta"
COLUMNS = ["mutation", "score", "percentile", "delta", "predicted"]


def main() -> None:
    for fasta, site, mutations in (
        (EXAMPLE, "P49841:S9", ["S9S", "R4A", "R6A", "R6K", "S9T", "S9A"]),
        (AKT1S1, "Q96B36:T246", ["T246T", "R241A", "R243A", "T246S"]),
    ):
        table = phosnet.explain(fasta, site)
        print(f"== explain {site}")
        print(table[table["mutation"].isin(mutations)][COLUMNS].to_string(index=False))
        print(position_importance(table).nlargest(4, "importance").to_string(index=False))
    variants = phosnet.score_variants(EXAMPLE, [("P49841", "R6A"), ("P49841", "S9A"), ("P49841", "S2R")])
    for label, kwargs in (("default call", {}), ("--specificity 0.95", {"specificity": 0.95})):
        rows = phosnet.score_variants(EXAMPLE, [("P49841", "R6A")], **kwargs)
        print(f"== R6A at S9, {label}: effect {rows.loc[rows['position'] == 9, 'effect'].iloc[0]}")
    print("== variants (GSK3B)")
    print(variants[variants["position"].isin([7, 9])][
        ["variant", "site", "ref_score", "alt_score", "ref_percentile", "alt_percentile", "effect"]
    ].to_string(index=False))
    calls = phosnet.predict(EXAMPLE)
    foxo3 = calls[(calls["protein_id"] == "sp|O43524|FOXO3_HUMAN") & calls["predicted"]]
    sites = [f"{r}{p}" for r, p in zip(foxo3["residue"], foxo3["position"], strict=True)]
    print("== FOXO3 calls at the default call:", ", ".join(sites))


if __name__ == "__main__":
    main()
