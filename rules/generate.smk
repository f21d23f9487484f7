# Self-OSS-Instruct: S→C→I (or S→I), then I→R. Each stage resumes from results/…/.work/ after a kill.


# Inputs come from W.data(): an ablation that changes nothing upstream reads the main experiment's
# records instead of recomputing them.


def generation_input(wc):
    direct = W.exp(wc.experiment)["generate"]["seed_path"] == "direct"
    return W.data(wc.experiment, wc.model, "seeds" if direct else "concepts")


rule concepts:
    """S→C: programming concepts of each seed."""
    input:
        lambda wc: W.data(wc.experiment, wc.model, "seeds"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/concepts.jsonl",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "concepts"),
        stats=f"{RESULTS}/{{experiment}}/{{model}}/concepts.stats.json",
    conda:
        "../envs/cpu-generation.yaml"
    log:
        "logs/{experiment}/{model}/concepts.log",
    benchmark:
        "benchmarks/{experiment}/{model}/concepts.tsv"
    threads: workflow.cores
    resources:
        mem_mb=3000,
        gpus=lambda wc: W.gpus(wc.experiment, "generate"),
    shell:
        "{PY} concepts --config {params.cfg} --input {input} --out {output} --stats {params.stats} --threads {threads} > {log} 2>&1"


rule instructions:
    """C→I (or S→I): a task from the concepts, a drawn category and a drawn difficulty."""
    input:
        generation_input,
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/instructions.jsonl",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "instructions"),
        stats=f"{RESULTS}/{{experiment}}/{{model}}/instructions.stats.json",
    conda:
        "../envs/cpu-generation.yaml"
    log:
        "logs/{experiment}/{model}/instructions.log",
    benchmark:
        "benchmarks/{experiment}/{model}/instructions.tsv"
    threads: workflow.cores
    resources:
        mem_mb=3000,
        gpus=lambda wc: W.gpus(wc.experiment, "generate"),
    shell:
        "{PY} instructions --config {params.cfg} --input {input} --out {output} --stats {params.stats} --threads {threads} > {log} 2>&1"


rule responses:
    """I→R: n (response, tests) samples per instruction."""
    input:
        lambda wc: W.data(wc.experiment, wc.model, "instructions"),
    output:
        f"{RESULTS}/{{experiment}}/{{model}}/responses.jsonl",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "responses"),
        stats=f"{RESULTS}/{{experiment}}/{{model}}/responses.stats.json",
    conda:
        "../envs/cpu-generation.yaml"
    log:
        "logs/{experiment}/{model}/responses.log",
    benchmark:
        "benchmarks/{experiment}/{model}/responses.tsv"
    threads: workflow.cores
    resources:
        mem_mb=3000,
        gpus=lambda wc: W.gpus(wc.experiment, "generate"),
    shell:
        "{PY} responses --config {params.cfg} --input {input} --out {output} --stats {params.stats} --threads {threads} > {log} 2>&1"
