"""Self-OSS-Instruct stages: S->C (concepts), C->I (instructions) or S->I, and I->R (responses).

Each stage reads its parent records, skips ids already in its work file (resume), sends the rest
to the backend, and appends one record per item *as soon as it is finished*, kept or dropped
(``ok``/``drop_reason``), so the funnel can be counted from the records alone.

Resume gives the records of an uninterrupted run. A batching backend's numbers depend on which
prompts share a batch, so such a backend (``Backend.resume_group``) is fed fixed groups cut from
the *whole* sorted item list; a group with anything left to do is re-run whole after a kill, and
only its missing records are written.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import prompts as P
from .backends import Backend
from .backends.base import PROMPT_TOO_LONG
from .fewshot import fewshot_of
from .records import Concepts, Instruction, Response, ResumableWriter, Seed, Shard, write_json_atomic

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One prompt to complete, and how to turn its completions into records."""
    index: int
    prompt: str
    make: Callable[[list], list]   # completions -> records
    key: str                       # its (first) record id: backends may seed the request by it
    done: bool = False             # its records are already in the work file


def job_groups(jobs: list[Job], size: int | None, shard: Shard = Shard()) -> list[list[Job]]:
    """The groups to send to the backend: fixed cuts of the sorted list of *all* jobs, keeping
    the shard's cuts with work left (``size`` None: one group of the shard's jobs left).

    Cuts are made before sharding, so shard k of n runs exactly the groups an unsharded run
    runs at positions k, k+n, ...: the same batches, hence the same records."""
    if size:
        ordered = sorted(jobs, key=lambda j: (j.prompt, j.index))
        cuts = [ordered[i:i + size] for i in range(0, len(ordered), size)]
    else:
        cuts = [[j] for j in sorted(jobs, key=lambda j: j.index)]
    cuts = [c for i, c in enumerate(cuts) if shard.owns(i)]
    if not size:
        todo = [j for c in cuts for j in c if not j.done]
        return [todo] if todo else []
    return [g for g in cuts if any(not j.done for j in g)]


def run_jobs(backend: Backend, groups: list[list[Job]], writer: ResumableWriter, n: int, temperature: float,
              max_tokens: int, stop: list[str], seed: int, desc: str, top_p: float | None = None,
              loop_guard: int = 0) -> None:
    from tqdm import tqdm

    bar = tqdm(total=sum(not j.done for g in groups for j in g), desc=desc, unit="item", mininterval=2)
    t0 = time.perf_counter()
    tok0 = backend.stats.completion_tokens
    for group in groups:
        def on_done(i: int, completions, group=group) -> None:
            if group[i].done:  # re-run only so the group's batches match the first run
                return
            writer.extend(group[i].make(completions))
            bar.update(1)
            dt = time.perf_counter() - t0
            bar.set_postfix(tok_s=f"{(backend.stats.completion_tokens - tok0) / dt:.1f}" if dt else "-")

        backend.generate([j.prompt for j in group], n=n, temperature=temperature, max_tokens=max_tokens,
                         stop=stop, seed=seed, progress=on_done, keys=[j.key for j in group], top_p=top_p,
                         loop_guard=loop_guard)
    bar.close()


def _drop_reason(c, exc: Exception | None) -> str:
    if c.finish_reason == PROMPT_TOO_LONG:     # never sent: longer than the context (vLLM guard)
        return PROMPT_TOO_LONG
    if c.finish_reason == "length":
        # a prompt longer than the context gets no token at all (llama.cpp engine); the rest ran out
        return PROMPT_TOO_LONG if not c.text and not c.completion_tokens else "truncated"
    return f"unparseable: {exc}" if exc else ""


def _shots(fewshot) -> tuple[list[P.FewShot], dict[str, str]]:
    """(examples, system lines by mode) of a few-shot set or a plain list of examples (ours)."""
    return (fewshot.examples, fewshot.system) if isinstance(fewshot, P.FewShotSet) else (list(fewshot), {})


def concept_jobs(cfg: dict, seeds: list[Seed], fewshot, done: set[str]) -> list[Job]:
    g = cfg["generate"]["concepts"]
    examples, system = _shots(fewshot)
    jobs = []
    for idx, s in enumerate(seeds):
        cid = f"c-{s.id}"
        shots = P.pick_shots(P.item_rng(cfg["seed"], "concepts", idx), examples, g["shots"])

        def make(comps, s=s, cid=cid, shots=shots):
            c = comps[0]
            try:
                concepts = P.parse_concepts(c.text) if c.finish_reason != "length" else []
                err = None
            except P.ParseError as e:
                concepts, err = [], e
            ok = bool(concepts)
            return [Concepts(id=cid, seed_id=s.id, seed=s.seed, concepts=concepts, fewshot_ids=[x.id for x in shots],
                             ok=ok, drop_reason="" if ok else (_drop_reason(c, err) or "empty"), raw=c.text)]

        jobs.append(Job(idx, P.prompt_sc(s.seed, shots, system.get("S->C")), make, cid, done=cid in done))
    return jobs


def instruction_jobs(cfg: dict, parents: list, fewshot, done: set[str]) -> list[Job]:
    """C->I from Concepts records, or S->I from Seed records (seed_path: direct)."""
    g = cfg["generate"]["instructions"]
    examples, system = _shots(fewshot)
    direct = cfg["generate"]["seed_path"] == "direct"
    jobs = []
    for idx, par in enumerate(parents):
        iid = f"i-{par.id}"
        rng = P.item_rng(cfg["seed"], "instructions", idx)
        category, difficulty = P.draw_properties(rng, g["category_weights"], g["difficulty_weights"])
        shots = P.pick_shots(rng, examples, g["shots"])
        if direct:
            # the official S->I prompt has no properties: the draw above only keeps the RNG stream
            # (and so the shots) the same as C->I's; the record says "" for both
            prompt = P.prompt_si(par.seed, shots, system.get("S->I"))
            concepts, seed_id, category, difficulty = [], par.id, "", ""
        else:
            prompt = P.prompt_ci(par.concepts, category, difficulty, shots, system.get("C->I"))
            concepts, seed_id = par.concepts, par.seed_id

        def make(comps, par=par, iid=iid, shots=shots, category=category, difficulty=difficulty,
                 concepts=concepts, seed_id=seed_id):
            c = comps[0]
            text, err = "", None
            if c.finish_reason != "length":
                try:
                    text = P.parse_instruction(c.text)
                except P.ParseError as e:
                    err = e
            ok = bool(text)
            return [Instruction(id=iid, parent_id=par.id, seed_id=seed_id, concepts=concepts, category=category,
                                difficulty=difficulty, instruction=text, fewshot_ids=[x.id for x in shots], ok=ok,
                                drop_reason="" if ok else _drop_reason(c, err), raw=c.text)]

        jobs.append(Job(idx, prompt, make, iid, done=iid in done))
    return jobs


def llama3_format(cfg: dict) -> bool:
    """Whether I->R uses the official Llama-3 variant: ``generate.responses.format``; auto = when the
    generating model (the teacher, else the model) is of the sheet's family ``llama3`` (the official
    sets LLAMA3 by hand for those runs)."""
    fmt = cfg["generate"]["responses"]["format"]
    if fmt == "auto":
        from .model import get_spec
        return get_spec(cfg, cfg.get("teacher") or cfg["model"]).family == "llama3"
    return fmt == "llama3"


def parse_sample(c, loop_guard: int = 0, llama3: bool = False) -> tuple[dict, str, dict]:
    """(record fields, drop reason or "", sampling notes) of one I->R completion.

    Truncated samples are dropped (self_ossinstruct.py:638-653 keeps only finished ones). With
    ``loop_guard`` k > 0 (CPU default only): a truncated sample whose last lines repeat k times is
    cut after the first copy, as if it had been stopped there, and parsed (a code block left open by
    the cut is closed); one that still does not parse is dropped as "loop"."""
    fields = dict(response="", tests="", code="", test_code="")
    text, extra = c.text, {}
    if c.finish_reason == PROMPT_TOO_LONG:
        return fields, PROMPT_TOO_LONG, extra
    if c.finish_reason in ("length", "loop"):     # "loop": the backend's live guard stopped it
        cut = P.loop_cut(text, loop_guard) if loop_guard and text else None
        if cut is None:
            return fields, "loop" if c.finish_reason == "loop" else _drop_reason(c, None), extra
        text, extra = P.close_open_fence(text[:cut]), {"loop_cut": cut}
    try:
        r, t, code, tcode = P.parse_response(text, llama3)
    except P.ParseError as e:
        return fields, ("loop" if extra else _drop_reason(c, e)), extra
    return dict(response=r, tests=t, code=code, test_code=tcode), "", extra


def response_jobs(cfg: dict, instructions: list[Instruction], fewshot, done: set[str]) -> list[Job]:
    g = cfg["generate"]["responses"]
    examples, system = _shots(fewshot)
    guard = g["loop_guard"]
    llama3 = llama3_format(cfg)
    jobs = []
    for idx, ins in enumerate(instructions):
        ids = [f"{ins.id}-r{k}" for k in range(g["n"])]
        shots = P.pick_shots(P.item_rng(cfg["seed"], "responses", idx), examples, g["shots"])
        sampling = {"temperature": g["temperature"], "max_tokens": g["max_tokens"], "n": g["n"], "seed": cfg["seed"]}

        def make(comps, ins=ins, ids=ids, shots=shots, sampling=sampling):
            recs = []
            for rid, c in zip(ids, comps):
                fields, reason, extra = parse_sample(c, guard, llama3)
                recs.append(Response(id=rid, instruction_id=ins.id, instruction=ins.instruction, **fields,
                                     fewshot_ids=[x.id for x in shots], sampling={**sampling, **extra},
                                     ok=not reason, drop_reason=reason, raw=c.text))
            return recs

        jobs.append(Job(idx, P.prompt_ir(ins.instruction, shots, system.get("I->R"), llama3), make, ins.id,
                        done=all(i in done for i in ids)))
    return jobs


STAGES = {
    "concepts": ("concepts", concept_jobs, P.STOP_SC),
    "instructions": ("instructions", instruction_jobs, P.STOP_CI),  # = P.STOP_SI
    "responses": ("responses", response_jobs, P.STOP_IR),
}


def run_stage(stage: str, cfg: dict, parents: list, backend_factory: Callable[[], Backend], out: str | Path,
              stats_path: str | Path | None = None, shard: Shard = Shard()) -> dict:
    """Run one generation stage (or one shard of it) to ``out``, resumable through its work file."""
    from .records import work_path

    section, make_jobs, stop = STAGES[stage]
    g = cfg["generate"][section]
    writer = ResumableWriter(work_path(out))
    jobs = make_jobs(cfg, parents, fewshot_of(cfg), writer.done)
    stats: dict = {"stage": stage, "parents": len(parents), "resumed": len(writer.done),
                   "shard": str(shard), "todo": 0}
    # the group size is the backend's: open it only when a shard may have work (cheap check first)
    if any(not j.done for j in jobs):
        backend = backend_factory()
        groups = job_groups(jobs, backend.resume_group, shard)
        stats["todo"] = sum(not j.done for grp in groups for j in grp)
        if groups:
            run_jobs(backend, groups, writer, g.get("n", 1), g["temperature"], g["max_tokens"], stop, cfg["seed"], stage,
                     loop_guard=g.get("loop_guard", 0))
        stats["generation"] = backend.stats.as_dict()
    writer.finish(out)
    stats["outcomes"] = outcome_counts(out)
    if stats_path:
        write_json_atomic(stats_path, stats)
    return stats


def outcome_counts(path: str | Path) -> dict:
    """Kept records, drops by reason (prompt_too_long, truncated, loop, unparseable) and samples
    the loop guard cut and kept, counted from a stage's records."""
    import collections

    from .records import iter_jsonl

    c: collections.Counter = collections.Counter()
    for r in iter_jsonl(path):
        c["kept" if r.get("ok", True) else (r.get("drop_reason") or "").split(":")[0]] += 1
        if r.get("ok", True) and (r.get("sampling") or {}).get("loop_cut") is not None:
            c["loop_cut_kept"] += 1
    return dict(sorted(c.items()))
