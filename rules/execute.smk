rule execute_shard:
    """Part {k} of {n} of the execution stage (shards.execute > 1)."""
    input:
        lambda wc: W.data(wc.experiment, wc.model, "responses"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/shards/executions.{{k}}-of-{{n}}.jsonl",
    wildcard_constraints:
        k="[0-9]+",
        n="[0-9]+",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "execute"),
        stats=lambda wc, output: str(output[0]).removesuffix(".jsonl") + ".stats.json",
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/execute.{k}-of-{n}.log",
    threads: workflow.cores
    resources:
        mem_mb=4000,
    shell:
        "{PY} execute --config {params.cfg} --responses {input} --out {output} --stats {params.stats} "
        "--shard {wildcards.k}/{wildcards.n} > {log} 2>&1"


rule execute:
    """Run every (response, tests) pair in the bubblewrap sandbox (or join the shards that did)."""
    input:
        responses=lambda wc: W.data(wc.experiment, wc.model, "responses"),
        shards=lambda wc: W.shard_parts(wc.experiment, wc.model, "executions"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/executions.jsonl",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "execute"),
        stats=f"{RESULTS}/{{experiment}}/{{model}}/executions.stats.json",
        gather=gather_args("executions"),
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/execute.log",
    benchmark:
        "benchmarks/{experiment}/{model}/execute.tsv"
    threads: workflow.cores
    resources:
        mem_mb=4000,
    shell:
        "{PY} execute --config {params.cfg} --responses {input.responses} --out {output} --stats {params.stats} "
        "{params.gather} > {log} 2>&1"


rule select:
    """One response per instruction; copy/sanity filters, dedup, decontamination → sft.jsonl."""
    input:
        instructions=lambda wc: W.data(wc.experiment, wc.model, "instructions"),
        responses=lambda wc: W.data(wc.experiment, wc.model, "responses"),
        executions=lambda wc: W.data(wc.experiment, wc.model, "execute"),
    output:
        sft=f"{RESULTS}/{{experiment}}/{{model}}/sft.jsonl",
        funnel=f"{RESULTS}/{{experiment}}/{{model}}/select.funnel.json",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "select"),
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/select.log",
    benchmark:
        "benchmarks/{experiment}/{model}/select.tsv"
    resources:
        mem_mb=2000,
    shell:
        "{PY} select --config {params.cfg} --instructions {input.instructions} --responses {input.responses} "
        "--executions {input.executions} --out {output.sft} --funnel {output.funnel} > {log} 2>&1"


def funnel_inputs(wc):
    e, m = wc.experiment, wc.model
    out = {"seeds": W.data(e, m, "seeds", "seeds.funnel.json"), "instructions": W.data(e, m, "instructions"),
           "responses": W.data(e, m, "responses"), "executions": W.data(e, m, "execute"),
           "select": f"{RESULTS}/{e}/{m}/select.funnel.json"}
    if W.exp(e)["generate"]["seed_path"] == "concepts":
        out["concepts"] = W.data(e, m, "concepts")
    return out


rule funnel:
    """What each filter kept and dropped, from seeds to SFT data."""
    input:
        unpack(funnel_inputs),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/funnel.json",
    params:
        concepts=lambda wc, input: f"--concepts {input.concepts}" if "concepts" in input.keys() else "",
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/funnel.log",
    shell:
        "{PY} funnel --seeds-funnel {input.seeds} {params.concepts} --instructions {input.instructions} "
        "--responses {input.responses} --executions {input.executions} --select-funnel {input.select} --out {output} > {log} 2>&1"
