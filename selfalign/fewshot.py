"""Few-shot examples of Self-OSS-Instruct: ours (YAML) or the official text file, read as data.

``generate.fewshot`` names them: null (the 21 of our own shipped in selfalign/data/fewshot.yaml),
a local file, or a URL pinned by its sha256 (``https://…/self-ossinstruct-fewshot.txt#sha256=…``),
fetched once into the cache like model weights and checked on every read. The format is read
from the content: the official file (prompts/self-ossinstruct-fewshot.txt, Apache-2.0) starts
with ``### System:`` headers and carries its own system lines; a YAML list is ours.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

CATEGORIES = {"function": "function implementation", "class": "class implementation", "program": "program implementation"}
DIFFICULTIES = ("easy", "medium", "hard")
MODES = ("I->R", "C->I", "S->C", "S->I")
OURS = Path(__file__).parent / "data" / "fewshot.yaml"


class FewShotError(ValueError):
    """A few-shot source that cannot be read, fetched or parsed (one line naming it)."""


@dataclass(frozen=True)
class FewShot:
    id: str
    category: str          # a key of CATEGORIES
    difficulty: str
    seed: str              # the S->C / S->I snippet, right-stripped
    concepts: list[str]
    instruction: str
    response: str
    tests: str
    language: str = "Python"


@dataclass(frozen=True)
class FewShotSet:
    examples: list[FewShot]
    system: dict[str, str] = field(default_factory=dict)   # mode -> system line; empty: ours (prompts.py)
    source: str = ""
    sha256: str = ""


# ----------------------------------------------------------------------------------- sources
_PIN = re.compile(r"#sha256=([0-9a-f]{64})$")


def split_pin(spec: str) -> tuple[str, str]:
    """(location, sha256 or "") of ``location#sha256=<64 hex>``."""
    m = _PIN.search(spec)
    return (spec[:m.start()], m.group(1)) if m else (spec, "")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(url: str, sha256: str, cache: Path, timeout_s: float = 60) -> Path:
    """The file at ``url`` (http, https or file), downloaded once into ``cache/fewshot/`` under its
    sha256 and checked; a cached copy is re-checked on every call (it is small)."""
    import urllib.error
    import urllib.request

    if not sha256:
        raise FewShotError(f"generate.fewshot: the URL {url} needs #sha256=<64 hex digits> to pin its content")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", url.rstrip("/").rsplit("/", 1)[-1]) or "fewshot"
    target = cache / "fewshot" / f"{sha256[:16]}-{name}"
    if target.exists() and _sha256(target.read_bytes()) == sha256:
        return target
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as r:
            data = r.read()
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise FewShotError(f"generate.fewshot: could not fetch {url} ({type(e).__name__}: {e}); "
                           f"offline machines need a local path") from None
    if (got := _sha256(data)) != sha256:
        raise FewShotError(f"generate.fewshot: {url} has sha256 {got}, not the pinned {sha256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")    # concurrent jobs may fetch at once
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def resolve_source(spec: str | None, cache: Path | None = None) -> tuple[Path, str]:
    """(local file, sha256 of its bytes) of a ``generate.fewshot`` value."""
    if not spec:
        return OURS, _sha256(OURS.read_bytes())
    where, pin = split_pin(spec)
    if re.match(r"^[a-z][a-z0-9+.-]*://", where):
        if cache is None:
            from .model import cache_dir
            cache = cache_dir()
        path = fetch(where, pin, cache)
    else:
        path = Path(where).expanduser()
        if not path.is_file():
            raise FewShotError(f"generate.fewshot: file not found: {path}")
    got = _sha256(path.read_bytes())
    if pin and got != pin:
        raise FewShotError(f"generate.fewshot: {path} has sha256 {got}, not the pinned {pin}")
    return path, got


def load_set(spec: str | None = None, cache: Path | None = None) -> FewShotSet:
    path, sha = resolve_source(spec, cache)
    text = path.read_text(encoding="utf-8")
    fs = parse_official(text, str(path)) if text.lstrip().startswith("### System:") else parse_yaml(text, str(path))
    return FewShotSet(fs.examples, fs.system, spec or str(OURS), sha)


def fewshot_of(cfg: dict) -> FewShotSet:
    """The few-shot set a run's config names (generate.fewshot; URLs cached under cache_dir)."""
    from .model import cache_dir
    return load_set(cfg["generate"]["fewshot"], cache_dir(cfg))


def load_fewshot(spec: str | Path | None = None) -> list[FewShot]:
    """The examples alone (ours by default)."""
    return load_set(str(spec) if spec else None).examples


# ------------------------------------------------------------------------------------ formats
def parse_yaml(text: str, origin: str) -> FewShotSet:
    try:
        rows = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise FewShotError(f"{origin}: malformed YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(rows, list) or not rows:
        raise FewShotError(f"{origin}: expected a list of few-shot examples")
    out = []
    for i, r in enumerate(rows):
        try:
            ex = FewShot(id=r["id"], category=r["category"], difficulty=r["difficulty"], seed=r["seed"].rstrip(),
                         concepts=list(r["concepts"]), instruction=r["instruction"].strip(),
                         response=r["response"].strip(), tests=r["tests"].strip())
        except (KeyError, AttributeError, TypeError) as e:
            raise FewShotError(f"{origin}: example {i + 1}: missing or bad field {e}") from None
        if ex.category not in CATEGORIES or ex.difficulty not in DIFFICULTIES:
            raise FewShotError(f"{origin}: example {ex.id}: bad category/difficulty")
        out.append(ex)
    return FewShotSet(out)


# self_ossinstruct.py:330, 333, 347-349: the separators of the official file
_EXAMPLE = re.compile(r"### Example \d+")
_SYSTEM = re.compile(r"### System: (I->R|C->I|S->C|S->I)")
_FIELDS = re.compile(r"\[Code\]\n|\[Property\]\n|\[Instruction\]\n|\[Response\]\n|\[Tests\]\n")
_CATEGORY_KEY = {v: k for k, v in CATEGORIES.items()}


def parse_official(text: str, origin: str) -> FewShotSet:
    """The official file, parsed as self_ossinstruct.py:327-370 does: the whole text stripped and
    cut at ``### Example N``; the part before the first example holds the four ``### System: <mode>``
    lines (each stripped); each example, stripped, is cut at ``[Code]``, ``[Property]``,
    ``[Instruction]``, ``[Response]``, ``[Tests]`` lines: the snippet right-stripped, the others
    stripped, the property four ``key: value`` lines (parse_property, :313-324)."""
    parts = _EXAMPLE.split(text.strip())
    head = _SYSTEM.split(parts[0].strip())
    if head[0].strip() or len(head) != 9:
        raise FewShotError(f"{origin}: expected four '### System: <mode>' sections before '### Example 1'")
    system = {mode: body.strip() for mode, body in zip(head[1::2], head[2::2])}
    if sorted(system) != sorted(MODES):
        raise FewShotError(f"{origin}: system sections {sorted(system)}, expected {sorted(MODES)}")
    examples = []
    for i, chunk in enumerate((p.strip() for p in parts[1:]), 1):
        fields = _FIELDS.split(chunk)
        if len(fields) != 6:
            raise FewShotError(f"{origin}: example {i}: expected [Code], [Property], [Instruction], [Response], "
                               f"[Tests] sections in that order")
        _, snippet, prop, instruction, response, tests = fields
        lines = prop.strip().split("\n")
        if len(lines) != 4 or any(":" not in ln for ln in lines):
            raise FewShotError(f"{origin}: example {i}: [Property] must be 4 'key: value' lines")
        category, language, difficulty, concepts = (ln[ln.index(":") + 1:].strip() for ln in lines)
        if category not in _CATEGORY_KEY or difficulty not in DIFFICULTIES:
            raise FewShotError(f"{origin}: example {i}: category {category!r} / difficulty {difficulty!r} unknown")
        examples.append(FewShot(id=f"official-{i:02d}", category=_CATEGORY_KEY[category], difficulty=difficulty,
                                seed=snippet.rstrip(), concepts=[c.strip() for c in concepts.split(",")],
                                instruction=instruction.strip(), response=response.strip(), tests=tests.strip(),
                                language=language))
    if not examples:
        raise FewShotError(f"{origin}: no '### Example N' section")
    return FewShotSet(examples, system)
