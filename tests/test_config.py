"""routeeval.toml parsing: the contract keys, defaults, and one-line errors for mistakes."""

from __future__ import annotations

import pytest
from helpers import ROOT, fifo_that_unblocks, write_config

from routeeval.config import load_config
from routeeval.errors import ConfigError


def test_bundled_demo_config_is_simulated_and_ordered():
    config = load_config(ROOT / "routeeval.toml")
    assert [t.name for t in config.tiers] == ["small", "medium", "large"]
    assert config.simulated and all(t.simulated for t in config.tiers)
    assert config.replay.cache == str(ROOT / ".routeeval" / "cache.sqlite")  # the config folder's, not the cwd's
    assert config.scoring.scorer == "exact"


def test_example_real_provider_config_loads():
    config = load_config(ROOT / "examples" / "routeeval.openai-anthropic.toml")
    assert [t.model for t in config.tiers] == [
        "openai/gpt-4o-mini",
        "anthropic/claude-haiku-4-5",
        "openai/gpt-4o",
    ]
    assert not config.simulated
    assert config.tiers[0].api_key_env == "OPENAI_API_KEY"
    assert config.scoring.judge_tier == "large"


def test_full_config_round_trip(tmp_path):
    path = write_config(
        tmp_path / "r.toml",
        [
            {"name": "s", "model": "openai/gpt-4o-mini", "params": {"temperature": 0, "max_tokens": 64}},
            {
                "name": "l",
                "model": "openai/my-finetune",
                "price_in_per_mtok": 3,
                "price_out_per_mtok": 12.5,
                "api_base": "http://127.0.0.1:9/v1",
                "api_key_env": "MY_KEY",
            },
        ],
        replay={"concurrency": 4, "timeout_s": 10, "retries": 2, "max_cost_usd": 1.5, "cache": "c.sqlite"},
        scoring={"scorer": "numeric(abs_tol=0.5)"},
        optimize={"baseline": "l", "max_drop": 0.02, "routers": ["knn", "cascade"]},
    )
    config = load_config(path)
    small, large = config.tiers
    assert small.params == {"temperature": 0, "max_tokens": 64}
    assert large.price_in_per_mtok == 3.0 and large.price_out_per_mtok == 12.5
    assert large.api_base == "http://127.0.0.1:9/v1" and large.api_key_env == "MY_KEY"
    assert config.replay.timeout_s == 10.0 and config.replay.max_cost_usd == 1.5
    assert config.optimize.routers == ("knn", "cascade") and config.optimize.max_drop == 0.02


@pytest.mark.parametrize(
    ("tiers", "sections", "message"),
    [
        ([], {}, "{p}: no [[tier]] tables; define at least one tier, cheapest first."),
        ([{"name": "a"}], {}, "{p} [[tier]] #1: key 'model' is missing; each tier needs 'name' and 'model'."),
        (
            [{"name": "a", "model": "m", "modle": "x"}],
            {},
            "{p}: unknown key 'modle' in [[tier]] #1; valid keys: api_base, api_key_env, model, name, params, "
            "price_in_per_mtok, price_out_per_mtok, skill.",
        ),
        (
            [{"name": "a", "model": "m"}, {"name": "a", "model": "n"}],
            {},
            "{p}: tier name 'a' is used more than once; tier names must be unique.",
        ),
        (
            [{"name": "a", "model": "m", "price_in_per_mtok": 1}],
            {},
            "{p} [[tier]] #1: set both 'price_in_per_mtok' and 'price_out_per_mtok', or neither.",
        ),
        (
            [{"name": "a", "model": "m", "params": {"api_key": "sk-oops"}}],
            {},
            "{p} [[tier]] #1: never put an API key in the config; set 'api_key_env' to the NAME of the variable.",
        ),
        (
            [{"name": "a", "model": "m"}],
            {"scoring": {"scorer": "judge"}},
            "{p}: [scoring] scorer 'judge' needs 'judge_tier', the tier that judges.",
        ),
        (
            [{"name": "a", "model": "m"}],
            {"optimize": {"baseline": "big"}},
            "{p}: unknown tier 'big'; choose from: a.",
        ),
        (
            [{"name": "a", "model": "m"}],
            {"replay": {"concurrency": "lots"}},
            "{p}: [replay] key 'concurrency' must be int, got 'lots'.",
        ),
    ],
)
def test_config_errors_name_the_place(tmp_path, tiers, sections, message):
    path = write_config(tmp_path / "bad.toml", tiers, **sections)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == message.format(p=path)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[tier]\nname = 'x'\n")
    with pytest.raises(ConfigError, match=r"not valid TOML"):
        load_config(bad)


@pytest.mark.parametrize(
    ("sections", "message"),
    [
        (
            {"optimize": {"max_drop": 2}},
            "[optimize] key 'max_drop' must be at least 0 and below 1 (a fraction: 0.02 is 2 points), got 2; "
            "2 is 200 points: did you mean 0.02?",
        ),
        (
            {"optimize": {"confidence": 95}},
            "[optimize] key 'confidence' must be above 0 and below 1 (a fraction: 0.5 is 50%), got 95; "
            "95 is 9,500%: did you mean 0.95?",
        ),
        ({"optimize": {"folds": 1}}, "[optimize] key 'folds' must be at least 2, got 1."),
        ({"optimize": {"bootstrap": 0}}, "[optimize] key 'bootstrap' must be at least 10, got 0."),
        (
            {"optimize": {"daily_cost_ceiling_usd": -5.0}},
            "[optimize] key 'daily_cost_ceiling_usd' must be above 0, got -5.",
        ),
        ({"optimize": {"max_escalations": -1}}, "[optimize] key 'max_escalations' must be at least 0, got -1."),
        (
            {"optimize": {"holdout_share": 1.0}},
            "[optimize] key 'holdout_share' must be above 0 and below 1 (a fraction: 0.5 is 50%), got 1.",
        ),
        ({"replay": {"backoff_max_s": -5.0}}, "[replay] key 'backoff_max_s' must be at least 0, got -5."),
        ({"replay": {"max_cost_usd": float("inf")}}, "[replay] key 'max_cost_usd' must be a finite number, got inf."),
        (
            {"logs": {"sample_rate": 0.0}},
            "[logs] key 'sample_rate' must be above 0 and at most 1 (a fraction: 0.5 is 50%), got 0.",
        ),
        (
            {"optimize": {"static_rules": [{"regex": "(unclosed", "tier": "a"}]}},
            "[optimize] static_rules #1: ",
        ),
        ({"optimize": {"static_rules": [{"regex": "x", "tier": "big"}]}}, "[optimize] static_rules #1: "),
    ],
)
def test_every_number_is_range_checked_with_a_hint(tmp_path, sections, message):
    path = write_config(tmp_path / "bad.toml", [{"name": "a", "model": "m"}], **sections)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_tier_numbers_and_names_are_checked(tmp_path):
    path = tmp_path / "nan.toml"
    path.write_text('[[tier]]\nname = "a"\nmodel = "m"\nprice_in_per_mtok = nan\nprice_out_per_mtok = 1\n')
    with pytest.raises(ConfigError, match=r"key 'price_in_per_mtok' must be a finite number, got nan\.$"):
        load_config(path)
    path = write_config(tmp_path / "gt.toml", [{"name": "small>large", "model": "m"}])
    with pytest.raises(ConfigError, match="a tier name is letters, digits"):
        load_config(path)


def test_options_are_checked_like_their_config_keys(tmp_path):
    from routeeval.config import with_options

    config = load_config(write_config(tmp_path / "ok.toml", [{"name": "a", "model": "m"}]))
    with pytest.raises(ConfigError) as info:
        with_options(config, max_drop=2)
    assert str(info.value) == (
        "--max-drop must be at least 0 and below 1 (a fraction: 0.02 is 2 points), got 2; "
        "2 is 200 points: did you mean 0.02?"
    )
    for options, text in (
        ({"max_cost_usd": float("nan")}, "--max-cost must be a finite number, got nan."),
        ({"max_cost_usd": -1.0}, "--max-cost must be at least 0, got -1."),
        ({"budget_per_1k_usd": -1.0}, "--budget-per-1k must be above 0, got -1."),
        ({"monthly_queries": -5}, "--monthly-queries must be at least 1, got -5."),
    ):
        with pytest.raises(ConfigError) as info:
            with_options(config, **options)
        assert str(info.value) == text
    applied = with_options(config, max_drop=0.02, confidence=None, max_cost_usd=3, routers=["knn"])
    assert (applied.optimize.max_drop, applied.optimize.confidence) == (0.02, 0.95)
    assert applied.replay.max_cost_usd == 3 and applied.optimize.routers == ("knn",)


def test_a_config_that_is_not_a_regular_file_is_refused_before_it_is_opened(tmp_path):

    with fifo_that_unblocks(tmp_path / "routeeval.toml") as path, pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}: is not a regular file; expected a TOML config file."
    device = tmp_path / "device.toml"
    device.symlink_to("/dev/null")
    with pytest.raises(ConfigError) as info:
        load_config(device)
    assert str(info.value) == f"{device}: is not a regular file; expected a TOML config file."


def test_a_config_nested_too_deeply_to_read(tmp_path):
    path = write_config(tmp_path / "deep.toml", [{"name": "a", "model": "m"}])
    path.write_text(path.read_text() + "\n[optimize]\nstatic_rules = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.exit_code == 2
    assert str(info.value) == f"{path}: arrays or inline tables are nested too deeply to read."


def test_a_config_starting_with_a_byte_order_mark_is_read(tmp_path):
    path = write_config(tmp_path / "bom.toml", [{"name": "a", "model": "m"}])
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())  # as Windows Notepad saves UTF-8
    assert [tier.name for tier in load_config(path).tiers] == ["a"]
