"""What a lower HumanEval token cap costs, measured on one samples file (no second generation).

Greedy decoding makes a completion capped at C tokens the first C tokens of the completion capped
higher (up to llama.cpp's batch-shape numerics, which the caller can check by generating at C), so
the samples of a run at the higher cap, cut to their first C tokens with the model's own tokenizer,
are the run at C. Both versions are scored in the sandbox; the script prints for each: pass@1,
how many completions ran into the cap, how many of those end in a loop (the last lines repeating
k times, prompts.loop_cut), and the problems whose verdict differs.

    python bench/token_cap.py --samples results/_base/gemma3-270m/eval/humaneval.samples.jsonl --cap 128
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def cut_rows(rows: list[dict], tokenize, detokenize, cap: int) -> list[dict]:
    out = []
    for r in rows:
        ids = tokenize(r["completion"])
        if len(ids) <= cap:
            out.append(dict(r))
            continue
        text = detokenize(ids[:cap])
        out.append({**r, "completion": text, "solution": r["solution"][: len(r["solution"]) - len(r["completion"])] + text,
                    "finish_reason": "length"})
    return out


def score(samples: Path, out: Path, config: str | None) -> dict:
    cmd = [sys.executable, "-m", "selfalign", "evaluate", "score", "--benchmark", "humaneval", "--samples", str(samples),
           "--out", str(out)] + (["--config", config] if config else [])
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.read_text())


def verdicts(res: dict) -> dict[str, int]:
    """Passing samples of each problem (the base tests' metric)."""
    return {p["task_id"]: p["correct"]["base"] for p in res.get("problems", [])}


def main() -> None:
    from selfalign.config import resolve
    from selfalign.model import get_spec, provision
    from selfalign.prompts import loop_cut
    from selfalign.records import iter_jsonl

    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", required=True, help="a HumanEval samples file generated at a cap above --cap")
    ap.add_argument("--cap", type=int, default=128)
    ap.add_argument("--model", default="gemma3-270m", help="whose tokenizer counts the tokens (the sheet's row)")
    ap.add_argument("--config", help="config for scoring (default: the defaults)")
    ap.add_argument("--loop-repeats", type=int, default=4)
    a = ap.parse_args()

    from llama_cpp import Llama
    cfg = resolve({})
    llm = Llama(model_path=str(provision(get_spec(cfg, a.model), cfg)), n_ctx=64, vocab_only=True, verbose=False)
    tok = lambda s: llm.tokenize(s.encode(), add_bos=False, special=False)  # noqa: E731
    detok = lambda ids: llm.detokenize(ids).decode("utf-8", "ignore")      # noqa: E731

    rows = list(iter_jsonl(a.samples))
    capped = cut_rows(rows, tok, detok, a.cap)
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        full_path, cut_path = d / "full.samples.jsonl", d / "cut.samples.jsonl"
        full_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        cut_path.write_text("".join(json.dumps(r) + "\n" for r in capped))
        full, cut = score(full_path, d / "full.json", a.config), score(cut_path, d / "cut.json", a.config)
    for label, rs, res in (("as generated", rows, full), (f"cut to {a.cap} tokens", capped, cut)):
        hit = [r for r in rs if r.get("finish_reason") == "length"]
        loops = sum(loop_cut(r["completion"], a.loop_repeats) is not None for r in hit)
        s = res["summary"]["base"]
        print(f"{label:>22}: pass@1 {s['pass@1']} ± {s['pass@1_se']} %; {len(hit)} of {len(rs)} completions ran into "
              f"the cap, {loops} of those end in a loop ({a.loop_repeats}+ repeats)")
    vf, vc = verdicts(full), verdicts(cut)
    differ = sorted(t for t in vf if vf[t] != vc.get(t))
    print(f"verdicts that differ: {len(differ)} {differ}")


if __name__ == "__main__":
    main()
