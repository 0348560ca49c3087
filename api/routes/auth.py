from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from workflow.auth import authenticate, issue_token

from ..deps import CurrentUser, SessionDep, SettingsDep
from ..schemas import Token, UserPublic

router = APIRouter(prefix="/auth", tags=["登入"])


@router.post("/token", response_model=Token, summary="以帳號密碼取得存取憑證（OAuth2 password）")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
) -> Token:
    user = authenticate(session, form.username, form.password)
    minutes = settings.auth.token_minutes
    return Token(
        access_token=issue_token(user, settings.auth.secret_key or "", minutes),
        expires_in=minutes * 60,
        role=user.role.value,
        role_label=user.role.label,
    )


@router.get("/me", response_model=UserPublic, summary="目前登入者")
def me(user: CurrentUser) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role.value,
        role_label=user.role.label,
        precinct_id=user.precinct_id,
        station_id=user.station_id,
        district_id=user.district_id,
        organisation_id=user.organisation_id,
        last_login_at=user.last_login_at,
    )
