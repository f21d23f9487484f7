"""``python -m selfalign publish``: one finished run, written up as a page of the repository.

Everything on the page is read from the run's own files (nothing typed by hand): the paper tables it
asks for (``paper/<table>.md``), its figures (copied beside the page), each experiment's data funnel,
every evaluation result with its samples file's sha256 (the result JSONs are copied too), the config
the run resolved, the git revision its results record, and the wall and CPU time of every job
(Snakemake's ``benchmarks/*.tsv``), summed per stage.
"""
from __future__ import annotations

import csv
import json
import shutil
from collections import defaultdict
from pathlib import Path

# a job's benchmark file name -> the stage it belongs to
_STAGE_OF = (("eval_generate_", "evaluate: generate"), ("eval_score_", "evaluate: score"), ("_config", "stage configs"),
             ("_models", "model"))


def stage_of(tsv: Path, bench_root: Path) -> str:
    rel = tsv.relative_to(bench_root).as_posix()
    for marker, stage in _STAGE_OF:
        if marker in rel:
            return stage
    name = tsv.stem.split(".")[0]          # shards (responses.0-of-4) count with their stage
    return {"card": "dataset card"}.get(name, name)


def job_times(run_dir: Path) -> list[dict]:
    """One row per job: its benchmark file, stage, wall seconds and CPU seconds."""
    root = run_dir / "benchmarks"
    rows = []
    for tsv in sorted(root.rglob("*.tsv")):
        with open(tsv, newline="") as f:
            recs = list(csv.DictReader(f, delimiter="\t"))
        if not recs:
            continue
        r = recs[-1]                         # a re-run job appends: the last line is the run that counted
        rows.append({"job": tsv.relative_to(root).with_suffix("").as_posix(), "stage": stage_of(tsv, root),
                     "wall_s": float(r["s"]), "cpu_s": float(r.get("cpu_time") or 0.0),
                     "max_rss_mb": float(r["max_rss"]) if r.get("max_rss") not in (None, "", "NA", "-") else None})
    return rows


def stage_table(jobs: list[dict]) -> str:
    by = defaultdict(lambda: [0, 0.0, 0.0])
    for j in jobs:
        b = by[j["stage"]]
        b[0] += 1
        b[1] += j["wall_s"]
        b[2] += j["cpu_s"]
    lines = ["| stage | jobs | wall (min) | CPU (min) |", "|---|---|---|---|"]
    for stage, (n, wall, cpu) in sorted(by.items(), key=lambda kv: -kv[1][1]):
        lines.append(f"| {stage} | {n} | {wall / 60:.1f} | {cpu / 60:.1f} |")
    total_wall = sum(j["wall_s"] for j in jobs)
    lines.append(f"| **all jobs** | {len(jobs)} | {total_wall / 60:.1f} | {sum(j['cpu_s'] for j in jobs) / 60:.1f} |")
    return "\n".join(lines)


def funnel_lines(run_dir: Path) -> list[str]:
    out = []
    for fpath in sorted((run_dir / "results").glob("*/*/funnel.json")):
        exp, model = fpath.parent.parent.name, fpath.parent.name
        steps = json.loads(fpath.read_text())["steps"]
        chain = " → ".join(f"{s['step']} {s['kept']}" for s in steps)
        out.append(f"- **{exp}** (data by {model}): {chain}")
    return out


def results_rows(run_dir: Path, assets: Path) -> list[str]:
    lines = ["| result | prompt | problems | pass@1 (%) | SE | samples sha256 |", "|---|---|---|---|---|---|"]
    (assets / "results").mkdir(parents=True, exist_ok=True)
    for rpath in sorted((run_dir / "results").rglob("eval/**/*.json")):
        if rpath.name.endswith(".samples.json"):
            continue
        res = json.loads(rpath.read_text())
        rel = rpath.relative_to(run_dir / "results").as_posix()
        shutil.copy(rpath, assets / "results" / rel.replace("/", "__"))
        if "summary" not in res:
            lines.append(f"| {rel} | — | — | {res.get('skipped', 'no summary')} | — | — |")
            continue
        s = res["summary"]
        metric = next((k for k in ("plus", "base", "class") if isinstance(s.get(k), dict)), None)
        m = s.get(metric) or {}
        sha = (res.get("samples_file") or {}).get("sha256", "")
        lines.append(f"| {rel} | {res.get('prompt_style') or (res.get('generation') or {}).get('prompt_style', '—')} | "
                     f"{s.get('problems')} | {m.get('pass@1')} | {m.get('pass@1_se')} | `{sha[:16]}` |")
    return lines


def revision(run_dir: Path) -> str:
    revs = set()
    for rpath in (run_dir / "results").rglob("*.json"):
        try:
            prov = json.loads(rpath.read_text()).get("provenance")
        except (ValueError, AttributeError):
            continue
        if isinstance(prov, dict) and prov.get("git"):
            revs.add(prov["git"])
    return ", ".join(sorted(revs)) or "unknown"


def _text_or_file(s: str) -> str:
    """``s`` itself, or the contents of the file it names (a long sentence is no file name: the OS
    refuses it with ENAMETOOLONG rather than saying it does not exist)."""
    try:
        return Path(s).read_text().strip() if Path(s).is_file() else s
    except OSError:
        return s


def publish(run_dir: str | Path, out: str | Path, title: str, tables: list[str], figures: list[str],
            configs: list[str], intro: str = "") -> Path:
    """Write ``out`` (markdown) and its assets folder (``<out stem>/``) from the finished run."""
    run_dir, out = Path(run_dir), Path(out)
    assets = out.with_suffix("")
    if assets.exists():
        shutil.rmtree(assets)
    assets.mkdir(parents=True)
    parts = [f"# {title}", "", "*Written by `python -m selfalign publish` from the run's own files; nothing "
             "here is typed by hand.*", ""]
    if intro:
        parts += [_text_or_file(intro), ""]
    parts += [f"- run directory: `{run_dir}`", f"- configs: {', '.join(f'`{c}`' for c in configs)}",
              f"- git revision recorded by the results: `{revision(run_dir)}`", ""]
    for t in tables:
        md = run_dir / "paper" / f"{t}.md"
        parts += [md.read_text().strip() if md.exists() else f"*(table {t}: not in this run)*", ""]
    for fig in figures:
        src = run_dir / "figures" / f"{fig}.png"
        if src.exists():
            shutil.copy(src, assets / src.name)
            parts += [f"![{fig}]({assets.name}/{src.name})", ""]
    parts += ["## The data funnels", "", *funnel_lines(run_dir), ""]
    parts += ["## Every evaluation result", "", f"Copies of the result JSONs: `{assets.name}/results/`.", "",
              *results_rows(run_dir, assets), ""]
    jobs = job_times(run_dir)
    (assets / "job_times.json").write_text(json.dumps(jobs, indent=1) + "\n")
    parts += ["## Time per stage", "", "Wall and CPU time of every job (Snakemake's benchmark files; jobs ran "
              f"one after another on this machine's cores; per job: `{assets.name}/job_times.json`).", "",
              stage_table(jobs), ""]
    for c in configs:
        shutil.copy(c, assets / Path(c).name)
    out.write_text("\n".join(parts))
    return out


def add_parser(sub) -> None:
    sp = sub.add_parser("publish", help="write a finished run up as a markdown page (tables, figures, funnels, "
                                        "results with sha256, time per stage)")
    sp.set_defaults(fn=command)
    sp.add_argument("--run-dir", required=True, help="the run's working directory (snakemake -d)")
    sp.add_argument("--out", required=True, help="the page, e.g. docs/results/cpu-replication.md")
    sp.add_argument("--title", required=True)
    sp.add_argument("--table", action="append", default=[], help="a paper table to include (paper/<table>.md)")
    sp.add_argument("--figure", action="append", default=[], help="a figure to include (figures/<figure>.png)")
    sp.add_argument("--configfile", action="append", default=[], help="a config file the run used (copied)")
    sp.add_argument("--intro", default="", help="text (or a file) for the top of the page")


def command(a) -> None:
    print(publish(a.run_dir, a.out, a.title, a.table, a.figure, a.configfile, a.intro))
