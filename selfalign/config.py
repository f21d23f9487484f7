"""Load, default and validate a run configuration against config/schema.yaml.

The same schema file serves Snakemake's ``validate`` and this loader; this loader adds what
Snakemake lacks: nested defaults, rejection of unknown keys with the key's full path, and one-line
errors that name the key and the allowed values.
"""
from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = REPO_ROOT / "config" / "schema.yaml"


class ConfigError(ValueError):
    """A configuration problem, phrased as one line that names the offending key."""


def load_schema() -> dict:
    with open(SCHEMA_PATH) as f:
        return yaml.safe_load(f)


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path}:{where}: malformed YAML: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of keys, got {type(data).__name__}")
    return data


def apply_defaults(schema: dict, value: Any) -> Any:
    """Fill defaults of ``schema`` into ``value`` recursively (objects only)."""
    if value is None and "default" in schema:
        value = copy.deepcopy(schema["default"])
    if isinstance(value, dict) and "properties" in schema:
        for key, sub in schema["properties"].items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                value[key] = apply_defaults(sub, value[key])
    return value


def _path(error) -> str:
    parts = [str(p) for p in error.absolute_path]
    return ".".join(parts) if parts else "(top level)"


def _one_line(error) -> str:
    key = _path(error)
    v = error.validator
    if v == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        where = key if key != "(top level)" else ""
        names = ", ".join(f"{where + '.' if where else ''}{e}" for e in extra)
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key {names} (allowed here: {allowed})"
    if v == "enum":
        allowed = ", ".join(json.dumps(x) for x in error.validator_value)
        return f"{key}: {json.dumps(error.instance)} is not allowed (allowed: {allowed})"
    if v == "type":
        want = error.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        return f"{key}: expected {want}, got {type(error.instance).__name__} {json.dumps(error.instance, default=str)}"
    return f"{key}: {error.message}"


def validate(cfg: dict, schema: dict | None = None) -> None:
    import jsonschema

    schema = schema or load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(cfg), key=lambda e: (len(list(e.absolute_path)), str(e.absolute_path)))
    if errors:
        raise ConfigError(_one_line(errors[0]))
    check_sampling(cfg)


def check_sampling(cfg: dict) -> None:
    """Greedy decoding (temperature 0) with n > 1 samples is refused here, before any stage runs:
    the n samples would be identical, and vLLM raises "n must be 1 when using greedy sampling"
    in the middle of a run. (The seed judge samples at 0.7 when it takes several votes.)"""
    places = [("generate.responses", (cfg.get("generate") or {}).get("responses") or {})]
    places += [(f"evaluate.protocols.{b}", p)
               for b, p in sorted(((cfg.get("evaluate") or {}).get("protocols") or {}).items())]
    for where, p in places:
        if p.get("n", 1) > 1 and p.get("temperature", 1) == 0:
            raise ConfigError(f"{where}: n {p['n']} with temperature 0 (greedy) gives {p['n']} identical samples, and "
                              "vLLM refuses it (\"n must be 1 when using greedy sampling\"): set n: 1, or a temperature > 0")


def resolve(raw: dict | None) -> dict:
    """Defaults applied, validated; returns a new dict."""
    schema = load_schema()
    cfg = apply_defaults(schema, copy.deepcopy(raw or {}))
    validate(cfg, schema)
    return cfg


def load(path: str | Path | None = None, overrides: dict | None = None) -> dict:
    raw = read_yaml(path) if path else {}
    if overrides:
        raw = deep_merge(raw, overrides)
    return resolve(raw)


def load_cli(path: str | None, overrides: list[str] | None = None) -> dict:
    """The config of a command line: a YAML file (or a stage's resolved JSON) with ``KEY=VALUE``
    overrides, dotted keys, values parsed as JSON where they parse (``seeds.count=10``)."""
    extra: dict = {}
    for kv in overrides or []:
        key, _, val = kv.partition("=")
        node = extra
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        try:
            node[parts[-1]] = json.loads(val)
        except ValueError:
            node[parts[-1]] = val
    if path and path.endswith(".json"):
        return resolve(deep_merge(json.loads(Path(path).read_text()), extra))
    return load(path, extra)


def deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def experiment_configs(cfg: dict) -> dict[str, dict]:
    """The main experiment and every ablation, each a fully resolved config."""
    out = {cfg["experiment"]: cfg}
    for name, over in cfg.get("ablations", {}).items():
        if name == cfg["experiment"]:
            raise ConfigError(f"ablations.{name}: same name as the main experiment")
        for key in ("ablations", "experiment"):
            if key in over:
                raise ConfigError(f"ablations.{name}.{key}: cannot be overridden in an ablation")
        try:
            sub = resolve(deep_merge({k: v for k, v in cfg.items() if k != "ablations"}, over))
        except ConfigError as e:
            raise ConfigError(f"ablations.{name}: {e}") from None
        sub["experiment"] = name
        out[name] = sub
    for sub in out.values():
        if sub.get("teacher") == sub["model"]:  # a model teaching itself is self-alignment: share its data
            sub["teacher"] = None
    return out


DATA_STAGES = ("seeds", "concepts", "instructions", "responses")  # run by the generator model


def generator(cfg: dict) -> str:
    """The model that generates the data: the teacher when one is set, else the trained model."""
    return cfg.get("teacher") or cfg["model"]


def data_config(cfg: dict) -> dict:
    """The config the data stages run with: ``model`` is the generator (the teacher when set)."""
    return {**cfg, "model": generator(cfg)} if cfg.get("teacher") else cfg


def digest(obj: Any) -> str:
    """Stable short hash of a JSON-able object (provenance, rerun triggers)."""
    blob = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]




# The stages whose config is hashed into their file name; "paper" (tables, figures and the
# dataset card) reads the whole config.
STAGES = ("model", "seeds", "concepts", "instructions", "responses", "execute", "select", "train", "evaluate", "paper")
WHOLE_CONFIG = ("paper",)


def stage_sections(schema: dict | None = None) -> dict[str, list[str]]:
    """The (dotted) config sections each stage reads, from the schema's ``stages:`` annotations: a
    stage re-runs when (and only when) one of these, the model or the run seed changes."""
    out: dict[str, list[str]] = {s: [] for s in STAGES}

    def walk(node: dict, prefix: str) -> None:
        for key, sub in (node.get("properties") or {}).items():
            for stage in sub.get("stages", []):
                if stage not in out or stage in WHOLE_CONFIG:
                    raise ConfigError(f"config/schema.yaml: {prefix}{key}: stages: {stage!r} is not a stage "
                                      f"(one of {', '.join(s for s in STAGES if s not in WHOLE_CONFIG)})")
                out[stage].append(prefix + key)
            walk(sub, f"{prefix}{key}.")

    walk(schema or load_schema(), "")
    return out


STAGE_SECTIONS = stage_sections()


def _get(cfg: dict, dotted: str):
    node = cfg
    for p in dotted.split("."):
        node = node.get(p) if isinstance(node, dict) else None
    return node


def sections_digest(cfg: dict, sections) -> str:
    """Hash of the given (dotted) config sections, plus the model and the run seed."""
    return digest({"model": cfg["model"], "seed": cfg["seed"], **{s: _get(cfg, s) for s in sections}})


def upstream(cfg: dict, stage: str) -> list[str]:
    """The data stages ``stage`` depends on, itself included, in pipeline order."""
    chain = ["seeds"] + (["concepts"] if cfg["generate"]["seed_path"] == "concepts" else []) + \
        ["instructions", "responses", "execute"]
    return chain[: chain.index(stage) + 1]


def data_key(cfg: dict, stage: str) -> str:
    """Hash of every setting that decides the records of ``stage`` (its own and its upstream's):
    two experiments with the same key share the stage's output instead of recomputing it."""
    return sections_digest(cfg, sorted({s for st in upstream(cfg, stage) for s in STAGE_SECTIONS[st]}))


def stage_key(cfg: dict, stage: str) -> str:
    """Hash of what ``stage`` reads of ``cfg``: the name of its config file."""
    return sections_digest(cfg, STAGE_SECTIONS[stage] if stage not in WHOLE_CONFIG else sorted(cfg))


def stage_config_path(cfg: dict, stage: str, directory: str | Path) -> Path:
    """Where the resolved config ``stage`` runs with lives: a name that hashes only what the stage
    reads, so a rule taking it as input re-runs exactly when one of those settings changes.
    Computing the path writes nothing (the stage_config rule writes the file)."""
    return Path(directory) / cfg["experiment"] / cfg["model"] / f"{stage}-{stage_key(cfg, stage)}.json"


def write_stage_config(cfg: dict, stage: str, path: str | Path) -> Path:
    """Write ``cfg`` (resolved again, so a bad one fails here) to ``path``, which must be the stage's
    own name for it: a file whose hash does not match what it holds would break the re-run rule."""
    cfg = resolve(cfg)
    path = Path(path)
    want = f"{stage}-{stage_key(cfg, stage)}.json"
    if path.name != want:
        raise ConfigError(f"{path}: this config's {stage} stage hashes to {want}: the name does not match "
                          f"what it would hold")
    blob = json.dumps(cfg, indent=1, sort_keys=True)
    if path.exists() and path.read_text() == blob:
        return path            # unchanged: the file keeps its time
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(blob)
    tmp.replace(path)
    return path
