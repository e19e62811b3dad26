#!/usr/bin/env python
"""Score S/T site windows with the Kinase Library's AKT1/AKT2/AKT3 matrices.

Run with the Kinase Library's own environment (it pins old numpy/pandas):

    bash benchmarks/kinase_library/setup_env.sh            # once
    benchmarks/kinase_library/.venv/bin/python benchmarks/kinase_library/score_windows.py \
        data/akt_sites.tsv out.tsv[.gz]

Input: a TSV with a `window` column, a 31-mer centred on the S/T, `X` past either end of the protein
(phosnet's convention, data/akt_sites.tsv). Output: the same rows and columns, plus
  kl_AKT1, kl_AKT2, kl_AKT3              the library's standard site score: log2 score = sum of the log2
                                         position-specific matrix values over positions -5..+4 plus the
                                         log2 S/T favorability of the central residue
                                         (kinase_library.PhosphoProteomics.score, log2_score=True, st_fav=True)
  kl_AKT1_pct, kl_AKT2_pct, kl_AKT3_pct  the library's percentile of that score among the ~83k S/T sites of
                                         its bundled human phosphoproteome (Ochoa et al. 2019)
                                         (PhosphoProteomics.percentile), 0..100

Conversions, following the library's documented conventions (kinase_library.Substrate docstring):
  * the library wants a 15-mer (-7..+7) with the phosphoacceptor in the middle; we cut it from the 31-mer;
  * `_` means "truncation of the sequence" (past the protein's end): the runs of `X` padding at either end of
    our window become `_`; an `X` inside the protein (an unknown residue) stays `X` ("random amino acid");
  * lower-case s/t/y mark phospho-primed residues. Our windows carry no phosphorylation state, so we score
    without priming (pp=False): every flank residue is upper-cased and the library lower-cases the centre.
"""

from __future__ import annotations

import argparse
import re
import sys

import pandas as pd

KINASES = ["AKT1", "AKT2", "AKT3"]
_PAD_LEFT = re.compile(r"^X+")
_PAD_RIGHT = re.compile(r"X+$")


def to_kl_substrate(window: str) -> str:
    """31-mer (X-padded, centre = S/T) -> the library's 15-mer with `_` for positions past the protein ends."""
    w = window.strip().upper()
    if len(w) % 2 != 1 or len(w) < 15:
        raise ValueError(f"window must have odd length >= 15, got {len(w)}: {window!r}")
    c = len(w) // 2
    if w[c] not in "ST":
        raise ValueError(f"centre of window is {w[c]!r}, not S/T: {window!r}")
    # padding = the runs of X touching either end (they never reach the centre, which is S/T)
    w = _PAD_LEFT.sub(lambda m: "_" * len(m.group()), w)
    w = _PAD_RIGHT.sub(lambda m: "_" * len(m.group()), w)
    return w[c - 7 : c + 8]


def score_windows(df: pd.DataFrame, percentile: bool = True) -> pd.DataFrame:
    import kinase_library as kl  # imported late: slow (loads the scored phosphoproteome)

    subs = pd.DataFrame({"Sequence": df["window"].map(to_kl_substrate).to_numpy()})
    pps = kl.PhosphoProteomics(
        subs, seq_col="Sequence", pp=False, drop_invalid_subs=True, new_seq_phos_res_cols=True, suppress_warnings=True
    )
    if len(pps.omited_entries) or len(pps.ser_thr_data) != len(subs):
        raise SystemExit(
            f"kinase_library dropped {len(subs) - len(pps.ser_thr_data)} windows as invalid: "
            f"{list(pps.omited_entries)[:5]}"
        )
    scores = pps.score(
        kin_type="ser_thr", kinases=KINASES, values_only=True, log2_score=True, st_fav=True, round_digits=4
    )
    out = df.copy()
    for k in KINASES:
        out[f"kl_{k}"] = scores[k].to_numpy()
    if percentile:
        pct = pps.percentile(kin_type="ser_thr", kinases=KINASES, values_only=True, st_fav=True)
        for k in KINASES:
            out[f"kl_{k}_pct"] = pct[k].to_numpy()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input", help="TSV with a `window` column (31-mers, X padding)")
    ap.add_argument("output", help="output TSV (.gz to compress)")
    ap.add_argument("--no-percentile", action="store_true", help="skip the percentile columns")
    ap.add_argument("--drop-window", action="store_true", help="leave the window column out of the output")
    args = ap.parse_args(argv)

    df = pd.read_csv(args.input, sep="\t", dtype=str, keep_default_na=False)
    if "window" not in df.columns:
        raise SystemExit(f"{args.input}: no `window` column")
    out = score_windows(df, percentile=not args.no_percentile)
    if args.drop_window:
        out = out.drop(columns="window")
    compression = {"method": "gzip", "mtime": 0} if args.output.endswith(".gz") else None
    out.to_csv(args.output, sep="\t", index=False, lineterminator="\n", compression=compression)
    print(f"scored {len(out)} windows -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
