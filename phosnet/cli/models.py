"""``phosnet models``: list the bundled models, or show how one was made."""

from __future__ import annotations

import json
from typing import Any

import click


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
            click.echo(f"{model_name}{mark}\t{meta.get('description', '')}")
        click.echo("\nphosnet models NAME shows one in detail.")
        return
    meta = load_model(name).metadata
    if as_json:
        click.echo(json.dumps(meta, indent=2))
        return
    lines = [
        f"name:              {meta.get('name')}",
        f"description:       {meta.get('description', '')}",
        f"window:            {meta.get('window')} (flank {meta.get('flank')}), residues {meta.get('residues')}, "
        f"input {meta.get('input_encoding')}",
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
    versions = f"phosnet {meta.get('phosnet_version', '-')}, TensorFlow {meta.get('tensorflow_version', '-')}"
    lines.append(f"versions:          {versions}")
    lines.append(f"created:           {meta.get('created', '-')}")
    click.echo("\n".join(lines))
