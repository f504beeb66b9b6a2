"""Registration, settings, plans and secrets.

The entry point, settings from the environment and the URL, plan configuration, and secrets
that never show in a repr or an error.
"""

from __future__ import annotations

import json
import re
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

import ghostart_stripe
import ghostart_stripe.plugin
from ghostart.errors import ConfigurationError
from ghostart.models import Plan
from ghostart.plugins import PluginManager
from ghostart.registry import BuildContext, Port
from ghostart.settings import load_settings
from ghostart.testing import ManualClock
from ghostart_stripe.billing import StripeBilling
from ghostart_stripe.keys import idempotency_key, meter_identifier
from ghostart_stripe.plans import PlanCatalog, to_plan
from ghostart_stripe.settings import PlanConfig, StripeSettings
from tests.adapters.stripe.conftest import DEFAULT, KEY, OLD_WHSEC, PLANS, WHSEC, make_settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("GHOSTART_STRIPE_API_KEY", KEY)
    monkeypatch.setenv("GHOSTART_STRIPE_WEBHOOK_SECRET", f"{WHSEC}, {OLD_WHSEC}")
    monkeypatch.setenv("GHOSTART_STRIPE_PLANS", json.dumps(PLANS))
    return monkeypatch


def _build(value: str, tmp_path: Path, **core: Any) -> StripeBilling:
    manager = PluginManager(entry_points_enabled=False)
    manager.register(ghostart_stripe.plugin, name="stripe")
    context = BuildContext(load_settings(home=tmp_path, **core), ManualClock(), plugins=manager)
    billing = manager.adapter_registry().build(Port.BILLING, value, context)
    assert isinstance(billing, StripeBilling)
    return billing


def test_the_entry_point_names_the_plugin_module() -> None:
    [ep] = [ep for ep in entry_points(group="ghostart") if ep.name == "stripe"]
    assert ep.value == "ghostart_stripe.plugin" and ep.load() is ghostart_stripe.plugin


def test_an_installed_app_finds_the_billing_adapter_by_name() -> None:
    registry = PluginManager().adapter_registry()  # entry points on, as in production
    [entry] = [e for e in registry.entries() if (e.port, e.scheme) == (Port.BILLING, "stripe")]
    assert entry.package == "ghostart-stripe"


async def test_the_environment_and_the_core_default_plan_make_the_adapter(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    billing = _build("stripe", tmp_path, default_plan="starter", default_monthly_generations=25)
    assert billing.settings.webhook_secrets() == [WHSEC, OLD_WHSEC]
    plans = await billing.plans()
    assert [p.name for p in plans] == ["starter", "pro", "team", "scale"]
    assert plans[0] == Plan(name="starter", monthly_generations=25)
    await billing.aclose()


async def test_url_options_override_the_environment(
    env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env.setenv("GHOSTART_STRIPE_PAST_DUE_GRACE_DAYS", "10")
    billing = _build("stripe?past_due_grace_days=2&timeout=5&allow_promotion_codes=true", tmp_path)
    settings = billing.settings
    assert (settings.past_due_grace_days, settings.timeout, settings.allow_promotion_codes) == (
        2.0,
        5.0,
        True,
    )
    await billing.aclose()


def test_the_key_falls_back_to_stripe_api_key_and_ghostart_wins(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_from_stripe_env")
    assert StripeSettings.load().api_key.get_secret_value() == "sk_test_from_stripe_env"  # type: ignore[union-attr]
    monkeypatch.setenv("GHOSTART_STRIPE_API_KEY", "sk_test_from_ghostart_env")
    assert StripeSettings.load().api_key.get_secret_value() == "sk_test_from_ghostart_env"  # type: ignore[union-attr]


def test_no_key_is_a_configuration_error_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="GHOSTART_STRIPE_API_KEY"):
        _build("stripe", tmp_path)


@pytest.mark.parametrize("option", ["api_key", "webhook_secret", "secret"])
def test_secrets_are_refused_in_the_url_and_not_echoed(
    env: pytest.MonkeyPatch, tmp_path: Path, option: str
) -> None:
    with pytest.raises(ConfigurationError) as err:
        _build(f"stripe?{option}=sk_live_hunter2", tmp_path)
    assert "GHOSTART_STRIPE_API_KEY" in str(err.value) and "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("stripe?grace=3", "unknown option(s) grace"),
        ("stripe?past_due_grace_days=-1", "GHOSTART_STRIPE_PAST_DUE_GRACE_DAYS"),
        ("stripe?timeout=0", "GHOSTART_STRIPE_TIMEOUT"),
        ("stripe?success_url=/relative", "GHOSTART_STRIPE_SUCCESS_URL"),
    ],
)
def test_bad_options_are_configuration_errors(
    env: pytest.MonkeyPatch, tmp_path: Path, value: str, says: str
) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        _build(value, tmp_path)


@pytest.mark.parametrize(
    ("plans", "says"),
    [
        ({"free": {"prices": ["price_x"]}}, "is the default plan"),
        ({"pro": {"monthly_generations": 5}}, "has no prices"),
        ({"a": {"prices": ["price_x"]}, "b": {"prices": ["price_x"]}}, "is in both 'a' and 'b'"),
    ],
)
def test_inconsistent_plans_are_configuration_errors(plans: dict[str, Any], says: str) -> None:
    settings = make_settings(plans=plans)
    with pytest.raises(ConfigurationError, match=re.escape(says)):
        StripeBilling(settings, default_plan=DEFAULT)


@pytest.mark.parametrize(
    ("plan", "says"),
    [
        ({"prices": ["price_x"], "metered_price": "price_m"}, "go together"),
        ({"prices": ["price x"]}, "not a Stripe price id"),
        ({"prices": ["price_x", "price_x"]}, "listed twice"),
        ({"prices": ["price_x"], "seats": -1}, "greater than or equal to 0"),
        ({"prices": ["price_x"], "colour": "blue"}, "Extra inputs"),
    ],
)
def test_a_bad_plan_names_the_setting(plan: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigurationError, match="GHOSTART_STRIPE_PLANS") as err:
        make_settings(plans={"pro": plan})
    assert says in str(err.value)


@pytest.mark.parametrize("suffix", [".toml", ".json"])
async def test_plans_can_come_from_a_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"plans{suffix}"
    if suffix == ".toml":
        path.write_text(
            '[plans.agency]\nprices = ["price_agency"]\nmonthly_generations = 9000\nseats = 99\n'
        )
    else:
        path.write_text(json.dumps({"agency": {"prices": ["price_agency"], "seats": 99}}))
    billing = StripeBilling(make_settings(plans={}, plans_file=path), default_plan=DEFAULT)
    assert [p.name for p in await billing.plans()] == ["free", "agency"]
    assert billing.catalog.plan_for_prices(["price_agency"]) == "agency"
    await billing.aclose()


def test_a_bad_plans_file_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "plans.toml"
    path.write_text("[agency]\nprices = 3\n")
    with pytest.raises(ConfigurationError, match=r"GHOSTART_STRIPE_PLANS_FILE.*agency"):
        make_settings(plans_file=path).all_plans()
    with pytest.raises(ConfigurationError, match="can not read"):
        make_settings(plans_file=tmp_path / "missing.toml").all_plans()


def test_plans_carry_every_entitlement_the_core_plan_knows() -> None:
    config = PlanConfig.model_validate(PLANS["pro"])
    plan = to_plan("pro", config)
    assert (plan.name, plan.monthly_generations, plan.seats) == ("pro", 500, 5)
    # Entitlements the core Plan lacks stay in the adapter's configuration until it has them.
    for field in ("campaigns", "api_access"):
        if field in Plan.model_fields:
            assert getattr(plan, field) == getattr(config, field)
    assert config.campaigns == 10


def test_a_configured_default_plan_refines_the_core_default() -> None:
    catalog = PlanCatalog(
        {"free": PlanConfig(monthly_generations=10, seats=1), "pro": PlanConfig(prices=("p_1",))},
        DEFAULT,
    )
    assert catalog.default == Plan(name="free", monthly_generations=10, seats=1)


def test_reprs_and_errors_never_show_the_key_or_the_webhook_secrets() -> None:
    settings = make_settings()
    billing = StripeBilling(settings, default_plan=DEFAULT)
    texts = [repr(settings), str(settings), repr(billing), repr(billing.api)]
    for text in texts:
        assert KEY not in text and WHSEC not in text and OLD_WHSEC not in text
    with pytest.raises(ConfigurationError) as err:
        StripeSettings.load(api_key=["sk_live_hunter2"], webhook_secret=["whsec_hunter3"])
    assert "hunter2" not in str(err.value) and "hunter3" not in str(err.value)


def test_idempotency_keys_are_derived_bounded_and_collision_free() -> None:
    assert idempotency_key("portal", "org", "op") == "ghostart:portal:org:op"
    assert idempotency_key("portal", "org", "op") == idempotency_key("portal", "org", "op")
    long = idempotency_key("checkout", "x" * 400)
    assert len(long) <= 255 and long.startswith("ghostart:checkout:")
    # Characters a header can not carry are hashed, never replaced (which could collide).
    assert idempotency_key("c", "a b") != idempotency_key("c", "a_b")
    assert len(meter_identifier("ghostart_generation", "g" * 200)) <= 100
    with pytest.raises(ValueError, match="non-empty"):
        idempotency_key("portal", "")


def test_package_exports_load_lazily() -> None:
    assert ghostart_stripe.StripeBilling is StripeBilling
    assert sorted(ghostart_stripe.__all__) == ghostart_stripe.__all__
    assert all(hasattr(ghostart_stripe, name) for name in ghostart_stripe.__all__)
    with pytest.raises(AttributeError):
        _ = ghostart_stripe.Nope
