rule execute_shard:
    """Part {k} of {n} of the execution stage (shards.execute > 1)."""
    input:
        cfg=stage_config("execute"),
        responses=lambda wc: W.data(wc.experiment, wc.model, "responses"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/shards/executions.{{k}}-of-{{n}}.jsonl",
    wildcard_constraints:
        model=W.model_constraint("data"),
        k="[0-9]+",
        n="[0-9]+",
    params:
        stats=lambda wc, output: str(output[0]).removesuffix(".jsonl") + ".stats.json",
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/execute.{k}-of-{n}.log",
    benchmark:
        "benchmarks/{experiment}/{model}/execute.{k}-of-{n}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=4000,
    shell:
        "{PY} execute --config {input.cfg} --responses {input.responses} --out {output} --stats {params.stats} "
        "--shard {wildcards.k}/{wildcards.n} > {log} 2>&1"


rule execute:
    """Run every (response, tests) pair in the bubblewrap sandbox (or join the shards that did)."""
    input:
        cfg=stage_config("execute"),
        responses=lambda wc: W.data(wc.experiment, wc.model, "responses"),
        shards=lambda wc: W.shard_parts(wc.experiment, wc.model, "execute"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/executions.jsonl",
    wildcard_constraints:
        model=W.model_constraint("data"),
    params:
        stats=f"{RESULTS}/{{experiment}}/{{model}}/executions.stats.json",
        gather=lambda wc: W.gather_args(wc.experiment, wc.model, "execute"),
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/execute.log",
    benchmark:
        "benchmarks/{experiment}/{model}/execute.tsv"
    threads: lambda wc: W.threads(wc.experiment, "execute", workflow.cores)
    resources:
        mem_mb=4000,
    shell:
        "{PY} execute --config {input.cfg} --responses {input.responses} --out {output} --stats {params.stats} "
        "{params.gather} > {log} 2>&1"
