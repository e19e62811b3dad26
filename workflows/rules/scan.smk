# Scan proteomes: split each FASTA into config["scan"]["chunks"] pieces (scatter), `phosnet scan` each
# piece, and concatenate the tables in chunk order (gather). The result is the table one `phosnet scan` of
# the whole file writes: same rows, same order, header once.


rule split_proteome:
    input:
        fasta=proteome_fasta,
    output:
        chunks=temp(
            expand("results/scan/{{proteome}}/chunks/{chunk}.fasta", chunk=CHUNKS)
        ),
    log:
        "logs/scan/{proteome}/split.log",
    threads: job_resources("split", "threads")
    resources:
        mem_mb=job_resources("split", "mem_mb"),
        runtime=job_resources("split", "runtime"),
    conda:
        "../envs/phosnet.yaml"
    script:
        "../scripts/split_fasta.py"


rule scan_chunk:
    input:
        fasta="results/scan/{proteome}/chunks/{chunk}.fasta",
        model=model_input,
    output:
        table=temp(f"results/scan/{{proteome}}/chunks/{{chunk}}.{SCAN_FORMAT}"),
    log:
        "logs/scan/{proteome}/{chunk}.log",
    params:
        phosnet=PHOSNET,
        options=scan_options(),
    threads: job_resources("scan", "threads")
    resources:
        mem_mb=job_resources("scan", "mem_mb"),
        runtime=job_resources("scan", "runtime"),
    conda:
        "../envs/phosnet.yaml"
    shell:
        # A chunk can be empty (fewer records than chunks): then there is nothing to scan.
        "if [ -s {input.fasta:q} ]; then"
        " TF_NUM_INTRAOP_THREADS={threads} TF_NUM_INTEROP_THREADS=1 OMP_NUM_THREADS={threads}"
        " {params.phosnet} -q scan {input.fasta:q} -o {output.table:q} {params.options} 2> {log:q};"
        " else : > {output.table:q}; echo 'empty chunk: nothing to scan' > {log:q}; fi"


rule gather_scan:
    input:
        tables=expand(
            "results/scan/{{proteome}}/chunks/{chunk}.{fmt}", chunk=CHUNKS, fmt=SCAN_FORMAT
        ),
    output:
        table=f"results/scan/{{proteome}}.{SCAN_FORMAT}",
    log:
        "logs/scan/{proteome}/gather.log",
    threads: job_resources("gather", "threads")
    resources:
        mem_mb=job_resources("gather", "mem_mb"),
        runtime=job_resources("gather", "runtime"),
    conda:
        "../envs/phosnet.yaml"
    script:
        "../scripts/gather_tables.py"
