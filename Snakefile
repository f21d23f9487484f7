# selfalign: SelfCodeAlign replication harness. Entry point only: config, includes, rule all.
#   snakemake --cores all                                  CPU default (config/config.yaml)
#   snakemake --cores all --configfile config/ci.yaml      the smallest real run
#   snakemake -n --cores all --configfile config/paper.yaml   the paper's GPU runs (dry run)
from snakemake.utils import min_version, validate

min_version("9.0")

import os

# Relative to this file, so `snakemake -s <repo>/Snakefile -d <elsewhere>` works too.
configfile: os.path.join(workflow.basedir, "config/config.yaml")

from selfalign.workflow import Workflow, PAPER_TABLES, PAPER_FIGURES

W = Workflow(config)                       # defaults + our one-line errors (unknown keys, types…)
validate(W.cfg, os.path.join(workflow.basedir, "config/schema.yaml"))   # the same schema, through Snakemake
RESULTS = W.results
import sys
from snakemake_interface_executor_plugins.settings import DeploymentMethod

# With --software-deployment-method conda each job runs in its rule's env (envs/*.yaml), whose
# post-deploy script installs this checkout (it reads SELFALIGN_ROOT); otherwise the interpreter
# running Snakemake (the venv) runs every job.
CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
os.environ.setdefault("SELFALIGN_ROOT", workflow.basedir)
PYTHON = "python" if CONDA else sys.executable
PY = f"{PYTHON} -m selfalign"

wildcard_constraints:
    experiment="[A-Za-z0-9_.-]+",
    model="[A-Za-z0-9_.-]+",
    benchmark="[a-z0-9_]+(@(completion|instruct))?",

# one file a stage, each rule calling `python -m selfalign <stage>` (docs/ARCHITECTURE.md)
include: "rules/config.smk"
include: "rules/model.smk"
include: "rules/seeds.smk"
include: "rules/generate.smk"
include: "rules/execute.smk"
include: "rules/select.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/paper.smk"


rule all:
    input:
        expand("paper/{table}.md", table=PAPER_TABLES),
        expand("figures/{figure}.png", figure=PAPER_FIGURES),
        W.paper_inputs()["card"],
    default_target: True
