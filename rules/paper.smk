rule dataset_card:
    """Dataset card + export of sft.jsonl loadable with datasets.load_dataset("json", …)."""
    input:
        sft=f"{RESULTS}/{{experiment}}/{{model}}/sft.jsonl",
        seeds=lambda wc: W.data(wc.experiment, wc.model, "seeds"),
        funnel=f"{RESULTS}/{{experiment}}/{{model}}/funnel.json",
    output:
        card=f"{RESULTS}/{{experiment}}/{{model}}/dataset/README.md",
        data=f"{RESULTS}/{{experiment}}/{{model}}/dataset/data.jsonl",
        manifest=f"{RESULTS}/{{experiment}}/{{model}}/manifest.json",
    params:
        cfg=lambda wc: W.stage_config(wc.experiment, "paper"),
    conda:
        W.env("evaluation", W.run_gpus)
    log:
        "logs/{experiment}/{model}/card.log",
    shell:
        "{PY} card --config {params.cfg} --sft {input.sft} --seeds {input.seeds} --funnel {input.funnel} "
        "--out-dir $(dirname {output.card}) --manifest {output.manifest} > {log} 2>&1"


rule paper:
    """Every table (Markdown + LaTeX) and figure (PNG + PDF) of the paper, from results/."""
    input:
        **W.paper_inputs(),
    output:
        tables=[report(f"paper/{t}.md", caption="../report/table.rst", category="Tables") for t in PAPER_TABLES],
        latex=[f"paper/{t}.tex" for t in PAPER_TABLES],
        figures=[report(f"figures/{f}.png", caption=f"../report/{f}.rst", category="Figures") for f in PAPER_FIGURES],
        pdfs=[f"figures/{f}.pdf" for f in PAPER_FIGURES],
        index="paper/README.md",
    params:
        cfg=lambda wc: W.stage_config(W.main, "paper"),
    conda:
        W.env("evaluation", W.run_gpus)
    log:
        "logs/paper.log",
    shell:
        "{PY} paper --config {params.cfg} --results-dir {RESULTS} --paper-dir paper --figures-dir figures > {log} 2>&1"
