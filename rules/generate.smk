# Self-OSS-Instruct: S→C→I (or S→I), then I→R. Each stage resumes from results/…/.work/ after a kill.


# Inputs come from W.data(): an ablation that changes nothing upstream reads the main experiment's
# records instead of recomputing them.


def generation_input(wc):
    direct = W.exp(wc.experiment)["generate"]["seed_path"] == "direct"
    return W.data(wc.experiment, wc.model, "seeds" if direct else "concepts")


def parents(stage):
    """The records a generation stage reads (another experiment's when they are shared)."""
    def inp(wc):
        if stage == "concepts":
            return W.data(wc.experiment, wc.model, "seeds")
        if stage == "instructions":
            return generation_input(wc)
        return W.data(wc.experiment, wc.model, "instructions")
    return inp


rule generate_shard:
    """Part {k} of {n} of a generation stage, for a cluster (shards.generate > 1): the same batches
    an unsharded run makes, so the gathered records are identical."""
    input:
        cfg=lambda wc: stage_config(wc.stage)(wc),
        parents=lambda wc: parents(wc.stage)(wc),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/shards/{{stage}}.{{k}}-of-{{n}}.jsonl",
    wildcard_constraints:
        model=W.model_constraint("data"),
        stage="concepts|instructions|responses",
        k="[0-9]+",
        n="[0-9]+",
    params:
        stats=lambda wc, output: str(output[0]).removesuffix(".jsonl") + ".stats.json",
    conda:
        lambda wc: W.env("cpu-generation", W.gpus(wc.experiment, "generate"))
    log:
        "logs/{experiment}/{model}/{stage}.{k}-of-{n}.log",
    benchmark:
        "benchmarks/{experiment}/{model}/{stage}.{k}-of-{n}.tsv"
    threads: lambda wc: W.threads(wc.experiment, "generate", workflow.cores)
    resources:
        **W.resources("generate"),
    shell:
        "{PY} {wildcards.stage} --config {input.cfg} --input {input.parents} --out {output} --stats {params.stats} "
        "--threads {threads} --shard {wildcards.k}/{wildcards.n} > {log} 2>&1"


rule concepts:
    """S→C: programming concepts of each seed."""
    input:
        cfg=stage_config("concepts"),
        parents=parents("concepts"),
        shards=lambda wc: W.shard_parts(wc.experiment, wc.model, "concepts"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/concepts.jsonl",
    wildcard_constraints:
        model=W.model_constraint("data"),
    params:
        stats=f"{RESULTS}/{{experiment}}/{{model}}/concepts.stats.json",
        gather=lambda wc: W.gather_args(wc.experiment, wc.model, "concepts"),
    conda:
        lambda wc: W.env("cpu-generation", W.gpus(wc.experiment, "generate"))
    log:
        "logs/{experiment}/{model}/concepts.log",
    benchmark:
        "benchmarks/{experiment}/{model}/concepts.tsv"
    threads: lambda wc: W.threads(wc.experiment, "concepts", workflow.cores)
    resources:
        **W.resources("generate", gather="concepts"),   # a sharded stage's job only joins the shards
    shell:
        "{PY} concepts --config {input.cfg} --input {input.parents} --out {output} --stats {params.stats} "
        "--threads {threads} {params.gather} > {log} 2>&1"


rule instructions:
    """C→I (or S→I): a task from the concepts, a drawn category and a drawn difficulty."""
    input:
        cfg=stage_config("instructions"),
        parents=parents("instructions"),
        shards=lambda wc: W.shard_parts(wc.experiment, wc.model, "instructions"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/instructions.jsonl",
    wildcard_constraints:
        model=W.model_constraint("data"),
    params:
        stats=f"{RESULTS}/{{experiment}}/{{model}}/instructions.stats.json",
        gather=lambda wc: W.gather_args(wc.experiment, wc.model, "instructions"),
    conda:
        lambda wc: W.env("cpu-generation", W.gpus(wc.experiment, "generate"))
    log:
        "logs/{experiment}/{model}/instructions.log",
    benchmark:
        "benchmarks/{experiment}/{model}/instructions.tsv"
    threads: lambda wc: W.threads(wc.experiment, "instructions", workflow.cores)
    resources:
        **W.resources("generate", gather="instructions"),   # a sharded stage's job only joins the shards
    shell:
        "{PY} instructions --config {input.cfg} --input {input.parents} --out {output} --stats {params.stats} "
        "--threads {threads} {params.gather} > {log} 2>&1"


rule responses:
    """I→R: n (response, tests) samples per instruction."""
    input:
        cfg=stage_config("responses"),
        parents=parents("responses"),
        shards=lambda wc: W.shard_parts(wc.experiment, wc.model, "responses"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/responses.jsonl",
    wildcard_constraints:
        model=W.model_constraint("data"),
    params:
        stats=f"{RESULTS}/{{experiment}}/{{model}}/responses.stats.json",
        gather=lambda wc: W.gather_args(wc.experiment, wc.model, "responses"),
    conda:
        lambda wc: W.env("cpu-generation", W.gpus(wc.experiment, "generate"))
    log:
        "logs/{experiment}/{model}/responses.log",
    benchmark:
        "benchmarks/{experiment}/{model}/responses.tsv"
    threads: lambda wc: W.threads(wc.experiment, "responses", workflow.cores)
    resources:
        **W.resources("generate", gather="responses"),   # a sharded stage's job only joins the shards
    shell:
        "{PY} responses --config {input.cfg} --input {input.parents} --out {output} --stats {params.stats} "
        "--threads {threads} {params.gather} > {log} 2>&1"
