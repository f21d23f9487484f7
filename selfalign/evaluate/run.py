"""Run one benchmark on the base model or the SFT model; write eval/{benchmark}.json."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from ..records import write_json_atomic
from .base import DataMissing, evaluate_problems, write_skip

log = logging.getLogger(__name__)


def run_benchmark(cfg: dict, benchmark: str, variant: str, out: str | Path, train_dir: str | None = None,
                  threads: int | None = None) -> dict:
    from . import loader, needs_libraries, summarizer
    from ..backends import load_backend
    from ..backends.llamacpp import LlamaCppBackend
    from ..models import get_spec, model_info, provision
    from ..provenance import provenance
    from ..sandbox import Sandbox, SandboxLimits, default_workers

    e = cfg["evaluate"]
    try:
        problems, data_info = loader(benchmark)(cfg)
    except DataMissing as exc:
        log.warning("%s", exc)
        write_skip(out, benchmark, str(exc))
        return {"skipped": str(exc)}
    if e["limit"]:
        problems = problems[: e["limit"]]

    spec = get_spec(cfg)
    weights = provision(spec, cfg)
    lora, model_path = None, None
    if variant == "sft":
        if not train_dir:
            raise FileNotFoundError("evaluating the SFT model needs --train-dir")
        manifest = json.loads((Path(train_dir) / "train_manifest.json").read_text())
        if manifest.get("skipped"):
            reason = f"skipped: no SFT model ({manifest['skipped']})"
            log.warning("%s", reason)
            write_skip(out, benchmark, reason)
            return {"skipped": reason}
        exported = manifest["export"]
        lora = exported.get("adapter")
        model_path = exported.get("hf")
    style = e["base_prompt"] if variant == "base" else e["sft_prompt"]
    if spec.backend == "llamacpp" and not model_path:
        backend = LlamaCppBackend.from_config(str(weights), cfg, spec=spec, lora_path=lora, n_threads=threads)
    else:
        backend = load_backend(cfg, spec, lora_path=lora, model_path=model_path)
    workers = default_workers(cfg["sandbox"]["workers"])
    sandbox = Sandbox(SandboxLimits.from_config(cfg), unsafe_no_sandbox=cfg["sandbox"]["unsafe_no_sandbox"], workers=workers,
                      libraries=needs_libraries(benchmark), persistent=cfg["sandbox"]["persistent"])
    res = evaluate_problems(problems, backend, sandbox, style, e["n_samples"], e["temperature"], e["max_tokens"],
                            cfg["seed"], workers, progress_desc=f"{variant}/{benchmark}")
    backend.close()
    sandbox.close()
    extra = summarizer(benchmark)
    if extra:
        res["summary"].update(extra(res["problems"], problems))
    result = {"benchmark": benchmark, "variant": variant, "model": spec.name, "prompt_style": style,
              "sampling": {"n": e["n_samples"], "temperature": e["temperature"], "max_tokens": e["max_tokens"],
                           "seed": cfg["seed"]},
              "limit": e["limit"] or None, "data": data_info, "model_info": model_info(spec, weights),
              "lora": lora, "provenance": provenance(), **res}
    write_json_atomic(out, result)
    return result
