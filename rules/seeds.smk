rule seeds:
    """Functions with docstrings from the corpus → filtered, decontaminated, deduplicated seeds."""
    input:
        cfg=stage_config("seeds"),
        model=f"{RESULTS}/_models/{{model}}.json",
        # seeds.file: another run's seeds (a local path: made by this run's rules where they make
        # it, else it must exist); a hub id (hf:...) is read by the job
        file=lambda wc: W.seeds_file(wc.experiment),
    output:
        seeds=f"{RESULTS}/{{experiment}}/{{model}}/seeds.jsonl",
        funnel=f"{RESULTS}/{{experiment}}/{{model}}/seeds.funnel.json",
    wildcard_constraints:
        model=W.model_constraint("data"),
    conda:
        lambda wc: W.env("cpu-generation", W.gpus(wc.experiment, "seeds"))
    log:
        "logs/{experiment}/{model}/seeds.log",
    benchmark:
        "benchmarks/{experiment}/{model}/seeds.tsv"
    threads: lambda wc: W.threads(wc.experiment, "seeds", workflow.cores)
    resources:
        **W.resources("seeds"),
    shell:
        "{PY} seeds --config {input.cfg} --out {output.seeds} --funnel {output.funnel} --threads {threads} > {log} 2>&1"
