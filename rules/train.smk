rule train:
    """Instruction-tune the base model on its own data; export for the generation backend."""
    input:
        cfg=stage_config("train", wildcard="trained"),
        # the data's generator: the model itself, or the experiment's teacher
        sft=lambda wc: f"{RESULTS}/{wc.experiment}/{W.generator(wc.experiment)}/sft.jsonl",
        model=f"{RESULTS}/_models/{{model}}.json",
    output:
        directory(f"{RESULTS}/{{experiment}}/{{model}}/sft_model"),
    wildcard_constraints:
        model=W.model_constraint("trained"),
    params:
        # one process on the CPU path; `accelerate launch`, one process per planned GPU, otherwise
        launch=lambda wc: W.train_launch(wc.experiment, PYTHON),
    conda:
        lambda wc: W.env("training", W.gpus(wc.experiment, "train"))
    log:
        "logs/{experiment}/{model}/train.log",
    benchmark:
        "benchmarks/{experiment}/{model}/train.tsv"
    threads: workflow.cores
    resources:
        **W.resources("train"),    # the plan's GPUs, memory, runtime, CPUs (python -m selfalign plan)
    shell:
        "{params.launch} --config {input.cfg} --sft {input.sft} --out {output} --threads {threads} > {log} 2>&1"
