rule select:
    """One response per instruction; copy/sanity filters, dedup, decontamination → sft.jsonl."""
    input:
        cfg=stage_config("select"),
        instructions=lambda wc: W.data(wc.experiment, wc.model, "instructions"),
        responses=lambda wc: W.data(wc.experiment, wc.model, "responses"),
        executions=lambda wc: W.data(wc.experiment, wc.model, "execute"),
    output:
        sft=f"{RESULTS}/{{experiment}}/{{model}}/sft.jsonl",
        funnel=f"{RESULTS}/{{experiment}}/{{model}}/select.funnel.json",
    wildcard_constraints:
        model=W.model_constraint("data"),
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/select.log",
    benchmark:
        "benchmarks/{experiment}/{model}/select.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    shell:
        "{PY} select --config {input.cfg} --instructions {input.instructions} --responses {input.responses} "
        "--executions {input.executions} --out {output.sft} --funnel {output.funnel} > {log} 2>&1"
