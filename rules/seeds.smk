rule seeds:
    """Functions with docstrings from the corpus → filtered, decontaminated, deduplicated seeds."""
    input:
        model=f"{RESULTS}/_models/{{model}}.json",
        # seeds.file: another run's seeds (absent: the stage stops with a message naming it)
        file=lambda wc: [f for f in [W.exp(wc.experiment)["seeds"]["file"]] if f and os.path.exists(f)],
    output:
        seeds=f"{RESULTS}/{{experiment}}/{{model}}/seeds.jsonl",
        funnel=f"{RESULTS}/{{experiment}}/{{model}}/seeds.funnel.json",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "seeds"),
    conda:
        lambda wc: W.env("cpu-generation", W.gpus(wc.experiment, "seeds"))
    log:
        "logs/{experiment}/{model}/seeds.log",
    benchmark:
        "benchmarks/{experiment}/{model}/seeds.tsv"
    threads: workflow.cores
    resources:
        mem_mb=4000,
        gpu=lambda wc: W.gpus(wc.experiment, "seeds"),
    shell:
        "{PY} seeds --config {params.cfg} --out {output.seeds} --funnel {output.funnel} --threads {threads} > {log} 2>&1"
