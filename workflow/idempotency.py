"""Idempotency keys: a request retried with the same ``Idempotency-Key`` gets the first
result back instead of acting twice (a double click, a retry after a dropped connection).

The key is claimed with ``INSERT … ON CONFLICT DO NOTHING`` on the unique (owner, key): a
second request with the key waits on the first one's row until that transaction ends, then
reads its stored result; if the first one failed and rolled back, the second one acts.

Keys are kept for ``RETENTION`` (7 days: far longer than any client retries) and purged
after: by ``safemap year purge-keys`` (for cron), and opportunistically by ``run()`` at most
once per ``PURGE_EVERY`` in each process, so the table stays small without a scheduler.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from geo.errors import InvalidInput
from geo.models_workflow import IdempotencyKey

from .access import Actor

MAX_KEY = 128
RETENTION = dt.timedelta(days=7)
PURGE_EVERY = 3600.0  # seconds between opportunistic purges in one process
_last_purge: float | None = None


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    message = "此 Idempotency-Key 已用於另一個不同的請求，請使用新的識別碼。"


def owner_of(actor: Actor) -> str:
    if actor.user_id is not None:
        return f"user:{actor.user_id}"
    return (
        f"{actor.role}:{actor.precinct_id}:{actor.station_id}:"
        f"{actor.district_id}:{actor.organisation_id}"
    )


def fingerprint(payload: Any) -> str:
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def run(
    session: Session,
    actor: Actor,
    key: str | None,
    scope: str,
    payload: Any,
    act: Callable[[], dict],
) -> dict:
    """``act()`` once per (caller, key); a retry returns the first result (a JSON dict).

    Raises
    ------
    IdempotencyKeyReused : the key was used before for another request.
    """
    if key is None:
        return act()
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise InvalidInput(
            f"Idempotency-Key 須為 1 至 {MAX_KEY} 個可見字元。", detail=f"bad key {key!r}"
        )
    _maybe_purge(session)
    owner, fp = owner_of(actor), fingerprint(payload)
    claimed = session.execute(
        insert(IdempotencyKey)
        .values(owner=owner, key=key, scope=scope, fingerprint=fp, status_code=0)
        .on_conflict_do_nothing(index_elements=["owner", "key"])
        .returning(IdempotencyKey.id)
    ).scalar()
    if claimed is None:
        first = session.scalar(
            select(IdempotencyKey).where(IdempotencyKey.owner == owner, IdempotencyKey.key == key)
        )
        if first.scope != scope or first.fingerprint != fp:
            raise IdempotencyKeyReused(detail=f"{owner} {key}: {first.scope} vs {scope}")
        return first.response or {}
    result = act()
    session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == claimed)
        .values(status_code=200, response=json.loads(json.dumps(result, default=str)))
    )
    return result


def purge(session: Session, *, older_than: dt.timedelta = RETENTION) -> int:
    """Delete the keys stored more than ``older_than`` ago; the number deleted."""
    if older_than < dt.timedelta(0):
        raise InvalidInput("保留期間不能為負數。", detail=str(older_than))
    # SKIP LOCKED: two processes purging at once never wait on each other's rows.
    stale = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.created_at < func.now() - older_than)
        .with_for_update(skip_locked=True)
    )
    result = session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id.in_(stale.scalar_subquery()))
    )
    return result.rowcount or 0


def _maybe_purge(session: Session) -> None:
    # Cheap enough to ride on a request once an hour: old keys are never locked by anyone.
    global _last_purge
    now = time.monotonic()
    if _last_purge is not None and now - _last_purge < PURGE_EVERY:
        return
    _last_purge = now
    purge(session)
