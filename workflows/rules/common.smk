# Config validation and the helper functions the rules use (no rules here: --lint wants them apart).

import os
import re
import shlex

from snakemake.utils import validate


validate(config, schema="../schemas/config.schema.yaml")

if sum(config["scan"][key] is not None for key in ("stringency", "threshold", "specificity")) > 1:
    raise ValueError("config: give one of scan.stringency, scan.threshold and scan.specificity (set the others to null)")

PROTEOMES = sorted(config["proteomes"])
TRAINING = sorted(config["training"])
N_CHUNKS = config["scan"]["chunks"]
CHUNKS = [f"{i:04d}" for i in range(1, N_CHUNKS + 1)]
SCAN_FORMAT = config["scan"]["format"]

# phosnet is run from the checkout this workflow lives in (its dependencies come from the active environment,
# or from envs/phosnet.yaml with --sdm conda), so a conda deployment needs no PyPI release of phosnet.
PHOSNET_ROOT = os.path.abspath(os.path.join(workflow.basedir, ".."))
PHOSNET = f"PYTHONPATH={shlex.quote(PHOSNET_ROOT)}${{PYTHONPATH:+:$PYTHONPATH}} python -m phosnet"


wildcard_constraints:
    proteome="|".join(map(re.escape, PROTEOMES)) or "(?!)",
    run="|".join(map(re.escape, TRAINING)) or "(?!)",
    chunk=r"\d{4}",


def proteome_fasta(wildcards):
    """The FASTA file of one proteome, as given in the config."""
    return config["proteomes"][wildcards.proteome]


def model_input(wildcards):
    """The model as an input file when it is a path (so a model trained here is made first), else nothing."""
    model = config["scan"]["model"]
    if model and (os.path.dirname(model) or model.endswith(".keras")):
        return model
    return []


def scan_options():
    """`phosnet scan` options from the config, as one shell-quoted string (`extra` passed on as it is)."""
    scan = config["scan"]
    options = [("--format", scan["format"])]
    if scan["model"]:
        options.append(("--model", scan["model"]))
    if scan["residues"]:
        options.append(("--residues", scan["residues"]))
    if scan["stringency"] is not None:
        options.append(("--stringency", scan["stringency"]))
    if scan["threshold"] is not None:
        options.append(("--threshold", str(scan["threshold"])))
    if scan["specificity"] is not None:
        options.append(("--specificity", str(scan["specificity"])))
    if scan["predicted_only"]:
        options.append(("--predicted-only",))
    if scan["batch_size"]:
        options.append(("--batch-size", str(scan["batch_size"])))
    words = [shlex.quote(word) for option in options for word in option]
    if scan["extra"]:
        words.append(scan["extra"])
    return " ".join(words)


def training_run(wildcards):
    return config["training"][wildcards.run]


def evaluation_set(wildcards):
    """Site table + FASTA to evaluate a trained model on: the run's `evaluate:` set, else its training data."""
    run = training_run(wildcards)
    held_out = run.get("evaluate") or {}
    return {
        "sites": held_out.get("sites", run["sites"]),
        "proteins": held_out.get("proteins", run["proteins"]),
    }


def job_resources(step, key):
    """threads / mem_mb / runtime of one step (`resources:` in the config)."""
    return config["resources"][step][key]


def all_targets():
    targets = expand("results/scan/{proteome}.{fmt}", proteome=PROTEOMES, fmt=SCAN_FORMAT)
    targets += expand("results/train/{run}/model.keras", run=TRAINING)
    targets += expand("results/evaluate/{run}", run=TRAINING)
    return targets
