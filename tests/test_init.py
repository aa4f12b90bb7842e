"""routeeval init: a commented routeeval.toml from a LiteLLM proxy config.yaml and/or --model options, that
load_config reads back; tiers cheapest first, keys only by variable name, unpriced models never at $0."""

from __future__ import annotations

import pytest
from helpers import DATA, ROOT
from typer.testing import CliRunner

from routeeval.cli import app
from routeeval.config import load_config
from routeeval.errors import ConfigError
from routeeval.pricing import cost_map_version, price_tier, price_tiers

PROXY_CONFIG = DATA / "litellm-proxy-config.yaml"
PASTED_KEY = "sk-proj-PASTED-BY-HAND-d41d8cd98f00"  # the literal key in the fixture: never copied
NO_DEPLOYMENTS = (
    "{p}: field 'model_list' has no deployments; a LiteLLM proxy config lists them there (or in its include files)"
)
runner = CliRunner()


def _init(*args):
    return runner.invoke(app, ["init", *(str(a) for a in args)])


def test_a_realistic_proxy_config_becomes_tiers_cheapest_first_that_load_config_reads(in_tmp):
    result = _init("--from-litellm-config", PROXY_CONFIG)
    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "wrote routeeval.toml: 5 tiers, cheapest first: mini, claude-haiku, gpt-4o, gpt-4o-eu, support-ft\n"
    )
    config = load_config("routeeval.toml")
    assert [(t.name, t.model, t.api_key_env) for t in config.tiers] == [
        ("mini", "openai/gpt-4o-mini", None),  # its key was written in the file: left out
        ("claude-haiku", "anthropic/claude-haiku-4-5", "ANTHROPIC_API_KEY"),
        ("gpt-4o", "openai/gpt-4o", "OPENAI_API_KEY"),  # 2 deployments of one model in the group: one tier
        ("gpt-4o-eu", "azure/gpt-4o-eu", "AZURE_API_KEY"),  # another model in the same group: its own tier
        ("support-ft", "openai/ft:gpt-4o-mini:acme:support:9x8y7z", "OPENAI_API_KEY"),  # unpriced: last
    ]
    by_name = {t.name: t for t in config.tiers}
    assert by_name["gpt-4o-eu"].api_base == "https://example-eu.openai.azure.com"
    assert by_name["gpt-4o-eu"].params == {"api_version": "2024-06-01"}
    assert by_name["mini"].params == {"temperature": 0}
    assert by_name["claude-haiku"].params == {"max_tokens": 1024}  # rpm is the proxy's: not carried
    assert by_name["support-ft"].api_base is None  # the proxy reads it from a variable: commented
    # The cost map prices are comments (run reads the same map); the Azure deployment is priced through its
    # model_info.base_model, which run would not find, so its price is written as values.
    assert by_name["gpt-4o"].price_in_per_mtok is None
    assert (by_name["gpt-4o-eu"].price_in_per_mtok, by_name["gpt-4o-eu"].price_out_per_mtok) == (2.5, 10.0)
    prices = price_tiers(config.tiers[:4])
    totals = [p.price_in_per_mtok + p.price_out_per_mtok for p in prices.values()]
    assert totals == sorted(totals)

    text = (in_tmp / "routeeval.toml").read_text(encoding="utf-8")
    assert PASTED_KEY not in text and "sk-proj" not in text
    assert "# api_base: the proxy reads it from os.environ/FT_API_BASE; set api_base here to replay against it." in text
    assert "# price_in_per_mtok = 0.15\n# price_out_per_mtok = 0.6\n" in text
    assert 'scorer = "exact"' in text and '# baseline = "gpt-4o-eu"' in text
    assert result.stderr.splitlines() == [
        f"warning: {PROXY_CONFIG} line 26: model group 'mini' has its api_key written in the file: left out of the "
        "config; set api_key_env to the NAME of an environment variable holding it.",
        f"warning: {PROXY_CONFIG} line 36: model group '*' (*) is not one model (a wildcard or a variable): left out; "
        "add the models you want routed with --model.",
        f"warning: {PROXY_CONFIG} line 39: model group 'openai/*' (openai/*) is not one model (a wildcard or a "
        "variable): left out; add the models you want routed with --model.",
        "warning: tier 'support-ft': model 'openai/ft:gpt-4o-mini:acme:support:9x8y7z' has no price in litellm's "
        f"cost map ({cost_map_version()}); set price_in_per_mtok and price_out_per_mtok for it (a commented "
        "placeholder is written) and move it to its place in the cheapest-first order.",
    ]


def test_an_unpriced_model_gets_a_placeholder_never_a_zero_price(in_tmp):
    assert _init("--model", "openai/gpt-4o-mini", "--model", "ft=openai/ft:acme-unknown").exit_code == 0
    tier = load_config("routeeval.toml").tier("ft")
    assert tier.price_in_per_mtok is None and tier.price_out_per_mtok is None
    text = (in_tmp / "routeeval.toml").read_text(encoding="utf-8")
    assert "# price_in_per_mtok = \n# price_out_per_mtok = \n" in text
    with pytest.raises(ConfigError, match="model 'openai/ft:acme-unknown' has no price in litellm's cost map"):
        price_tier(tier)  # run stops here, naming the tier, until a price is set


def test_model_options_are_ordered_cheapest_first_and_may_name_their_tier(in_tmp):
    result = _init("--model", "openai/gpt-4o", "--model", "small=openai/gpt-4o-mini", "--model", "openai/gpt-4o")
    assert result.exit_code == 0, result.output
    assert result.stdout == "wrote routeeval.toml: 2 tiers, cheapest first: small, gpt-4o\n"
    assert result.stderr == "warning: --model openai/gpt-4o: already a tier; given once.\n"
    assert [(t.name, t.model) for t in load_config("routeeval.toml").tiers] == [
        ("small", "openai/gpt-4o-mini"),
        ("gpt-4o", "openai/gpt-4o"),
    ]


def test_models_from_options_join_the_proxy_config_tiers(in_tmp):
    result = _init("--from-litellm-config", PROXY_CONFIG, "--model", "nano=openai/gpt-4.1-nano", "--out", "x.toml")
    assert result.exit_code == 0, result.output
    names = [t.name for t in load_config(in_tmp / "x.toml").tiers]
    assert names[0] == "nano" and len(names) == 6


def test_the_example_proxy_config_gives_the_example_configs_tiers_in_order(in_tmp):
    assert _init("--from-litellm-config", ROOT / "examples" / "litellm-proxy" / "config.yaml").exit_code == 0
    written = load_config("routeeval.toml").tiers
    example = load_config(ROOT / "examples" / "routeeval.openai-anthropic.toml").tiers
    assert [(t.model, t.api_key_env) for t in written] == [(t.model, t.api_key_env) for t in example]
    # A route group of several models: one tier per model, named after it; the group "gpt-4o" serves one of them.
    assert [t.name for t in written] == ["gpt-4o-mini", "claude-haiku-4-5", "gpt-4o"]
    assert "# model group 'gpt-4o' (" in (in_tmp / "routeeval.toml").read_text(encoding="utf-8")


def test_group_names_become_valid_unique_tier_names(in_tmp, tmp_path):
    config = tmp_path / "proxy.yaml"
    config.write_text(
        "model_list:\n"
        "  - {model_name: openai/gpt-4o, litellm_params: {model: openai/gpt-4o}}\n"
        "  - {model_name: 'my model!', litellm_params: {model: openai/gpt-4o-mini}}\n"
        "  - {model_name: ., litellm_params: {model: anthropic/claude-haiku-4-5}}\n",
        encoding="utf-8",
    )
    assert _init("--from-litellm-config", config, "--model", "gpt-4.1").exit_code == 0
    assert [t.name for t in load_config("routeeval.toml").tiers] == ["my-model", "tier", "gpt-4.1", "openai-gpt-4o"]


def test_prices_the_proxy_config_sets_are_written_as_values(in_tmp, tmp_path):
    config = tmp_path / "proxy.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: local\n"
        "    litellm_params: {model: openai/llama-70b, api_base: 'http://10.0.0.5:8000/v1'}\n"
        "    model_info: {input_cost_per_token: 0.0000009, output_cost_per_token: 0.0000009}\n"
        "  - model_name: small\n"
        "    litellm_params:\n"
        "      {model: openai/llama-8b, input_cost_per_token: 0.0000002, output_cost_per_token: 0.0000002}\n",
        encoding="utf-8",
    )
    result = _init("--from-litellm-config", config)
    assert result.exit_code == 0 and result.stderr == ""
    tiers = load_config("routeeval.toml").tiers
    assert [(t.name, t.api_base, t.price_in_per_mtok, t.price_out_per_mtok) for t in tiers] == [
        ("small", None, 0.2, 0.2),
        ("local", "http://10.0.0.5:8000/v1", 0.9, 0.9),
    ]
    assert "# price from the proxy config's model_info:" in (in_tmp / "routeeval.toml").read_text(encoding="utf-8")


def test_deployments_in_included_files_are_read_as_the_proxy_reads_them(in_tmp, tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "openai.yaml").write_text(
        "model_list:\n  - model_name: big\n"
        "    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_KEY}\n",
        encoding="utf-8",
    )
    (tmp_path / "config.yaml").write_text(
        "include: [models/openai.yaml]\n"
        "model_list:\n  - model_name: small\n    litellm_params: {model: openai/gpt-4o-mini}\n"
        "litellm_settings: {drop_params: true}\n",
        encoding="utf-8",
    )
    assert _init("--from-litellm-config", tmp_path / "config.yaml").exit_code == 0
    tiers = load_config("routeeval.toml").tiers
    assert [(t.name, t.api_key_env) for t in tiers] == [("small", None), ("big", "OPENAI_KEY")]
    comments = " ".join(line[2:] for line in (in_tmp / "routeeval.toml").read_text(encoding="utf-8").splitlines())
    assert f"from model group 'big' ({tmp_path / 'models' / 'openai.yaml'} line 2)" in comments

    (tmp_path / "models" / "openai.yaml").write_text("model_list:\n  - model_name: x\n", encoding="utf-8")
    result = _init("--from-litellm-config", tmp_path / "config.yaml", "--force")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {tmp_path / 'models' / 'openai.yaml'} line 2: field 'model_list[0].litellm_params.model' is missing "
        "or not a string\n"
    )


def test_an_existing_file_is_kept_without_force(in_tmp):
    (in_tmp / "routeeval.toml").write_text("# mine\n", encoding="utf-8")
    result = _init("--model", "openai/gpt-4o-mini", "--model", "openai/gpt-4o")
    assert result.exit_code == 2
    assert result.stderr == "error: routeeval.toml: already exists; pass --force to overwrite it.\n"
    assert (in_tmp / "routeeval.toml").read_text(encoding="utf-8") == "# mine\n"
    result = _init("--model", "openai/gpt-4o-mini", "--model", "openai/gpt-4o", "--force")
    assert result.exit_code == 0, result.output
    assert [t.name for t in load_config("routeeval.toml").tiers] == ["gpt-4o-mini", "gpt-4o"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "{p}: no such file; --from-litellm-config names the LiteLLM proxy's config.yaml"),
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: x\n",
            "{p} line 4: not valid YAML (expected ',' or '}}', but got '<stream end>')",
        ),
        (
            "general_settings: {}\n",
            NO_DEPLOYMENTS,
        ),
        ("- model_name: a\n", "{p}: expected a LiteLLM proxy config: a mapping with a model_list"),
        (
            "model_list: []\n",
            NO_DEPLOYMENTS,
        ),
        ("model_list: {a: 1}\n", "{p} line 1: field 'model_list' must be a list of deployments"),
        ("include: config.yaml\n", "{p} line 1: field 'include' must be a list of file names"),
        ("include: [config.yaml]\n", "{p}: field 'include' includes config.yaml, which includes it back"),
        (
            "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\n  - model_name: b\n"
            "    litellm_params: {api_key: os.environ/K}\n",
            "{p} line 4: field 'model_list[1].litellm_params.model' is missing or not a string",
        ),
        (
            "model_list:\n  - litellm_params: {model: openai/gpt-4o}\n",
            "{p} line 2: field 'model_list[0].model_name' is missing or not a string",
        ),
        (
            "model_list:\n  - just-a-string\n",
            "{p}: field 'model_list[0]' must be a mapping with model_name and litellm_params",
        ),
        (
            "model_list:\n  - {model_name: '*', litellm_params: {model: '*'}}\n",
            "{p}: no model_list entry names one model; add tiers with --model MODEL.",
        ),
    ],
    ids=[
        "missing",
        "bad-yaml",
        "no-model-list",
        "not-a-mapping",
        "empty",
        "not-a-list",
        "include-not-a-list",
        "include-cycle",
        "no-model",
        "no-name",
        "entry",
        "wildcards",
    ],
)
def test_a_bad_proxy_config_is_one_line_naming_file_line_and_field(in_tmp, content, message):
    path = in_tmp / "config.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = _init("--from-litellm-config", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == "error: " + message.format(p=path)
    assert not (in_tmp / "routeeval.toml").exists()


def test_without_tiers_init_says_what_to_give(in_tmp):
    result = _init()
    assert result.exit_code == 2
    assert result.stderr == (
        "error: init needs tiers: give --from-litellm-config FILE, or --model MODEL (repeat it), or both.\n"
    )
    result = _init("--model", "openai/*")
    assert result.stderr == (
        "error: --model 'openai/*': give one litellm model id (e.g. openai/gpt-4o-mini) or NAME=MODEL.\n"
    )
