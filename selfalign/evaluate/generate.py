"""Generate a benchmark's samples from a model (evalplus's ``codegen`` step): one samples file,
scored apart by ``score.py``, so a scorer fix never costs a regeneration.

Each benchmark has its sampling protocol (``evaluate.protocols.<benchmark>``: n, temperature,
top_p, max_tokens; the paper's values are the defaults). Base models continue the problem's
prompt (the benchmark's stop strings); SFT models get the instruction in the SFT template with
the response opened by a Python fence (the official SelfCodeAlign evaluation). Rows are written
as each problem finishes and a killed run resumes (fixed groups, as the data stages do).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from ..backends import backend_name
from .base import Benchmark, DataMissing, Problem, instruct_prompt
from .samples import meta_path

log = logging.getLogger(__name__)


def prompt_of(p: Problem, style: str, bos: str = "") -> str:
    return p.prompt if style == "completion" else instruct_prompt(p, bos)


def sample_rows(p: Problem, style: str, completions: list) -> list[dict]:
    rows = []
    for k, c in enumerate(completions):
        text = c.text if style == "completion" else p.code_of(c.text)
        rows.append({"id": f"{p.task_id}#{k:03d}", "task_id": p.task_id, "sample": k, "completion": text,
                     "solution": p.solution(text), "finish_reason": c.finish_reason})
    return rows


def _write_meta(out: str | Path, meta: dict) -> None:
    from ..records import write_json_atomic
    write_json_atomic(meta_path(out), meta)


def generate_samples(cfg: dict, benchmark: str, variant: str, out: str | Path, train_dir: str | None = None,
                     threads: int | None = None) -> dict:
    """Write ``out`` (samples JSONL) and its ``.json`` sidecar; a skip writes an empty file and
    the reason in the sidecar, which the scorer turns into a skipped result."""
    from . import loader, parse_name
    from ..generate import Job, run_jobs, job_groups
    from ..model import get_spec, model_info, provision
    from ..records import ResumableWriter, work_path, write_jsonl_atomic

    e = cfg["evaluate"]
    name, style_override = parse_name(benchmark)
    proto = e["protocols"][name]
    base_meta = {"benchmark": benchmark, "variant": variant}

    def skip(reason: str) -> dict:
        log.warning("%s", reason)
        write_jsonl_atomic(out, [])
        _write_meta(out, {**base_meta, "skipped": reason})
        return {"skipped": reason}

    try:
        bench: Benchmark = loader(benchmark)(cfg)
    except DataMissing as exc:
        return skip(str(exc))
    problems = bench.problems[: e["limit"]] if e["limit"] else bench.problems
    spec = get_spec(cfg)
    lora = model_path = None
    if variant == "sft":
        if not train_dir:
            raise FileNotFoundError("generating with the SFT model needs --train-dir")
        manifest = json.loads((Path(train_dir) / "train_manifest.json").read_text())
        if manifest.get("skipped"):
            return skip(f"skipped: no SFT model ({manifest['skipped']})")
        lora, model_path = manifest["export"].get("adapter"), manifest["export"].get("hf")
    weights = provision(spec, cfg)
    style = style_override or (e["base_prompt"] if variant == "base" else e["sft_prompt"])
    stop = bench.completion_stop if style == "completion" else bench.instruct_stop
    writer = ResumableWriter(work_path(out))

    def make_jobs(bos: str = "") -> list[Job]:
        return [Job(i, prompt_of(p, style, bos), lambda comps, p=p: sample_rows(p, style, comps), key=p.task_id,
                    done=all(f"{p.task_id}#{k:03d}" in writer.done for k in range(proto["n"])))
                for i, p in enumerate(problems)]

    jobs = make_jobs()
    stats, bos = {}, ""
    if any(not j.done for j in jobs):
        from ..backends import load_backend
        from ..bos import template_bos
        backend = load_backend(cfg, spec, lora_path=lora, model_path=model_path, n_threads=threads)
        if style != "completion":       # the SFT template starts with BOS (selfalign/bos.py)
            bos = template_bos(spec.family, *backend.bos_info())
            jobs = make_jobs(bos)
        try:
            run_jobs(backend, job_groups(jobs, backend.resume_group), writer, proto["n"], proto["temperature"],
                      proto["max_tokens"], stop, cfg["seed"], f"{variant}/{benchmark}", top_p=proto["top_p"])
            stats = backend.stats.as_dict()
        finally:
            backend.close()
    writer.finish(out)
    meta = {**base_meta, "model": spec.name, "backend": backend_name(cfg, spec), "prompt_style": style,
            "template_bos": bos, "limit": e["limit"] or None,
            "sampling": {**proto, "seed": cfg["seed"]}, "stop": stop, "model_info": model_info(spec, weights),
            "lora": lora, "generation": stats, "problems": len(problems)}
    _write_meta(out, meta)
    return meta
