"""An HTTP client against the real app, whose requests run in the test's rolled-back session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import get_session
from api.settings import AppSettings, AuthSettings
from geo.db import make_sessionmaker

TEST_SECRET = "test-secret-key-not-for-production-0123456789"


@pytest.fixture
def app(engine, db: Session):
    application = create_app(
        AppSettings(environment="test", auth=AuthSettings(secret_key=TEST_SECRET))
    )
    application.state.sessionmaker = make_sessionmaker(engine)

    def session_override() -> Iterator[Session]:
        # Each request is a savepoint: a failing request leaves nothing behind, as in production.
        with db.begin_nested():
            yield db

    application.dependency_overrides[get_session] = session_override
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def login(client: TestClient, username: str, password: str = "pw-測試-123") -> dict[str, str]:
    r = client.post("/api/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
