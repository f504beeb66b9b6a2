"""Brand voices: CRUD under RBAC and tenancy, versioning, validation, and cache invalidation."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ghostart.app import Ghostart
from ghostart.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from ghostart.models import BrandVoiceSpec, PostStatus, Role
from ghostart.testing import CountingGenerator
from tests.support import Team, make_team

SPEC = {"name": "Founder voice", "tone": "blunt", "topics": ["startups", "hiring"]}


async def test_create_list_get(app: Ghostart, team: Team) -> None:
    voice = await app.brand_voices.create(team.creator, SPEC)
    assert voice.version == 1
    assert voice.organization_id == team.org.id
    assert voice.name == "Founder voice"
    assert voice.tone == "blunt"
    assert voice.topics == ["startups", "hiring"]
    assert voice.audience == BrandVoiceSpec(name="x").audience  # defaults filled in
    assert await app.brand_voices.get(team.employee, voice.id) == voice
    listed = await app.brand_voices.list(team.employee)
    assert [v.id for v in listed] == [team.voice.id, voice.id]  # oldest first


async def test_create_accepts_a_spec_model(app: Ghostart, team: Team) -> None:
    spec = BrandVoiceSpec(name="Typed", hashtags=["ghostart"], emoji=True)
    voice = await app.brand_voices.create(team.admin, spec)
    assert voice.spec() == spec
    assert (await app.brand_voices.get(team.admin, voice.id)).spec() == spec


async def test_every_update_bumps_the_version(app: Ghostart, team: Team) -> None:
    voice = await app.brand_voices.create(team.creator, SPEC)
    first = await app.brand_voices.update(team.creator, voice.id, SPEC | {"tone": "warm"})
    assert first.version == 2
    assert first.tone == "warm"
    assert first.created_at == voice.created_at
    # Even an edit that changes nothing is a new version.
    second = await app.brand_voices.update(team.admin, voice.id, first.spec(), expected_version=2)
    assert second.version == 3
    stored = await app.brand_voices.get(team.employee, voice.id)
    assert stored.version == 3
    assert stored.tone == "warm"
    assert stored.updated_at >= voice.updated_at


async def test_update_replaces_every_editable_field(app: Ghostart, team: Team) -> None:
    voice = await app.brand_voices.create(team.creator, SPEC)
    updated = await app.brand_voices.update(team.creator, voice.id, {"name": "Renamed"})
    assert updated.name == "Renamed"
    assert updated.topics == []
    assert updated.tone == BrandVoiceSpec(name="x").tone


async def test_stale_expected_version_is_a_conflict(app: Ghostart, team: Team) -> None:
    voice = await app.brand_voices.create(team.creator, SPEC)
    await app.brand_voices.update(team.creator, voice.id, SPEC | {"tone": "A"}, expected_version=1)
    with pytest.raises(Conflict, match="version 2"):
        await app.brand_voices.update(
            team.admin, voice.id, SPEC | {"tone": "B"}, expected_version=1
        )
    stored = await app.brand_voices.get(team.admin, voice.id)
    assert stored.tone == "A"
    assert stored.version == 2


async def test_employee_reads_but_can_not_manage(app: Ghostart, team: Team) -> None:
    assert (await app.brand_voices.get(team.employee, team.voice.id)).id == team.voice.id
    with pytest.raises(PermissionDenied, match="employee"):
        await app.brand_voices.create(team.employee, SPEC)
    with pytest.raises(PermissionDenied, match="employee"):
        await app.brand_voices.update(team.employee, team.voice.id, SPEC)
    with pytest.raises(PermissionDenied, match="employee"):
        await app.brand_voices.delete(team.employee, team.voice.id)
    assert await app.brand_voices.get(team.admin, team.voice.id) == team.voice
    assert len(await app.brand_voices.list(team.admin)) == 1


async def test_delete(app: Ghostart, team: Team) -> None:
    voice = await app.brand_voices.create(team.creator, SPEC)
    await app.brand_voices.delete(team.creator, voice.id)
    with pytest.raises(NotFound):
        await app.brand_voices.get(team.creator, voice.id)
    with pytest.raises(NotFound):
        await app.brand_voices.delete(team.creator, voice.id)
    with pytest.raises(NotFound):
        await app.brand_voices.update(team.creator, voice.id, SPEC)
    assert [v.id for v in await app.brand_voices.list(team.creator)] == [team.voice.id]


async def test_voices_of_another_organization_are_not_found(app: Ghostart, team: Team) -> None:
    other = await make_team(app, "Other")
    theirs = other.voice
    for role in Role:
        with pytest.raises(NotFound):
            await app.brand_voices.get(team.as_role(role), theirs.id)
    with pytest.raises(NotFound):
        await app.brand_voices.update(team.admin, theirs.id, SPEC)
    with pytest.raises(NotFound):
        await app.brand_voices.delete(team.admin, theirs.id)
    assert [v.id for v in await app.brand_voices.list(team.admin)] == [team.voice.id]
    # Theirs is untouched.
    assert await app.brand_voices.get(other.admin, theirs.id) == theirs
    with pytest.raises(NotFound):
        await app.brand_voices.get(team.admin, uuid4())


INVALID_SPECS: list[tuple[dict[str, object], str]] = [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 121}, "name"),
    ({"name": "Ok", "topics": [f"topic {i}" for i in range(31)]}, "topics"),
    ({"name": "Ok", "topics": [""]}, "topics.0"),
    ({"name": "Ok", "example_posts": ["y" * 4000]}, "example_posts.0"),
    ({"name": "Ok", "hashtags": [f"h{i}" for i in range(11)]}, "hashtags"),
    ({"name": "Ok", "colour": "blue"}, "colour"),
]


async def test_invalid_spec_names_the_field(app: Ghostart, team: Team) -> None:
    # One app for every case (an app per case costs more than the checks).
    for spec, field in INVALID_SPECS:
        with pytest.raises(InvalidInput) as info:
            await app.brand_voices.create(team.creator, spec)
        assert info.value.field == field, spec
        assert field in str(info.value), spec
        with pytest.raises(InvalidInput) as info:
            await app.brand_voices.update(team.creator, team.voice.id, spec)
        assert info.value.field == field, spec
    # Nothing was written by any call.
    assert await app.brand_voices.list(team.creator) == [team.voice]


async def test_editing_a_voice_invalidates_cached_drafts(
    app: Ghostart, team: Team, generator: CountingGenerator
) -> None:
    request = {"topic": "Why we write things down"}
    first = await app.generation.request(team.employee, request)
    first = await app.generation.wait(team.employee, first.id, timeout=10)
    assert first.status is PostStatus.DRAFT
    assert generator.count == 1
    cached = await app.generation.request(team.employee, request)
    assert cached.from_cache
    assert generator.count == 1

    await app.brand_voices.update(
        team.creator, team.voice.id, team.voice.spec().model_copy(update={"tone": "playful"})
    )

    fresh = await app.generation.request(team.employee, request)
    assert not fresh.from_cache
    assert fresh.status is PostStatus.REQUESTED
    fresh = await app.generation.wait(team.employee, fresh.id, timeout=10)
    assert fresh.status is PostStatus.DRAFT
    assert generator.count == 2
    # The generator saw the edited voice.
    voice_used, _ = generator.calls[-1]
    assert voice_used.version == 2
    assert voice_used.tone == "playful"
    # And the new draft is what the cache now serves.
    again = await app.generation.request(team.employee, request)
    assert again.from_cache
    assert again.body == fresh.body
    assert generator.count == 2
