"""Figures of the what-if tools: a site's mutagenesis heatmap and importance logo, a protein's site map.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot state, so nothing leaks between
figures) and written by :func:`write_figures`: one file (PNG/SVG/PDF by suffix), a multi-page PDF, or a folder
of one file per figure; each file goes through :func:`phosnet.io.atomic.atomic_output`. Logos are drawn by
logomaker.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from phosnet.encoding import ALPHABET
from phosnet.errors import InputError
from phosnet.io.tables import FIGURE_FORMATS as FORMATS

DPI = 150

# Residue colours by chemistry (basic blue, acidic red, polar green, hydrophobic black, X grey).
RESIDUE_COLOURS = {
    **dict.fromkeys("KRH", "#1f5fbf"), **dict.fromkeys("DE", "#d62728"), **dict.fromkeys("STNQCGY", "#2ca02c"),
    **dict.fromkeys("AVLIMFWP", "#222222"), "X": "#999999",
}


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


# ----------------------------------------------------------------------------------------------------------
# explain: heatmap + logo of one site
# ----------------------------------------------------------------------------------------------------------
def explain_figure(site_table: pd.DataFrame, *, threshold: float | None = None) -> Any:
    """The figure of one site of an explain table: a heatmap of ``delta`` (substitute x offset, the
    wild-type sequence along the axis) above a logo of each wild-type residue's importance."""
    import logomaker
    from matplotlib.colors import Normalize

    from phosnet.explainer import position_importance

    flank = int(site_table["offset"].abs().max()) if len(site_table) else 0
    flank = max(flank, 1)
    offsets = np.arange(-flank, flank + 1)
    letters = list(ALPHABET)
    grid = (
        site_table.pivot_table(index="substitute", columns="offset", values="delta", aggfunc="first", dropna=False)
        .reindex(index=letters, columns=offsets)
    )
    wild = site_table.drop_duplicates("offset").set_index("offset")["wild_type"].reindex(offsets).fillna("")
    protein_id, site = site_table["protein_id"].iloc[0], site_table["site"].iloc[0]
    is_wild = (site_table["offset"] == 0) & (site_table["substitute"] == site_table["wild_type"])
    wild_score = float(site_table.loc[is_wild, "score"].iloc[0])
    wild_percentile = float(site_table.loc[is_wild, "percentile"].iloc[0])

    fig = _figure(max(8.0, 0.32 * len(offsets) + 2), 7.5)
    heat_ax, logo_ax = fig.subplots(2, 1, height_ratios=[3.2, 1.3], sharex=True)
    values = grid.to_numpy(dtype=float)
    finite = values[np.isfinite(values)]
    # one scale for gains and losses (a small gain must not look as strong as a large loss)
    reach = max(float(np.abs(finite).max()) if finite.size else 0.0, 1e-3)
    cmap = _cmap("RdBu_r")
    image = heat_ax.imshow(np.ma.masked_invalid(values), cmap=cmap, norm=Normalize(-reach, reach),
                           aspect="auto", extent=(offsets[0] - 0.5, offsets[-1] + 0.5, len(letters) - 0.5, -0.5),
                           interpolation="nearest")
    heat_ax.set_facecolor("#d9d9d9")
    for offset, letter in wild.items():
        if letter in letters:
            heat_ax.plot(offset, letters.index(letter), marker="o", markersize=3, color="black", linestyle="none")
    heat_ax.set_yticks(range(len(letters)), letters, fontsize=7)
    heat_ax.set_ylabel("substitute")
    top = heat_ax.secondary_xaxis("top")
    top.set_xticks(offsets, [str(w) for w in wild], fontsize=8, family="monospace")
    top.set_xlabel("wild-type window")
    colorbar = fig.colorbar(image, ax=heat_ax, shrink=0.8, pad=0.01)
    colorbar.set_label("score change (delta)")
    called = "" if threshold is None else f", threshold {threshold:.3g}"
    percentile = "" if np.isnan(wild_percentile) else f" (percentile {wild_percentile:.2f})"
    heat_ax.set_title(f"{protein_id} {site}: score {wild_score:.3g}{percentile}{called}\n"
                      "dots: wild type; grey: no site (centre not S/T) or off the protein", fontsize=9)

    importance = position_importance(site_table).set_index("offset")
    logo_frame = pd.DataFrame(0.0, index=offsets, columns=letters)
    for offset, row in importance.iterrows():
        if row["wild_type"] in letters:
            logo_frame.loc[offset, row["wild_type"]] = row["importance"]
    logomaker.Logo(logo_frame, ax=logo_ax, color_scheme=RESIDUE_COLOURS, font_name="DejaVu Sans Mono")
    logo_ax.axhline(0, color="#555555", linewidth=0.5)
    logo_ax.set_ylabel("importance\n(-mean delta)")
    logo_ax.set_xlabel("offset from the site")
    logo_ax.set_xticks(offsets[::5] if flank % 5 == 0 else offsets)
    return fig


def _cmap(name: str) -> Any:
    from matplotlib import colormaps

    return colormaps[name].with_extremes(bad="#d9d9d9")


# ----------------------------------------------------------------------------------------------------------
# map: scores along a protein
# ----------------------------------------------------------------------------------------------------------
def site_map_figure(
    protein_id: str,
    length: int,
    sites: pd.DataFrame,
    *,
    threshold: float | None,
    threshold_label: str = "threshold",
    value: str = "score",
    known: Iterable[int] = (),
    max_labels: int = 40,
) -> Any:
    """Score (or percentile) of every candidate residue along one protein; calls labelled (``S473``), the
    call threshold drawn, known sites marked with triangles along the top.

    ``sites`` has ``position, residue, predicted`` and the ``value`` column (one protein's rows of a scan).
    """
    fig = _figure(11.0, 3.8)
    ax = fig.subplots()
    positions = sites["position"].to_numpy()
    values = sites[value].to_numpy(dtype=float)
    called = sites["predicted"].to_numpy(dtype=bool)
    top = 100.0 if value == "percentile" else 1.0
    ax.vlines(positions, 0, values, color="#bbbbbb", linewidth=0.6, zorder=1)
    ax.scatter(positions[~called], values[~called], s=8, color="#888888", zorder=2, label="S/T")
    ax.scatter(positions[called], values[called], s=16, color="#c0392b", zorder=3, label="called site")
    labelled = sites[called].nlargest(max_labels, value)
    for position, residue, score in zip(labelled["position"], labelled["residue"], labelled[value], strict=True):
        ax.annotate(f"{residue}{position}", (position, score), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize=7, rotation=90, color="#c0392b")
    if threshold is not None:
        ax.axhline(threshold, color="#c0392b", linestyle="--", linewidth=0.8, label=threshold_label)
    known = sorted(set(int(k) for k in known))
    if known:
        ax.scatter(known, np.full(len(known), top * 1.12), marker="v", s=28, color="#1f5fbf", zorder=4,
                   clip_on=False, label="known site")
    ax.set_xlim(0, length + 1)
    ax.set_ylim(0, top * 1.18)
    ax.set_xlabel("position")
    ax.set_ylabel(value)
    ax.set_title(f"{protein_id} ({length} residues)", fontsize=10)
    fig.legend(loc="outside lower center", fontsize=7, frameon=False, ncols=4)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


# ----------------------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------------------
def figure_target(output: str | os.PathLike, count: int, fmt: str | None = None) -> tuple[str, Path, str]:
    """How ``count`` figures go to ``output``: ``("file", path, fmt)`` (one figure, or a PDF with one page
    each) or ``("folder", path, fmt)`` (one file per figure; a folder is an existing directory or a path
    without a suffix). Checked before any drawing."""
    path = Path(output)
    suffix = path.suffix.lower().lstrip(".")
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"figure format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if path.is_dir() or not suffix:
        return "folder", path, fmt or "png"
    if suffix not in FORMATS:
        raise InputError(f"{output}: figure files end in .png, .svg or .pdf (or name a folder)")
    if fmt is not None and fmt != suffix:
        raise InputError(f"{output}: the suffix says {suffix}, the format {fmt}")
    if count > 1 and suffix != "pdf":
        raise InputError(f"{output}: {count} figures do not fit one {suffix.upper()}; write a .pdf or a folder")
    return "file", path, suffix


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "figure"


def write_figures(
    output: str | os.PathLike, figures: Iterable[tuple[str, Any]], count: int, fmt: str | None = None
) -> list[Path]:
    """Write ``(name, figure)`` pairs (``count`` of them, drawn lazily) to ``output`` (see
    :func:`figure_target`); each figure is released once written. Returns the files written."""
    from phosnet.io.atomic import atomic_output

    kind, path, fmt = figure_target(output, count, fmt)
    written: list[Path] = []
    iterator: Iterator[tuple[str, Any]] = iter(figures)
    if kind == "file" and fmt == "pdf":
        from matplotlib.backends.backend_pdf import PdfPages

        with atomic_output(path, "wb") as handle, PdfPages(handle) as pdf:
            for _, figure in iterator:
                pdf.savefig(figure)
        return [path]
    if kind == "file":
        for _, figure in iterator:
            with atomic_output(path, "wb") as handle:
                figure.savefig(handle, format=fmt)
        return [path]
    path.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    for name, figure in iterator:
        stem = _file_name(name)
        while stem in used:
            stem += "_"
        used.add(stem)
        target = path / f"{stem}.{fmt}"
        with atomic_output(target, "wb") as handle:
            figure.savefig(handle, format=fmt)
        written.append(target)
    return written


def plot_explain(
    table: pd.DataFrame, output: str | os.PathLike, *, threshold: float | None = None, fmt: str | None = None
) -> list[Path]:
    """Draw every site of an explain table (:func:`phosnet.explain`): one figure per site, written to
    ``output`` (a PNG/SVG for one site, a multi-page PDF, or a folder). Returns the files written."""
    from phosnet.explainer import sites_of

    pairs = list(sites_of(table))
    figure_target(output, len(pairs), fmt)
    groups = table.groupby(["protein_id", "site"], sort=False)

    def figures() -> Iterator[tuple[str, Any]]:
        for protein_id, site in pairs:
            yield f"{protein_id}_{site}", explain_figure(groups.get_group((protein_id, site)), threshold=threshold)

    return write_figures(output, figures(), len(pairs), fmt)


# ----------------------------------------------------------------------------------------------------------
# enrich: volcano plot and running sum of one contrast
# ----------------------------------------------------------------------------------------------------------
def volcano_figure(sites: pd.DataFrame, *, title: str = "", fc_cutoff: float | None = None,
                   p_cutoff: float | None = None, labels: int = 12) -> Any:
    """Volcano plot of one contrast of :func:`phosnet.enrich`'s ``sites`` table: log2 fold change against
    -log10 p (against the AKT score's percentile when the contrast has no p-values), predicted AKT sites in red,
    the ``labels`` most changed of them named (``AKT1S1 T246``)."""
    fig = _figure(6.4, 5.2)
    ax = fig.subplots()
    fc = sites["log2fc"].to_numpy(dtype=float)
    p = sites["pvalue"].to_numpy(dtype=float)
    akt = sites["akt_site"].to_numpy(dtype=bool)
    has_p = bool(np.isfinite(p).any())
    y = -np.log10(np.clip(p, 1e-300, 1.0)) if has_p else sites["percentile"].to_numpy(dtype=float)
    if not has_p and not np.isfinite(y).any():
        y = sites["score"].to_numpy(dtype=float)
    ax.scatter(fc[~akt], y[~akt], s=5, color="#aaaaaa", alpha=0.6, linewidths=0, label="other sites")
    ax.scatter(fc[akt], y[akt], s=14, color="#c0392b", linewidths=0, label="predicted AKT site")
    if fc_cutoff:
        for x in (-fc_cutoff, fc_cutoff):
            ax.axvline(x, color="#555555", linestyle=":", linewidth=0.7)
    if has_p and p_cutoff:
        ax.axhline(-np.log10(p_cutoff), color="#555555", linestyle=":", linewidth=0.7)
    strength = np.abs(fc) * (np.nan_to_num(y, nan=0.0) if has_p else 1.0)
    top = np.flatnonzero(akt)[np.argsort(-strength[akt], kind="stable")][:labels]
    for index in top:
        ax.annotate(str(sites["site"].iloc[index]), (fc[index], y[index]), xytext=(3, 2), textcoords="offset points",
                    fontsize=6.5, color="#8e1b10")
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel("-log10 p" if has_p else "AKT score percentile")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def running_sum_figure(sites: pd.DataFrame, *, title: str = "") -> Any:
    """The running sum of the weighted KS test of one contrast (GSEA's enrichment plot): the curve over sites
    ranked from most up to most down, a tick per predicted AKT site, and the ranked fold changes below."""
    from phosnet.enrichment import running_sum

    fc = sites["log2fc"].to_numpy(dtype=float)
    akt = sites["akt_site"].to_numpy(dtype=bool)
    order, curve = running_sum(fc, akt)
    ranks = np.arange(1, len(fc) + 1)
    fig = _figure(6.4, 4.6)
    top, ticks, bottom = fig.subplots(3, 1, sharex=True, height_ratios=[3, 0.5, 1.2])
    top.plot(ranks, curve, color="#c0392b", linewidth=1.2)
    top.axhline(0, color="#555555", linewidth=0.6)
    peak = int(np.argmax(np.abs(curve)))
    top.axvline(ranks[peak], color="#c0392b", linestyle="--", linewidth=0.7)
    top.set_ylabel("running sum")
    top.set_title(title, fontsize=10)
    ticks.vlines(ranks[akt[order]], 0, 1, color="#222222", linewidth=0.5)
    ticks.set_yticks([])
    ticks.set_ylabel("AKT", rotation=0, ha="right", va="center", fontsize=8)
    bottom.fill_between(ranks, fc[order], color="#888888", linewidth=0)
    bottom.set_ylabel("log2 FC")
    bottom.set_xlabel("sites ranked by fold change (up -> down)")
    for ax in (top, ticks, bottom):
        ax.spines[["top", "right"]].set_visible(False)
    return fig


def plot_enrich(result: Any, output: str | os.PathLike, *, fc_cutoff: float | None = None,
                p_cutoff: float | None = None, fmt: str | None = None, labels: int = 12) -> list[Path]:
    """Draw the volcano plot and the running sum of every contrast of an :class:`phosnet.enrichment.Enrichment`
    into ``output`` (a folder: ``volcano_<contrast>.png`` and ``running_sum_<contrast>.png``, or a multi-page
    PDF). Returns the files written."""
    activity = result.activity
    scored = activity[activity["akt_activity"].notna()]
    names = list(activity["contrast"])
    figure_target(output, 2 * len(names), fmt)
    groups = result.sites.groupby("contrast", sort=False)

    def figures() -> Iterator[tuple[str, Any]]:
        for name in names:
            part = groups.get_group(name)
            row = activity[activity["contrast"] == name].iloc[0]
            words = (f"AKT activity z = {row['akt_activity']:.2f}, ES = {row['gsea_es']:.2f}"
                     if name in set(scored["contrast"]) else "no activity score")
            yield f"volcano_{name}", volcano_figure(part, title=f"{name}: {words}", fc_cutoff=fc_cutoff,
                                                   p_cutoff=p_cutoff, labels=labels)
            yield f"running_sum_{name}", running_sum_figure(part, title=f"{name}: {words}")

    return write_figures(output, figures(), 2 * len(names), fmt)
