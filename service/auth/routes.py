"""HTTP routes for sessions and users (/v1/sessions, /v1/users), shaped like ODK Central's."""

from __future__ import annotations

from litestar import Router, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody

from service.auth.models import (
    LoginIn,
    PasswordChangeIn,
    SessionOut,
    UserCreateIn,
    UserOut,
    UserUpdateIn,
)
from service.errors import Problem
from service.http import ActorDep, ServicesDep

from . import service

__all__ = ["router"]


@post("/v1/sessions", status_code=200)
async def create_session(services: ServicesDep, data: JSONBody[LoginIn]) -> SessionOut:
    return await service.login(
        services.pool,
        services.passwords,
        email=data.email,
        password=data.password,
        ttl_s=services.settings.session_ttl_s,
    )


@delete("/v1/sessions/current", status_code=200)
async def delete_current_session(services: ServicesDep, actor: ActorDep) -> dict[str, bool]:
    await service.logout(services.pool, actor)
    return {"success": True}


@get("/v1/users/current")
async def current_user(services: ServicesDep, actor: ActorDep) -> UserOut:
    if actor.kind != "user" or actor.id is None:
        raise Problem.authentication_required()
    return UserOut.of(await service.get_user(services.pool, actor, actor.id))


@get("/v1/users")
async def list_users(services: ServicesDep, actor: ActorDep) -> list[UserOut]:
    return [UserOut.of(user) for user in await service.list_users(services.pool, actor)]


@post("/v1/users", status_code=200)
async def create_user(services: ServicesDep, actor: ActorDep, data: JSONBody[UserCreateIn]) -> UserOut:
    service.require(actor, service.ALL_VERBS if actor.is_admin else frozenset(), "user.manage")
    user = await service.create_user(
        services.pool,
        services.passwords,
        email=data.email,
        password=data.password,
        display_name=data.display_name,
        is_admin=data.is_admin,
        created_by=actor.user_id,
    )
    return UserOut.of(user)


@get("/v1/users/{user_id:int}")
async def get_user(services: ServicesDep, actor: ActorDep, user_id: FromPath[int]) -> UserOut:
    return UserOut.of(await service.get_user(services.pool, actor, user_id))


@patch("/v1/users/{user_id:int}")
async def update_user(
    services: ServicesDep, actor: ActorDep, user_id: FromPath[int], data: JSONBody[UserUpdateIn]
) -> UserOut:
    user = await service.update_user(services.pool, actor, user_id, email=data.email, display_name=data.display_name)
    return UserOut.of(user)


@put("/v1/users/{user_id:int}/password", status_code=200)
async def change_password(
    services: ServicesDep, actor: ActorDep, user_id: FromPath[int], data: JSONBody[PasswordChangeIn]
) -> dict[str, bool]:
    if actor.user_id != user_id:
        raise (Problem.insufficient_rights() if actor.kind != "anonymous" else Problem.authentication_required())
    await service.change_password(services.pool, services.passwords, user_id=user_id, old=data.old, new=data.new)
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
        change_password,
    ],
    tags=["auth"],
)
