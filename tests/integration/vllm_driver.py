"""Drives the project's vLLM backend inside .venv-vllm for tests that run in the main venv
(tests/integration/test_vllm.py): one engine load serves a whole test module.

    .venv-vllm/bin/python tests/integration/vllm_driver.py CONFIG.json

loads ``load_backend(config)`` (the code every stage uses), writes one JSON line ``{"ready": …}``
and then answers one JSON line per request line read from stdin:

    {"op": "generate", "prompts": [...], "n", "temperature", "max_tokens", "stop", "seed", "keys"}
    {"op": "count_tokens", "text": ...}
    {"op": "judge", "seeds": [Seed fields...], "shots", "votes", "max_tokens", "seed"}
    {"op": "sampling_params", "kwargs": {...}}   (vLLM's own SamplingParams: does it accept them?)
    {"op": "doctor", "tokens", "prompts"}        (`selfalign doctor`'s check of this engine, agreement too)

Errors come back as ``{"error": "Type: message"}``. vLLM's log goes to stderr; the answers go to
the original stdout only.
"""
from __future__ import annotations

import dataclasses
import json
import os
import sys


def main() -> None:
    out = os.fdopen(os.dup(1), "w")     # answers; anything else printed goes to stderr
    os.dup2(2, 1)
    os.environ.setdefault("VLLM_LOGGING_STREAM", "ext://sys.stderr")
    from selfalign.backends import load_backend
    from selfalign.config import resolve

    cfg = resolve(json.loads(open(sys.argv[1]).read()))
    backend = load_backend(cfg)
    backend.cfg = cfg

    def answer(obj) -> None:
        out.write(json.dumps(obj) + "\n")
        out.flush()

    answer({"ready": True, "describe": backend.describe(), "context": backend.context})
    for line in sys.stdin:
        req = json.loads(line)
        try:
            answer(handle(backend, req))
        except Exception as e:  # the test reads the error; the engine stays up for the next request
            answer({"error": f"{type(e).__name__}: {e}"})


def handle(backend, req: dict) -> dict:
    op = req.pop("op")
    if op == "generate":
        order: list[int] = []
        backend.stats.extra["chunks"] = 0
        rows = backend.generate(req["prompts"], n=req.get("n", 1), temperature=req.get("temperature", 0.0),
                                max_tokens=req.get("max_tokens", 16), stop=req.get("stop"), seed=req.get("seed"),
                                keys=req.get("keys"), progress=lambda i, comps: order.append(i))
        return {"rows": [[dataclasses.asdict(c) for c in row] for row in rows], "progress": order,
                "chunks": backend.stats.extra["chunks"]}
    if op == "count_tokens":
        return {"tokens": backend.count_tokens(req["text"]), "ids": backend.tokenizer.encode(req["text"])[:4]}
    if op == "judge":
        from selfalign.records import Seed
        from selfalign.seeds.judge import judge_seeds
        seeds = [Seed(**{**s, "lines": tuple(s["lines"])}) for s in req["seeds"]]
        keep, counts = judge_seeds(backend, seeds, req["shots"], req["votes"], req["max_tokens"], req["seed"],
                                   shuffle=False)
        return {"keep": keep, "counts": counts}
    if op == "doctor":
        from selfalign.doctor import decode_check
        from selfalign.model import get_spec
        return decode_check(backend, backend.cfg, get_spec(backend.cfg), req["tokens"], req["prompts"], agreement=True)
    if op == "sampling_params":
        return {"params": repr(backend.sampling_params(**req["kwargs"]))}
    raise ValueError(f"unknown op {op!r}")


if __name__ == "__main__":      # vLLM's engine core is a spawned process that imports this file again
    main()


class Driver:
    """The test side: starts this script under ``python`` (.venv-vllm's) with ``cfg`` and asks it
    requests. stderr (vLLM's log) goes to ``log``; a request that waits past ``timeout`` fails."""

    def __init__(self, python, cfg: dict, workdir, timeout: float = 900):
        import subprocess
        from pathlib import Path

        self.workdir, self.timeout = Path(workdir), timeout
        (self.workdir / "driver-config.json").write_text(json.dumps(cfg))
        self.log = self.workdir / "driver.log"
        root = Path(__file__).resolve().parents[2]
        self.proc = subprocess.Popen([str(python), __file__, str(self.workdir / "driver-config.json")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(self.log, "w"),
                                     text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                                     start_new_session=True)
        self.ready = self._read()

    def _read(self) -> dict:
        import select
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.close()
            raise RuntimeError(f"vLLM driver gave no answer (exit {self.proc.poll()}); its log:\n"
                               + self.log.read_text()[-4000:])
        return json.loads(line)

    def ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        import signal
        if self.proc.poll() is None:
            self.proc.stdin.close()         # the driver's loop ends and vLLM shuts its engine down
            try:
                self.proc.wait(timeout=60)
            except Exception:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
