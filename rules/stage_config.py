# The stage_config rule's job (rules/config.smk). It reads the run's config from Snakemake itself,
# so the config is no param of the job: a param that changed with every edit would re-run it.
from selfalign.workflow import write_stage_config

write_stage_config(snakemake)  # noqa: F821 - Snakemake defines it for the script
