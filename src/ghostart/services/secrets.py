"""Named secrets kept at rest, encrypted by :class:`~ghostart.secretbox.SecretBox` per row."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from uuid import UUID, uuid4

from ghostart.errors import Conflict, InvalidInput, NotFound
from ghostart.ports.store import Store
from ghostart.secretbox import SecretBox, SecretBoxError

__all__ = ["RotationReport", "SecretService", "secret_aad"]

logger = logging.getLogger(__name__)

_NAME = re.compile(r"[a-z0-9_.:-]+")
_NAME_MAX = 100
_VALUE_MAX = 10_000


def secret_aad(secret_id: UUID) -> str:
    """The associated data binding a ciphertext to its row of the ``secrets`` table."""
    return f"secrets.ciphertext:{secret_id}"


@dataclass(frozen=True, slots=True)
class RotationReport:
    """What one :meth:`SecretService.rotate_all` run did.

    ``scanned == rotated + up_to_date + conflicts + failed`` always holds.

    Attributes:
        scanned: Rows read.
        rotated: Rows re-encrypted under the primary key.
        up_to_date: Rows already under the primary key, left alone.
        conflicts: Rows changed by someone else between read and write; a re-run checks them.
        failed: Rows that did not decrypt (tampered, or under a key this box lacks).
        failed_ids: The ids of those rows.
        batches: Units of work committed.
        finished: Whether the walk reached the last row (``False`` when ``max_batches`` stopped it).
    """

    scanned: int = 0
    rotated: int = 0
    up_to_date: int = 0
    conflicts: int = 0
    failed: int = 0
    failed_ids: tuple[UUID, ...] = ()
    batches: int = 0
    finished: bool = False


class SecretService:
    """Stores, reads and re-keys an organization's named secrets.

    Args:
        store: Where the encrypted rows live.
        box: Encrypts new values under its primary key and decrypts under any of its keys.
    """

    def __init__(self, store: Store, box: SecretBox) -> None:
        self._store = store
        self._box = box

    async def put(self, organization_id: UUID, name: str, value: str) -> None:
        """Encrypt ``value`` and store it as ``name``, replacing any previous value.

        Raises:
            InvalidInput: ``name`` or ``value`` is malformed or out of bounds.
        """
        _check_name(name)
        if not isinstance(value, str) or not 1 <= len(value) <= _VALUE_MAX:
            raise InvalidInput(f"value must be 1 to {_VALUE_MAX} characters", field="value")
        if not _is_utf8(value):
            raise InvalidInput("value must be valid text (no lone surrogates)", field="value")
        async with self._store.unit_of_work() as uow:
            existing = await uow.secrets.get(organization_id, name)
            secret_id = existing[0] if existing else uuid4()
            # A concurrent insert may make the repository keep its own row id; the ciphertext
            # must then be re-bound to that id, or it would never decrypt.
            for _ in range(2):
                ciphertext = self._box.encrypt(value, aad=secret_aad(secret_id))
                stored_id = await uow.secrets.put(organization_id, name, secret_id, ciphertext)
                if stored_id == secret_id:
                    break
                secret_id = stored_id
            else:
                raise Conflict(f"secret {name!r} is being written concurrently; try again")
        logger.debug("stored secret %r (%s) for organization %s", name, secret_id, organization_id)

    async def get(self, organization_id: UUID, name: str) -> str:
        """Return the decrypted value of ``name``.

        Raises:
            InvalidInput: ``name`` is malformed.
            NotFound: The organization has no secret of that name.
            SecretBoxError: The stored value does not decrypt (tampered, moved, or unknown key).
        """
        _check_name(name)
        async with self._store.unit_of_work(readonly=True) as uow:
            row = await uow.secrets.get(organization_id, name)
        if row is None:
            raise NotFound(f"no secret named {name!r}", name=name)
        secret_id, ciphertext = row
        value = self._box.decrypt(ciphertext, aad=secret_aad(secret_id))
        logger.debug("read secret %r (%s) for organization %s", name, secret_id, organization_id)
        return value

    async def rotate_all(
        self, *, batch_size: int = 100, max_batches: int | None = None
    ) -> RotationReport:
        """Re-encrypt every secret not under the primary key, one unit of work per batch.

        Each batch commits on its own, so the walk can be stopped at any point and simply run
        again: rows already under the primary key are skipped, no progress needs to be kept.

        Args:
            batch_size: Rows per batch (and per transaction).
            max_batches: Stop after this many batches; ``None`` walks to the end.

        Raises:
            InvalidInput: ``batch_size`` or ``max_batches`` is below 1.
        """
        if batch_size < 1:
            raise InvalidInput("batch_size must be at least 1", field="batch_size")
        if max_batches is not None and max_batches < 1:
            raise InvalidInput("max_batches must be at least 1", field="max_batches")
        scanned = rotated = up_to_date = conflicts = batches = 0
        failed_ids: list[UUID] = []
        after: UUID | None = None
        finished = False
        while max_batches is None or batches < max_batches:
            # Counted per batch and added only once the batch has committed.
            b_rotated = b_current = b_conflicts = 0
            b_failed: list[UUID] = []
            async with self._store.unit_of_work() as uow:
                rows = await uow.secrets.batch(after=after, limit=batch_size)
                for secret_id, ciphertext in rows:
                    try:
                        if not self._box.needs_rotation(ciphertext):
                            b_current += 1
                            continue
                        new = self._box.rotate(ciphertext, aad=secret_aad(secret_id))
                    except SecretBoxError as exc:
                        logger.warning("secret %s did not decrypt: %s", secret_id, exc.message)
                        b_failed.append(secret_id)
                        continue
                    if await uow.secrets.replace(secret_id, ciphertext, new):
                        b_rotated += 1
                        logger.debug("rotated secret %s to key %r", secret_id, self._box.primary)
                    else:
                        b_conflicts += 1
                        logger.info("secret %s changed during rotation; left as is", secret_id)
            batches += 1
            scanned += len(rows)
            rotated += b_rotated
            up_to_date += b_current
            conflicts += b_conflicts
            failed_ids.extend(b_failed)
            if len(rows) < batch_size:
                finished = True
                break
            after = rows[-1][0]
        report = RotationReport(
            scanned=scanned,
            rotated=rotated,
            up_to_date=up_to_date,
            conflicts=conflicts,
            failed=len(failed_ids),
            failed_ids=tuple(failed_ids),
            batches=batches,
            finished=finished,
        )
        logger.info(
            "secret rotation to key %r: scanned %d, rotated %d, failed %d, finished %s",
            self._box.primary,
            report.scanned,
            report.rotated,
            report.failed,
            report.finished,
        )
        return report


def _check_name(name: str) -> None:
    if not 1 <= len(name) <= _NAME_MAX or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"name must be 1 to {_NAME_MAX} characters of a-z 0-9 _ . : -", field="name"
        )


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
