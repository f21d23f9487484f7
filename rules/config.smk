# The resolved config each stage runs with, as a file its jobs read (building the DAG writes no
# file). The name hashes only what the stage reads (config/schema.yaml's `stages:`): a change
# there is a new input file for the stage's jobs, so they re-run, and only they. The file is
# written once, when it is missing; a change to a key the stage does not read leaves it as it is.
# The jobs take it as ancient input: a stage_config job re-run for another reason (a newer
# stage_config.py: Snakemake's code trigger) rewrites the same content and re-runs nothing.


def stage_config(stage, wildcard="data", experiment=None):
    """Input function: the job's stage config. ``wildcard`` is what the rule's {model} is (see
    selfalign/workflow.py WILDCARD_MODELS; None: the path has no {model}); ``experiment`` for rules
    without an {experiment} (the main one's config)."""
    def inp(wc):
        e = experiment or wc.experiment
        model = getattr(wc, "model", None) if wildcard else None
        return ancient(W.stage_config(e, stage, model, wildcard))
    return inp


rule stage_config:
    """Write one stage's resolved config (the job checks the hash in its name)."""
    output:
        f"{W.config_dir}/{{experiment}}/{{model}}/{{stage}}-{{key}}.json",
    wildcard_constraints:
        stage="[a-z]+",
        key="[0-9a-f]{16}",
    localrule: True
    conda:
        W.env("cpu-generation", W.run_gpus)
    log:
        "logs/_config/{experiment}/{model}/{stage}-{key}.log",
    benchmark:
        "benchmarks/_config/{experiment}/{model}/{stage}-{key}.tsv"
    threads: 1
    script:
        "stage_config.py"
