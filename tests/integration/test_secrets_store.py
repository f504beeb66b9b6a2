"""Secrets at rest in the real SQLite store: encrypted, row-bound, rotatable with the old key removed."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa

from ghostart.builtin.sql import SQLiteStore
from ghostart.builtin.sql import tables as t
from ghostart.errors import NotFound
from ghostart.models import Organization
from ghostart.secretbox import SecretBox, SecretBoxError
from ghostart.services.secrets import SecretService, secret_aad


@pytest.fixture
async def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = SQLiteStore(f"sqlite:///{tmp_path / 's.db'}")
    await store.migrate()
    yield store
    await store.aclose()


async def _orgs(store: SQLiteStore, n: int) -> list[Organization]:
    orgs = [Organization(name=f"Org {i}") for i in range(n)]
    async with store.unit_of_work() as uow:
        for org in orgs:
            await uow.organizations.add(org)
    return orgs


async def _ciphertexts(store: SQLiteStore) -> dict[UUID, str]:
    with store.engine.connect() as conn:
        rows = (conn.execute(sa.select(t.secrets.c.id, t.secrets.c.ciphertext))).all()
    return {r[0]: r[1] for r in rows}


async def test_rotation_then_old_key_removed_everything_decrypts(store: SQLiteStore) -> None:
    k1, k2 = f"k1:{SecretBox.generate_key()}", f"k2:{SecretBox.generate_key()}"
    orgs = await _orgs(store, 7)
    values = {org.id: f"linkedin-token-{uuid4()}" for org in orgs}
    for org_id, value in values.items():
        await SecretService(store, SecretBox.from_setting(k1)).put(
            org_id, "linkedin.access_token", value
        )
    at_rest = "".join((await _ciphertexts(store)).values())
    assert not any(value in at_rest for value in values.values()), "plaintext at rest"

    rotating = SecretService(store, SecretBox.from_setting(f"{k2},{k1}"))
    partial = await rotating.rotate_all(batch_size=3, max_batches=1)  # stopped part-way
    assert (partial.rotated, partial.finished) == (3, False)
    rest = await rotating.rotate_all(batch_size=3)  # resumed
    assert rest.rotated == 4 and rest.finished and rest.failed == 0

    only_new = SecretService(store, SecretBox.from_setting(k2))
    for org_id, value in values.items():
        assert await only_new.get(org_id, "linkedin.access_token") == value
    assert all(c.split(".")[1] == "k2" for c in (await _ciphertexts(store)).values())


async def test_a_ciphertext_copied_to_another_row_does_not_decrypt(store: SQLiteStore) -> None:
    box = SecretBox.from_setting(f"k1:{SecretBox.generate_key()}")
    service = SecretService(store, box)
    a, b = await _orgs(store, 2)
    await service.put(a.id, "webhook.secret", "secret-of-a")
    await service.put(b.id, "webhook.secret", "secret-of-b")
    stored = await _ciphertexts(store)
    [id_a] = [i for i, c in stored.items() if box.decrypt(c, aad=secret_aad(i)) == "secret-of-a"]
    [id_b] = [i for i in stored if i != id_a]
    with store.engine.begin() as conn:  # an attacker with database access swaps rows
        conn.execute(
            t.secrets.update().where(t.secrets.c.id == id_b).values(ciphertext=stored[id_a])
        )
    with pytest.raises(SecretBoxError):
        await service.get(b.id, "webhook.secret")
    assert await service.get(a.id, "webhook.secret") == "secret-of-a"


async def test_a_secret_for_an_unknown_organization_is_not_found(store: SQLiteStore) -> None:
    service = SecretService(store, SecretBox.from_setting(f"k1:{SecretBox.generate_key()}"))
    with pytest.raises(NotFound):
        await service.put(uuid4(), "webhook.secret", "value")
