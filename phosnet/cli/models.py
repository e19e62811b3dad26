"""``phosnet models``: list the bundled models, or show how one was made."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from phosnet.precision import Precision


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _metric_line(metrics: dict[str, Any]) -> str:
    if not metrics:
        return "-"
    parts = [f"ROC-AUC {_fmt(metrics.get('roc_auc'))}", f"PR-AUC {_fmt(metrics.get('pr_auc'))}"]
    for key, value in (metrics.get("sensitivity") or {}).items():
        parts.append(f"Sn@Sp{float(key):.0%} {_fmt(value)}")
    if metrics.get("n"):
        parts.append(f"({metrics.get('positives')} positives / {metrics['n']} sites)")
    return "  ".join(parts)


def _predicts(meta: dict[str, Any]) -> str:
    """What a model predicts, from its metadata: ``AKT1/AKT2/AKT3 S/T`` (``? S/T`` when it names no kinase)."""
    return f"{'/'.join(meta.get('kinases') or ['?'])} {'/'.join(meta.get('residues') or 'ST')}"


def _precision_text(table: Precision | None, top_percent: float) -> str:
    """The calibrated precision at a stringency level's percentile, with its interval (``-`` without a table)."""
    import numpy as np

    if table is None:
        return "-"
    value, low, high = (float(v[0]) for v in table.lookup(np.array([100.0 - top_percent])))
    return f"{value:.2f} ({low:.2f}-{high:.2f})"


def _precision_lines(meta: dict[str, Any]) -> list[str]:
    """Where the model's precision column comes from (``phosnet models NAME``)."""
    table = meta.get("precision")
    if not table:
        return ["precision:         none (empty precision columns)"]
    return [f"precision:         {table.get('method', '-')}; fitted on {table.get('sites', 0):,} S/T "
            f"({table.get('positives', 0)} known sites) of {table.get('source', '-')}"]


def _background_lines(background: dict | None, meta: dict[str, Any]) -> list[str]:
    """The background and what each stringency level calls and finds (``phosnet models NAME``)."""
    if not background:
        return ["background:        none (empty percentile column; --stringency needs one: "
                "phosnet train --background FASTA)"]
    from phosnet.precision import Precision

    table = Precision.from_metadata(meta)
    lines = [
        f"background:        {background.get('source', '-')} ({background.get('sites', 0):,} S/T; sha256 "
        f"{str(background.get('source_sha256', '-'))[:12]}...), made by {background.get('command', '-')}",
        f"stringency:        {'level':<17} {'top':>5} {'score >=':>9}  {'background calls':>16}  "
        f"{'held-out sites found':>24}  {'held-out other S/T called':>25}  {'precision (95% interval)':>24}",
    ]
    for level, numbers in (background.get("stringency") or {}).items():
        found, other = numbers.get("test_sensitivity"), numbers.get("test_other_st_called")
        positives = numbers.get("test_positives") or 0
        found_text = f"{found:.0%} ({round(found * positives)} of {positives})" if found is not None else "-"
        other_text = f"{other:.2%}" if other is not None else "-"
        label = level + (" (default)" if level == "medium" else "")
        lines.append(
            f"                   {label:<17} {numbers['top_percent']:>4g}% {numbers['threshold']:>9.4g}  "
            f"{numbers.get('background_calls', 0):>16,}  {found_text:>24}  {other_text:>25}  "
            f"{_precision_text(table, float(numbers['top_percent'])):>24}"
        )
    if any("test_sensitivity" in numbers for numbers in (background.get("stringency") or {}).values()):
        lines.append("                   held-out: its kinases' sites in the test split's proteins, never trained on")
    return lines


@click.command("models")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the full metadata as JSON.")
def models(name: str | None, as_json: bool) -> None:
    """List the bundled models, or show NAME: what it is, its thresholds, test metrics and how it was made."""
    from phosnet.bundle import DEFAULT_MODEL, available_models, load_model

    names = available_models()
    if name is None:
        if as_json:
            click.echo(json.dumps({n: load_model(n).metadata for n in names}, indent=2))
            return
        if not names:
            click.echo("no bundled models")
            return
        for model_name in names:
            meta = load_model(model_name).metadata
            mark = " (default)" if model_name == DEFAULT_MODEL else ""
            click.echo(f"{model_name}{mark}\t{_predicts(meta)}\t{meta.get('description', '')}")
        click.echo("\nphosnet models NAME shows one in detail.")
        return
    meta = load_model(name).metadata
    if as_json:
        click.echo(json.dumps(meta, indent=2))
        return
    lines = [
        f"name:              {meta.get('name')}",
        f"description:       {meta.get('description', '')}",
        f"predicts:          {_predicts(meta)} sites (kinases {', '.join(meta.get('kinases') or ['not recorded'])}; "
        f"residues {', '.join(meta.get('residues') or 'ST')})",
        f"window:            {meta.get('window')} (flank {meta.get('flank')}), input {meta.get('input_encoding')}",
        "thresholds:        " + ", ".join(
            f"{float(k):.0%} specificity -> {float(v):.4f}" for k, v in (meta.get("thresholds") or {}).items()
        ) + f" (default {meta.get('default_specificity')}; set on the validation split)",
        f"test metrics:      {_metric_line(meta.get('metrics') or {})}",
        f"validation:        {_metric_line(meta.get('validation_metrics') or {})}",
        f"training command:  {meta.get('training_command', '-')}",
        f"training data:     sha256 {meta.get('training_data_sha256', '-')}",
    ]
    if meta.get("pretrain_sha256"):
        lines.append(f"pretraining data:  sha256 {meta['pretrain_sha256']}")
    if meta.get("recipe"):
        lines.append(f"recipe:            {json.dumps(meta['recipe'], sort_keys=True)}")
    lines.extend(_background_lines(meta.get("background"), meta))
    lines.extend(_precision_lines(meta))
    versions = f"phosnet {meta.get('phosnet_version', '-')}, TensorFlow {meta.get('tensorflow_version', '-')}"
    lines.append(f"versions:          {versions}")
    lines.append(f"created:           {meta.get('created', '-')}")
    click.echo("\n".join(lines))
