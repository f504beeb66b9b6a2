"""Bad input from a caller or a setting is a typed error with a clear message, never a traceback."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ghostart.app import Ghostart
from ghostart.cli import main
from ghostart.errors import ConfigurationError, GhostartError, InvalidInput
from ghostart.registry import AdapterURL
from tests.support import Team, make_settings


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda app, team: app.generation.get(team.admin, "not-a-uuid"), "post_id"),
        (lambda app, team: app.posts.list(team.admin, status="drafty"), "status"),
        (lambda app, team: app.posts.edit(team.admin, team.voice.id, None), "body"),
        (lambda app, team: app.posts.schedule(team.admin, team.voice.id, "2030-01-01"), "at"),
        (lambda app, team: app.brand_voices.get(team.admin, "x"), "voice_id"),
        (lambda app, team: app.organizations.add_member(team.admin, "zz", "employee"), "user_id"),
        (
            lambda app, team: app.organizations.principal_for(team.admin.user_id, 42),
            "organization_id",
        ),
        (lambda app, team: app.secrets.put(team.org.id, "token", None), "value"),
    ],
)
async def test_service_calls_with_junk_are_invalid_input(
    app: Ghostart, team: Team, call: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        await call(app, team)
    assert err.value.field == field and field in str(err.value)


NUL = "bad\x00text"


async def _post_in_review(app: Ghostart, team: Team) -> Any:
    post = await app.generation.request(team.employee, {"topic": "Reviewed"})
    post = await app.generation.wait(team.employee, post, timeout=10)
    return await app.posts.submit(team.employee, post.id)


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda app, team: app.generation.request(team.employee, {"topic": NUL}), "topic"),
        (
            lambda app, team: app.generation.request(
                team.employee, {"topic": "ok topic", "call_to_action": NUL}
            ),
            "call_to_action",
        ),
        (lambda app, team: app.brand_voices.create(team.admin, {"name": NUL}), "name"),
        (
            lambda app, team: app.brand_voices.create(team.admin, {"name": "V", "topics": [NUL]}),
            "topics.0",
        ),
        (
            lambda app, team: app.brand_voices.create(
                team.admin, {"name": "V", "example_posts": [NUL]}
            ),
            "example_posts.0",
        ),
        (lambda app, team: app.organizations.create(team.admin.user_id, NUL), "name"),
        (lambda app, team: app.profiles.update_profile(team.admin.user_id, name=NUL), "name"),
        (lambda app, team: app.api_keys.create(team.admin, NUL, ["post.create"]), "name"),
    ],
)
async def test_nul_characters_are_refused_on_every_store_alike(
    app: Ghostart, team: Team, call: Any, field: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        await call(app, team)
    assert err.value.field == field, err.value
    assert "NUL" in str(err.value)


async def test_nul_characters_are_refused_in_edits_and_review_notes(
    app: Ghostart, team: Team
) -> None:
    post = await _post_in_review(app, team)
    for call, field in (
        (app.posts.edit(team.creator, post.id, NUL), "body"),
        (app.posts.reject(team.creator, post.id, note=NUL), "review_note"),
        (app.posts.approve(team.creator, post.id, note=NUL), "review_note"),
    ):
        with pytest.raises(InvalidInput) as err:
            await call
        assert err.value.field == field
    assert (await app.generation.get(team.creator, post.id)).revision == post.revision


async def test_an_approval_note_is_bounded_like_a_rejection_note(app: Ghostart, team: Team) -> None:
    post = await _post_in_review(app, team)

    with pytest.raises(InvalidInput) as err:
        await app.posts.approve(team.creator, post.id, note="x" * 1001)

    assert err.value.field == "review_note"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GHOSTART_QUEUE_URL": "redis://[bad"}, "malformed"),
        ({"GHOSTART_CACHE_URL": "memory://?max_entries=inf"}, "whole number"),
        ({"GHOSTART_GENERATOR": "offline?latency=nan"}, "must be a number"),
    ],
)
def test_malformed_adapter_urls_are_configuration_errors(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = CliRunner().invoke(
        main, ["generate", "--topic", "A fine topic"], env={"GHOSTART_HOME": str(tmp_path), **env}
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr and "Traceback" not in result.stderr


def test_an_unusable_database_path_is_a_configuration_error(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder.db"
    folder.mkdir()
    result = CliRunner().invoke(
        main,
        ["migrate"],
        env={"GHOSTART_HOME": str(tmp_path), "GHOSTART_DATABASE_URL": f"sqlite:///{folder}"},
    )
    assert result.exit_code == 2 and "can not open the SQLite file" in result.stderr


def test_passwords_stay_out_of_reprs(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, database_url="postgresql+psycopg://u:hunter2@db/x", queue_url="redis://:pw9@r/0"
    )
    assert "hunter2" not in repr(settings) and "pw9" not in repr(settings)
    url = AdapterURL.parse("redis://:pw9@r/0")
    assert "pw9" not in repr(url) and "pw9" not in str(url)
    with pytest.raises(GhostartError) as err:
        Ghostart.from_settings(settings)
    assert "hunter2" not in str(err.value)


def test_local_key_file_is_private_and_stable(tmp_path: Path) -> None:
    first = Ghostart.from_settings(make_settings(tmp_path))
    second = Ghostart.from_settings(make_settings(tmp_path))
    key = tmp_path / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert first.secret_box.key_ids == second.secret_box.key_ids == ("local",)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".secret")] == []


def test_shared_database_requires_configured_keys(tmp_path: Path) -> None:
    from ghostart.app import _secret_box

    settings = make_settings(tmp_path, database_url="postgresql+psycopg://db/x")
    with pytest.raises(ConfigurationError, match="GHOSTART_SECRET_KEYS"):
        _secret_box(settings)
