rule execute:
    """Run every (response, tests) pair in the bubblewrap sandbox."""
    input:
        f"{RESULTS}/{{experiment}}/{{model}}/responses.jsonl",
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/executions.jsonl",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "execute"),
        stats=f"{RESULTS}/{{experiment}}/{{model}}/executions.stats.json",
    conda:
        "../envs/cpu-generation.yaml"
    log:
        "logs/{experiment}/{model}/execute.log",
    benchmark:
        "benchmarks/{experiment}/{model}/execute.tsv"
    threads: workflow.cores
    resources:
        mem_mb=4000,
    shell:
        "{PY} execute --config {params.cfg} --responses {input} --out {output} --stats {params.stats} > {log} 2>&1"


rule select:
    """One response per instruction; copy/sanity filters, dedup, decontamination → sft.jsonl."""
    input:
        instructions=f"{RESULTS}/{{experiment}}/{{model}}/instructions.jsonl",
        responses=f"{RESULTS}/{{experiment}}/{{model}}/responses.jsonl",
        executions=f"{RESULTS}/{{experiment}}/{{model}}/executions.jsonl",
    output:
        sft=f"{RESULTS}/{{experiment}}/{{model}}/sft.jsonl",
        funnel=f"{RESULTS}/{{experiment}}/{{model}}/select.funnel.json",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "select"),
    conda:
        "../envs/cpu-generation.yaml"
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
    d = f"{RESULTS}/{wc.experiment}/{wc.model}"
    out = {"seeds": f"{d}/seeds.funnel.json", "instructions": f"{d}/instructions.jsonl",
           "responses": f"{d}/responses.jsonl", "executions": f"{d}/executions.jsonl", "select": f"{d}/select.funnel.json"}
    if W.exp(wc.experiment)["generate"]["seed_path"] == "concepts":
        out["concepts"] = f"{d}/concepts.jsonl"
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
        "../envs/cpu-generation.yaml"
    log:
        "logs/{experiment}/{model}/funnel.log",
    shell:
        "{PY} funnel --seeds-funnel {input.seeds} {params.concepts} --instructions {input.instructions} "
        "--responses {input.responses} --executions {input.executions} --select-funnel {input.select} --out {output} > {log} 2>&1"
