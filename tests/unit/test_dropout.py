"""Dropout is 0 in every module of every model family of the sheet (paper recipe), because it is set
in the config before the model is built: StarCoder2 copies its three dropout rates into modules at
construction, so changing the config afterwards would leave them at the checkpoint's 0.1."""
import pytest

pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from selfalign.model import read_sheet  # noqa: E402
from selfalign.train.load import FAMILY_MODEL_TYPE, _DROPOUT, dropout_settings, load_causal_lm  # noqa: E402

TINY = dict(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
            num_key_value_heads=1, head_dim=8, max_position_embeddings=64)
FAMILIES = sorted({s.family for s in read_sheet().values()})


def module_dropouts(model) -> dict[str, float]:
    """Every dropout rate a module holds: nn.Dropout's p, and the float attributes that attention,
    MLP and embedding modules pass to F.dropout (attention_dropout, residual_dropout, …)."""
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, torch.nn.Dropout):
            out[f"{name}.p"] = m.p
        for key, value in vars(m).items():
            if _DROPOUT.search(key) and isinstance(value, float):
                out[f"{name}.{key}"] = value
    return out


def tiny_checkpoint(model_type: str, path, rate: float = 0.1):
    """A random tiny model of ``model_type`` saved with every dropout setting of its config at ``rate``
    (as the hub checkpoints ship it: StarCoder2's config.json says 0.1 for all three)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(model_type, **TINY)
    for name in dropout_settings(config):
        setattr(config, name, rate)
    torch.manual_seed(0)
    AutoModelForCausalLM.from_config(config).save_pretrained(path)
    return config


def test_every_family_of_the_sheet_has_a_model_type():
    assert set(FAMILIES) <= set(FAMILY_MODEL_TYPE), set(FAMILIES) - set(FAMILY_MODEL_TYPE)


@pytest.mark.parametrize("family", FAMILIES)
def test_dropout_is_zero_in_every_module(family, tmp_path):
    from transformers import AutoModelForCausalLM

    config = tiny_checkpoint(FAMILY_MODEL_TYPE[family], tmp_path)
    settings = dropout_settings(config)
    assert settings and all(v == 0.1 for v in settings.values()), settings
    if family == "starcoder2":
        assert {"attention_dropout", "residual_dropout", "embedding_dropout"} <= set(settings)
    # control: built as saved, some module holds the checkpoint's rate (what the test catches)
    plain = module_dropouts(AutoModelForCausalLM.from_pretrained(tmp_path))
    assert any(v == 0.1 for v in plain.values()), plain
    model = load_causal_lm(tmp_path)
    held = module_dropouts(model)
    assert held and all(v == 0.0 for v in held.values()), {k: v for k, v in held.items() if v}
    assert all(v == 0.0 for v in dropout_settings(model.config).values())


def test_setting_the_config_after_the_build_is_not_enough(tmp_path):
    """Why the order matters: StarCoder2's modules keep the rate they were built with."""
    from transformers import AutoModelForCausalLM

    tiny_checkpoint("starcoder2", tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tmp_path)
    for name in dropout_settings(model.config):
        setattr(model.config, name, 0.0)
    assert {k for k, v in module_dropouts(model).items() if v == 0.1}
