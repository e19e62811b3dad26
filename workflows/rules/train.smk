# Train a model per entry of config["training"] (a `phosnet train` run folder) and evaluate it with
# `phosnet evaluate` (metrics.json, predictions.tsv, ROC and PR plots).


rule train_model:
    input:
        sites=lambda wildcards: training_run(wildcards)["sites"],
        proteins=lambda wildcards: training_run(wildcards)["proteins"],
    output:
        model="results/train/{run}/model.keras",
        model_json="results/train/{run}/model.json",
        history="results/train/{run}/history.tsv",
        metrics="results/train/{run}/metrics.json",
        config="results/train/{run}/config.json",
        metadata="results/train/{run}/metadata.json",
    log:
        "logs/train/{run}.log",
    params:
        phosnet=PHOSNET,
        out_dir=lambda wildcards, output: os.path.dirname(output.model),
        extra=lambda wildcards: training_run(wildcards).get("extra", ""),
        background=lambda wildcards: (
            f"--background {shlex.quote(training_run(wildcards)['background'])}"
            if training_run(wildcards).get("background") else ""
        ),
    threads: job_resources("train", "threads")
    resources:
        mem_mb=job_resources("train", "mem_mb"),
        runtime=job_resources("train", "runtime"),
    conda:
        "../envs/phosnet.yaml"
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS={threads}"
        " {params.phosnet} -q train {input.sites:q} {input.proteins:q} --out-dir {params.out_dir:q}"
        " --name {wildcards.run:q} {params.background} {params.extra}"
        " > {log:q} 2>&1"


rule evaluate_model:
    input:
        model="results/train/{run}/model.keras",
        model_json="results/train/{run}/model.json",
        sites=lambda wildcards: evaluation_set(wildcards)["sites"],
        proteins=lambda wildcards: evaluation_set(wildcards)["proteins"],
    output:
        out_dir=directory("results/evaluate/{run}"),
    log:
        "logs/evaluate/{run}.log",
    params:
        phosnet=PHOSNET,
        extra=lambda wildcards: (training_run(wildcards).get("evaluate") or {}).get("extra", ""),
    threads: job_resources("evaluate", "threads")
    resources:
        mem_mb=job_resources("evaluate", "mem_mb"),
        runtime=job_resources("evaluate", "runtime"),
    conda:
        "../envs/phosnet.yaml"
    shell:
        "TF_NUM_INTRAOP_THREADS={threads} TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS={threads}"
        " {params.phosnet} -q evaluate {input.model:q} {input.sites:q} {input.proteins:q} --out-dir {output.out_dir:q}"
        " {params.extra} > {log:q} 2>&1"
