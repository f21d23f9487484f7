# Evaluation, evalplus-style: generate samples, then score them. A scorer fix re-runs only the
# eval_score jobs (their code is their input); `python -m selfalign evaluate score` scores anyone's
# samples the same way. {variant} is "base" (results/_base/<model>/, shared by every experiment)
# or "sft" (the experiment's trained model). Scoring takes every core: the sandbox runs two
# workers per core, and its verdicts have wall-clock limits that a shared core would turn into
# timeouts.


rule eval_generate_base:
    """A benchmark's samples from the base model (shared by every experiment)."""
    input:
        cfg=stage_config("evaluate", wildcard="any", experiment=W.main),
        model=f"{RESULTS}/_models/{{model}}.json",
    output:
        f"{RESULTS}/_base/{{model}}/eval/{{benchmark}}.samples.jsonl",
    conda:
        lambda wc: W.env("evaluation", W.gpus(W.main, "evaluate"))
    log:
        "logs/_base/{model}/eval_generate_{benchmark}.log",
    benchmark:
        "benchmarks/_base/{model}/eval_generate_{benchmark}.tsv"
    threads: lambda wc: W.threads(W.main, "evaluate", workflow.cores)
    resources:
        **W.resources("evaluate", experiment=W.main),
    shell:
        "{PY} evaluate generate --config {input.cfg} --benchmark {wildcards.benchmark} --variant base "
        "--out {output} --threads {threads} > {log} 2>&1"


rule eval_generate_sft:
    """A benchmark's samples from the SFT model of an experiment."""
    input:
        cfg=stage_config("evaluate", wildcard="trained"),
        sft=f"{RESULTS}/{{experiment}}/{{model}}/sft_model",
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/eval/sft/{{benchmark}}.samples.jsonl",
    wildcard_constraints:
        model=W.model_constraint("trained"),
    conda:
        lambda wc: W.env("evaluation", W.gpus(wc.experiment, "evaluate"))
    log:
        "logs/{experiment}/{model}/eval_generate_{benchmark}.log",
    benchmark:
        "benchmarks/{experiment}/{model}/eval_generate_{benchmark}.tsv"
    threads: lambda wc: W.threads(wc.experiment, "evaluate", workflow.cores)
    resources:
        **W.resources("evaluate"),
    shell:
        "{PY} evaluate generate --config {input.cfg} --benchmark {wildcards.benchmark} --variant sft "
        "--train-dir {input.sft} --out {output} --threads {threads} > {log} 2>&1"


rule eval_score_base:
    """Score the base model's samples in the sandbox."""
    input:
        cfg=stage_config("evaluate", wildcard="any", experiment=W.main),
        samples=f"{RESULTS}/_base/{{model}}/eval/{{benchmark}}.samples.jsonl",
        scorer=W.scorer_sources(),
    output:
        f"{RESULTS}/_base/{{model}}/eval/{{benchmark}}.json",
    conda:
        W.env("evaluation", W.run_gpus)
    log:
        "logs/_base/{model}/eval_score_{benchmark}.log",
    benchmark:
        "benchmarks/_base/{model}/eval_score_{benchmark}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=4000,
    shell:
        "{PY} evaluate score --config {input.cfg} --benchmark {wildcards.benchmark} --samples {input.samples} "
        "--out {output} > {log} 2>&1"


rule eval_score_sft:
    """Score an SFT model's samples in the sandbox."""
    input:
        cfg=stage_config("evaluate", wildcard="trained"),
        samples=f"{RESULTS}/{{experiment}}/{{model}}/eval/sft/{{benchmark}}.samples.jsonl",
        scorer=W.scorer_sources(),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/eval/sft/{{benchmark}}.json",
    wildcard_constraints:
        model=W.model_constraint("trained"),
    conda:
        W.env("evaluation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/eval_score_{benchmark}.log",
    benchmark:
        "benchmarks/{experiment}/{model}/eval_score_{benchmark}.tsv"
    threads: workflow.cores
    resources:
        mem_mb=4000,
    shell:
        "{PY} evaluate score --config {input.cfg} --benchmark {wildcards.benchmark} --samples {input.samples} "
        "--out {output} > {log} 2>&1"
