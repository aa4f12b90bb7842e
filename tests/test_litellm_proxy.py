"""routeeval.integrations.litellm_proxy: a policy.json routes a LiteLLM proxy's route group, named in its config.yaml.

The fast tests drive the callback the proxy would call (``async_pre_call_hook``, then the proxy's ``llm_router``)
with a real ``litellm.Router`` over the loopback server. The slow test starts the real proxy (``litellm --config``)
from examples/litellm-proxy/config.yaml with its deployments pointed at the loopback server."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request

import pytest
import yaml
from helpers import ROOT, TEST_KEY_ENV

from routeeval.errors import ConfigError, PolicyError
from routeeval.integrations import litellm_proxy
from routeeval.integrations.litellm_proxy import CALLBACK, POLICY_ENV, ROUTE_ENV, proxy_callback, proxy_hook_class
from routeeval.policy import build_policy
from routeeval.pricing import import_litellm
from routeeval.routers import CascadeRouter, StaticRouter
from routeeval.testing.loopback import LoopbackServer

EXAMPLE = ROOT / "examples" / "litellm-proxy" / "config.yaml"
TIERS = [
    {"name": "small", "model": "openai/small-model", "price_in_per_mtok": 0.15, "price_out_per_mtok": 0.6},
    {"name": "large", "model": "openai/large-model", "price_in_per_mtok": 2.5, "price_out_per_mtok": 10.0},
]
CUTOFF_CHARS = 40
SHORT = ["where is my invoice?", "reset my password", "hi", "cancel order 12", "what are your hours?", "thanks!"]
LONG = [
    "please compare these two contract clauses and tell me which one wins",
    "my shipment arrived damaged and the replacement was sent to the wrong address twice",
    "explain the difference between the annual and monthly plans for a team of forty",
    "draft a polite reply to a customer who was double charged after cancelling",
    "summarise the refund policy for digital goods bought through the mobile app store",
    "why does the export fail when the report has more than ten thousand rows in it",
]


def _policy(tiers=TIERS) -> dict:
    """Static policy: queries longer than 40 characters go to the last tier, others to the first."""
    router = StaticRouter(tiers=tuple(t["name"] for t in tiers)).fit()
    return build_policy(router, "static", {"length_cutoff_chars": CUTOFF_CHARS}, tiers)


def _user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


@pytest.fixture()
def server():
    with LoopbackServer(require_api_key=os.environ[TEST_KEY_ENV]) as running:
        yield running


@pytest.fixture()
def fresh_callback():
    """proxy_callback() builds one callback per process: each test starts without one and leaves none."""
    proxy_callback.cache_clear()
    yield
    proxy_callback.cache_clear()


@pytest.fixture()
def proxy_server(monkeypatch):
    """Stands in for ``litellm.proxy.proxy_server`` (the running proxy's module): set ``.llm_router``."""
    module = types.ModuleType("litellm.proxy.proxy_server")
    module.llm_router = None
    monkeypatch.setitem(sys.modules, "litellm.proxy.proxy_server", module)
    return module


def _router(server, deployments: list[tuple[str, str]]):
    litellm = import_litellm()
    model_list = [
        {
            "model_name": group,
            "litellm_params": {"model": model, "api_base": server.base_url, "api_key": os.environ[TEST_KEY_ENV]},
        }
        for group, model in deployments
    ]
    return litellm.Router(model_list=model_list, num_retries=0)


def _request(hook, router, group: str, text: str):
    """One request as the proxy makes it: the pre-call hook, then the Router."""

    async def call():
        await hook.async_pre_call_hook(None, None, {"model": group, "messages": _user(text)}, "completion")
        return await router.acompletion(model=group, messages=_user(text))

    return asyncio.run(call())


def test_importing_the_module_builds_nothing(fresh_callback):
    code = (
        "import sys; import routeeval.integrations.litellm_proxy as m; "
        "assert m.proxy_callback.cache_info().currsize == 0; assert 'litellm' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, POLICY_ENV: "missing.json"})


def test_the_callback_attaches_the_policy_on_the_first_request_and_routes_each_query(
    server, proxy_server, fresh_callback, tmp_path, monkeypatch
):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(_policy()), encoding="utf-8")
    monkeypatch.setenv(POLICY_ENV, str(path))
    hook = litellm_proxy.policy_routing  # what the proxy's config names, resolved as get_instance_fn does
    assert hook is litellm_proxy.policy_routing  # one callback per process
    assert isinstance(hook, proxy_hook_class()) and hook.route == "auto" and hook.strategy is None
    router = _router(server, [("auto", "openai/small-model"), ("auto", "openai/large-model")])
    proxy_server.llm_router = router

    answers = [_request(hook, router, "auto", text) for text in SHORT + LONG]
    assert [a.model for a in answers] == ["small-model"] * len(SHORT) + ["large-model"] * len(LONG)
    strategy = hook.strategy
    assert strategy is not None and strategy.router is router
    spent = hook.policy_router.spent_today_usd()
    assert spent > 0

    # The proxy replaced its Router (a config reload): attached again, the day's spend kept.
    rebuilt = _router(server, [("auto", "openai/small-model"), ("auto", "openai/large-model")])
    proxy_server.llm_router = rebuilt
    assert _request(hook, rebuilt, "auto", LONG[0]).model == "large-model"
    assert hook.strategy is not strategy and hook.strategy.router is rebuilt
    assert hook.policy_router.spent_today_usd() > spent


def test_a_route_group_missing_a_tier_fails_its_requests_and_only_those(server, proxy_server, caplog):
    hook = proxy_hook_class()(_policy())
    router = _router(server, [("auto", "openai/small-model"), ("other", "openai/large-model")])
    proxy_server.llm_router = router
    with pytest.raises(ConfigError, match="model group 'auto' has no deployment for tier 'large'"):
        _request(hook, router, "auto", SHORT[0])
    with caplog.at_level(logging.ERROR, logger="routeeval"):
        for _ in range(3):
            assert _request(hook, router, "other", SHORT[0]).model == "large-model"
    reported = [r for r in caplog.records if "not attached" in r.getMessage()]
    assert len(reported) == 1 and "no deployment for tier 'large'" in reported[0].getMessage()
    assert hook.strategy is None


def test_a_route_group_named_in_the_environment(server, proxy_server, fresh_callback, tmp_path, monkeypatch):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(_policy()), encoding="utf-8")
    monkeypatch.setenv(POLICY_ENV, str(path))
    monkeypatch.setenv(ROUTE_ENV, "smart")
    hook = proxy_callback()
    router = _router(server, [("smart", "openai/small-model"), ("smart", "openai/large-model")])
    proxy_server.llm_router = router
    assert hook.route == "smart"
    assert _request(hook, router, "smart", LONG[1]).model == "large-model"


def test_no_policy_in_the_environment_says_what_to_set(fresh_callback, monkeypatch):
    monkeypatch.delenv(POLICY_ENV, raising=False)
    with pytest.raises(ConfigError) as caught:
        litellm_proxy.policy_routing  # noqa: B018 - the attribute the proxy's config names
    assert str(caught.value) == (
        "ROUTEEVAL_POLICY is not set; start the proxy with ROUTEEVAL_POLICY=path/to/policy.json "
        "(the policy its callback routeeval.integrations.litellm_proxy.policy_routing routes with)."
    )


def test_a_missing_or_damaged_policy_is_named_with_the_variable(fresh_callback, tmp_path, monkeypatch):
    monkeypatch.setenv(POLICY_ENV, str(tmp_path / "nope.json"))
    with pytest.raises(PolicyError) as caught:
        proxy_callback()
    assert str(caught.value) == f"ROUTEEVAL_POLICY: {tmp_path / 'nope.json'}: no such file."
    damaged = tmp_path / "policy.json"
    damaged.write_text('{"schema": "routeeval.policy/v1", "tiers": ', encoding="utf-8")
    monkeypatch.setenv(POLICY_ENV, str(damaged))
    with pytest.raises(PolicyError, match=r"^ROUTEEVAL_POLICY: .*policy.json: not valid JSON"):
        proxy_callback()


def test_other_attributes_of_the_module_do_not_exist():
    with pytest.raises(AttributeError, match="has no attribute 'policy_routnig'"):
        litellm_proxy.policy_routnig  # noqa: B018


def test_a_cascade_policy_is_refused_because_a_proxy_request_is_one_call():
    texts = [f"question number {i} about {'billing' if i % 2 else 'shipping'}" for i in range(8)]
    correct = [[1, 1] if i % 4 < 2 else [0, 1] for i in range(8)]
    logprob_mean = [[-0.1 if score else -1.5 for score in row] for row in correct]
    router = CascadeRouter(tiers=("small", "large"), confidence="logprob", featurizer={"min_df": 1})
    router.fit(texts, correct, logprob_mean=logprob_mean)
    policy = build_policy(router, "cascade", {"threshold": 0.5}, TIERS)
    with pytest.raises(ConfigError) as caught:
        proxy_hook_class()(policy)
    assert str(caught.value).startswith(
        "policy: the proxy cannot run a cascade policy (a cascade escalates by calling the next tier, and a proxy "
        "request is one call); choose one of the other routers"
    )


def test_the_example_config_names_the_callback_and_one_deployment_per_tier_of_its_example():
    config = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert config["litellm_settings"]["callbacks"] == [CALLBACK]
    route = [d["litellm_params"]["model"] for d in config["model_list"] if d["model_name"] == "auto"]
    from routeeval.config import load_config

    tiers = load_config(ROOT / "examples" / "routeeval.openai-anthropic.toml").tiers
    assert route == [t.model for t in tiers]
    for deployment in config["model_list"]:  # keys come from the environment, never the file
        assert deployment["litellm_params"]["api_key"].startswith("os.environ/")


# ---------------------------------------------------------------------------------------------- the real proxy

# What the proxy imports at start-up. litellm[proxy]==1.110.2 cannot install (it requires litellm-proxy==1.110.2,
# which is not on PyPI), so the dev extras list these instead (pyproject.toml).
PROXY_MODULES = (
    "fastapi",
    "uvicorn",
    "backoff",
    "uvloop",
    "redis",
    "websockets",
    "orjson",
    "apscheduler",
    "jwt",
    "cryptography",
    "semver",
    "multipart",
    "expression",
    "fastapi_sso",
    "mcp",
    "soundfile",
)
START_TIMEOUT_S = 180  # the proxy imports for 20-40 s before it answers


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _proxy_config(server, models: list[str]) -> dict:
    """The example config with each deployment pointed at the loopback server, its models renamed."""
    config = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    renamed = iter(models)
    for deployment in config["model_list"]:
        params = deployment["litellm_params"]
        if deployment["model_name"] == "auto":
            params["model"] = next(renamed)
        params.update(api_base=server.base_url, api_key=f"os.environ/{TEST_KEY_ENV}")
    return config


def _wait_until_up(proxy: subprocess.Popen, url: str, log_path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proxy.poll() is not None:
            pytest.fail(f"the proxy exited ({proxy.returncode}):\n{log_path.read_text(errors='replace')[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/health/liveliness", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the proxy did not answer in {START_TIMEOUT_S} s:\n{log_path.read_text(errors='replace')[-3000:]}")


def _post(url: str, master_key: str, body: dict) -> dict:
    request = urllib.request.Request(
        url + "/v1/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {master_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_the_real_proxy_routes_easy_and_hard_queries_to_their_tiers(server, tmp_path):
    missing = [name for name in PROXY_MODULES if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"the litellm proxy's dependencies are missing ({', '.join(missing)}): pip install -e '.[dev]'")
    models = ["openai/small-model", "openai/medium-model", "openai/large-model"]
    tiers = [{"name": n, "model": m} for n, m in zip(("small", "medium", "large"), models, strict=True)]
    for tier, (price_in, price_out) in zip(tiers, ((0.15, 0.6), (1.0, 5.0), (2.5, 10.0)), strict=True):
        tier.update(price_in_per_mtok=price_in, price_out_per_mtok=price_out)
    (tmp_path / "policy.json").write_text(json.dumps(_policy(tiers)), encoding="utf-8")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(_proxy_config(server, models)), encoding="utf-8")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    master_key = "sk-" + secrets.token_hex(16)
    env = {
        **os.environ,
        POLICY_ENV: str(tmp_path / "policy.json"),
        "LITELLM_MASTER_KEY": master_key,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_OFFLINE_MODE": "true",
        "LITELLM_TELEMETRY": "False",
        "NO_DOCS": "True",
    }
    litellm_cli = os.path.join(os.path.dirname(sys.executable), "litellm")
    log_path = tmp_path / "proxy.log"
    with open(log_path, "wb") as log:
        proxy = subprocess.Popen(
            [litellm_cli, "--config", str(tmp_path / "config.yaml"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(proxy, url, log_path)
        for text in SHORT + LONG:
            reply = _post(url, master_key, {"model": "auto", "messages": _user(text)})
            assert reply["choices"][0]["message"]["content"].startswith("Answer ")
        direct = _post(url, master_key, {"model": "gpt-4o", "messages": _user(SHORT[0])})  # another group
        assert direct["choices"][0]["message"]["content"].startswith("Answer ")
    finally:
        proxy.terminate()
        try:
            proxy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
    # Easy (short) queries on the cheapest tier, hard (long) ones on the top tier; none on the middle one.
    assert server.count(model="small-model", status=200) == len(SHORT)
    assert server.count(model="large-model", status=200) == len(LONG)
    assert server.count(model="medium-model") == 0
    assert server.count(model="gpt-4o", status=200) == 1
