"""HTTP routes for sessions and users (/v1/sessions, /v1/users), shaped like ODK Central's."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router, delete, get, patch, post, put
from litestar.params import JSONBody

from service.auth.models import (
    LoginIn,
    PasswordChangeIn,
    SessionOut,
    UserCreateIn,
    UserOut,
    UserUpdateIn,
)
from service.errors import Problem
from service.http import ActorDep, PathId, ResourcesDep, client_address

from . import service

__all__ = ["router"]


@post("/v1/sessions", status_code=200)
async def create_session(
    request: Request[Any, Any, Any], resources: ResourcesDep, data: JSONBody[LoginIn]
) -> SessionOut:
    return await service.login(resources, email=data.email, password=data.password, client=client_address(request))


@delete("/v1/sessions/current", status_code=200)
async def delete_current_session(resources: ResourcesDep, actor: ActorDep) -> dict[str, bool]:
    await service.logout(resources, actor)
    return {"success": True}


@get("/v1/users/current")
async def current_user(resources: ResourcesDep, actor: ActorDep) -> UserOut:
    if actor.kind != "user" or actor.id is None:
        raise Problem.authentication_required()
    return UserOut.from_row(await service.get_user(resources, actor, actor.id))


@get("/v1/users")
async def list_users(resources: ResourcesDep, actor: ActorDep) -> list[UserOut]:
    return [UserOut.from_row(user) for user in await service.list_users(resources, actor)]


@post("/v1/users", status_code=200)
async def create_user(resources: ResourcesDep, actor: ActorDep, data: JSONBody[UserCreateIn]) -> UserOut:
    user = await service.create_user(
        resources,
        actor,
        email=data.email,
        password=data.password,
        display_name=data.display_name,
        is_admin=data.is_admin,
    )
    return UserOut.from_row(user)


@get("/v1/users/{user_id:int}")
async def get_user(resources: ResourcesDep, actor: ActorDep, user_id: PathId) -> UserOut:
    return UserOut.from_row(await service.get_user(resources, actor, user_id))


@patch("/v1/users/{user_id:int}")
async def update_user(
    resources: ResourcesDep, actor: ActorDep, user_id: PathId, data: JSONBody[UserUpdateIn]
) -> UserOut:
    user = await service.update_user(resources, actor, user_id, email=data.email, display_name=data.display_name)
    return UserOut.from_row(user)


@delete("/v1/users/{user_id:int}", status_code=200)
async def deactivate_user(resources: ResourcesDep, actor: ActorDep, user_id: PathId) -> dict[str, bool]:
    await service.deactivate_user(resources, actor, user_id)
    return {"success": True}


@put("/v1/users/{user_id:int}/password", status_code=200)
async def change_password(
    resources: ResourcesDep, actor: ActorDep, user_id: PathId, data: JSONBody[PasswordChangeIn]
) -> dict[str, bool]:
    await service.change_password(resources, actor, user_id=user_id, old=data.old, new=data.new)
    return {"success": True}


router = Router(
    path="/",
    route_handlers=[
        create_session,
        delete_current_session,
        current_user,
        list_users,
        create_user,
        get_user,
        update_user,
        deactivate_user,
        change_password,
    ],
    tags=["auth"],
)
