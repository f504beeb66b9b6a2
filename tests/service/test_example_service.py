"""The example service: its page, its command, and `ghostart token` for newcomers."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from ghostart.cli import main as cli
from ghostart.web.settings import load_web_settings
from ghostart_service.app import create_service
from ghostart_service.main import main as service_main
from tests.support import make_settings


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GHOSTART_HOME", str(tmp_path))
    return tmp_path


def _token(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["token", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout.strip(), result.stderr


async def test_a_dev_token_from_the_cli_signs_in_to_the_service(home: Path) -> None:
    code, token, _ = _token("--email", "Newcomer@Example.com")
    assert code == 0 and token.count(".") == 2
    code, again, _ = _token("--email", "newcomer@example.com")
    service = create_service(
        settings=make_settings(home), web_settings=load_web_settings(home=home)
    )
    async with service.router.lifespan_context(service):
        transport = httpx.ASGITransport(app=service)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            first = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
            second = await client.get("/v1/me", headers={"Authorization": f"Bearer {again}"})
            page = await client.get("/")
    assert first.status_code == 200, first.text
    assert first.json()["user"]["email"] == "Newcomer@example.com"  # domains are case-blind
    assert second.json()["user"]["id"] == first.json()["user"]["id"]  # same email, same user
    assert page.status_code == 200 and "Request a post" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]


def test_token_is_refused_with_a_jwks_or_in_production(home: Path) -> None:
    code, out, err = _token(
        "--email", "a@example.com", env={"GHOSTART_JWT_JWKS_URL": "https://x.example/jwks.json"}
    )
    assert code == 2 and out == "" and "refused" in err
    code, out, err = _token(
        "--email",
        "a@example.com",
        env={"GHOSTART_ENV": "production", "GHOSTART_JWT_SECRET": "s" * 40},
    )
    assert code == 2 and out == "" and "refused" in err


def test_production_without_real_auth_is_a_configuration_error(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GHOSTART_ENV", "production")
    with pytest.raises(SystemExit) as exit_:
        service_main([])
    assert exit_.value.code == 2
    assert "GHOSTART_JWT_SECRET" in capsys.readouterr().err
