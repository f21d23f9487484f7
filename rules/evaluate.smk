rule evaluate_base:
    """A benchmark on the base model (shared by every experiment)."""
    input:
        f"{RESULTS}/_models/{{model}}.json",
    output:
        f"{RESULTS}/_base/{{model}}/eval/{{benchmark}}.json",
    params:
        cfg=lambda wc: W.stage_config(W.main, "evaluate"),
    conda:
        lambda wc: W.env("evaluation", W.gpus(W.main, "evaluate"))
    log:
        "logs/_base/{model}/eval_{benchmark}.log",
    benchmark:
        "benchmarks/_base/{model}/eval_{benchmark}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=4000,
        gpus=lambda wc: W.gpus(W.main, "evaluate"),
    shell:
        "{PY} evaluate --config {params.cfg} --benchmark {wildcards.benchmark} --variant base --out {output} "
        "--threads {threads} > {log} 2>&1"


rule evaluate_sft:
    """A benchmark on the SFT model of an experiment."""
    input:
        f"{RESULTS}/{{experiment}}/{{model}}/sft_model",
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/eval/sft/{{benchmark}}.json",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "evaluate"),
    conda:
        lambda wc: W.env("evaluation", W.gpus(wc.experiment, "evaluate"))
    log:
        "logs/{experiment}/{model}/eval_{benchmark}.log",
    benchmark:
        "benchmarks/{experiment}/{model}/eval_{benchmark}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=4000,
        gpus=lambda wc: W.gpus(wc.experiment, "evaluate"),
    shell:
        "{PY} evaluate --config {params.cfg} --benchmark {wildcards.benchmark} --variant sft --train-dir {input} "
        "--out {output} --threads {threads} > {log} 2>&1"
