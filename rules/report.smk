# What a run reports about itself: the data funnel and the dataset card (selfalign/report/).


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
    wildcard_constraints:
        model=W.model_constraint("data"),
    params:
        concepts=lambda wc, input: f"--concepts {input.concepts}" if "concepts" in input.keys() else "",
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/funnel.log",
    benchmark:
        "benchmarks/{experiment}/{model}/funnel.tsv"
    threads: 1
    shell:
        "{PY} funnel --seeds-funnel {input.seeds} {params.concepts} --instructions {input.instructions} "
        "--responses {input.responses} --executions {input.executions} --select-funnel {input.select} --out {output} > {log} 2>&1"


rule dataset_card:
    """Dataset card + export of sft.jsonl loadable with datasets.load_dataset("json", …)."""
    input:
        cfg=stage_config("paper"),
        sft=f"{RESULTS}/{{experiment}}/{{model}}/sft.jsonl",
        seeds=lambda wc: W.data(wc.experiment, wc.model, "seeds"),
        funnel=f"{RESULTS}/{{experiment}}/{{model}}/funnel.json",
    output:
        card=f"{RESULTS}/{{experiment}}/{{model}}/dataset/README.md",
        data=f"{RESULTS}/{{experiment}}/{{model}}/dataset/data.jsonl",
        manifest=f"{RESULTS}/{{experiment}}/{{model}}/manifest.json",
    wildcard_constraints:
        model=W.model_constraint("data"),
    conda:
        W.env("evaluation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/card.log",
    benchmark:
        "benchmarks/{experiment}/{model}/card.tsv"
    threads: 1
    shell:
        "{PY} card --config {input.cfg} --sft {input.sft} --seeds {input.seeds} --funnel {input.funnel} "
        "--out-dir $(dirname {output.card}) --manifest {output.manifest} > {log} 2>&1"
