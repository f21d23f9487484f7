rule paper:
    """Every table (Markdown + LaTeX) and figure (PNG + PDF) of the paper, from results/."""
    input:
        cfg=stage_config("paper", wildcard=None, experiment=W.main),
        **W.paper_inputs(),
    output:
        tables=[report(f"paper/{t}.md", caption="../report/table.rst", category="Tables") for t in PAPER_TABLES],
        latex=[f"paper/{t}.tex" for t in PAPER_TABLES],
        figures=[report(f"figures/{f}.png", caption=f"../report/{f}.rst", category="Figures") for f in PAPER_FIGURES],
        pdfs=[f"figures/{f}.pdf" for f in PAPER_FIGURES],
        index="paper/README.md",
    conda:
        W.env("evaluation", W.run_gpus)
    log:
        "logs/paper.log",
    benchmark:
        "benchmarks/paper.tsv"
    threads: 1
    shell:
        "{PY} paper --config {input.cfg} --results-dir {RESULTS} --paper-dir paper --figures-dir figures > {log} 2>&1"
