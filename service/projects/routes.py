"""HTTP routes for /v1/projects (shapes follow ODK Central)."""

from __future__ import annotations

from litestar import Router, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from service.auth.models import Role
from service.http import ActorDep, ServicesDep

from . import service
from .models import AssignmentIn, AssignmentOut, ProjectCreateIn, ProjectOut, ProjectUpdateIn

__all__ = ["router"]


@get("/")
async def list_projects(services: ServicesDep, actor: ActorDep) -> list[ProjectOut]:
    return await service.list_projects(services.pool, actor)


@post("/", status_code=200)
async def create_project(services: ServicesDep, actor: ActorDep, data: JSONBody[ProjectCreateIn]) -> ProjectOut:
    return await service.create_project(services.pool, actor, name=data.name, description=data.description)


@get("/{project_id:int}")
async def get_project(services: ServicesDep, actor: ActorDep, project_id: FromPath[int]) -> ProjectOut:
    return await service.get_project(services.pool, actor, project_id)


@patch("/{project_id:int}")
async def update_project(
    services: ServicesDep, actor: ActorDep, project_id: FromPath[int], data: JSONBody[ProjectUpdateIn]
) -> ProjectOut:
    return await service.update_project(
        services.pool, actor, project_id, name=data.name, description=data.description, archived=data.archived
    )


@delete("/{project_id:int}", status_code=200)
async def delete_project(services: ServicesDep, actor: ActorDep, project_id: FromPath[int]) -> dict[str, bool]:
    await service.delete_project(services.pool, actor, project_id)
    return {"success": True}


@get("/{project_id:int}/assignments")
async def list_assignments(services: ServicesDep, actor: ActorDep, project_id: FromPath[int]) -> list[AssignmentOut]:
    return await service.list_project_assignments(services.pool, actor, project_id)


@post("/{project_id:int}/assignments/{role:str}/{actor_id:int}", status_code=200)
async def assign(
    services: ServicesDep,
    actor: ActorDep,
    project_id: FromPath[int],
    role: FromPath[Role],
    actor_id: FromPath[int],
    data: JSONBody[AssignmentIn | None] = None,
) -> dict[str, bool]:
    await service.assign_role(
        services.pool,
        actor,
        project_id,
        user_id=actor_id,
        role=role,
        area_codes=data.area_codes if data else None,
    )
    return {"success": True}


@delete("/{project_id:int}/assignments/{role:str}/{actor_id:int}", status_code=200)
async def unassign(
    services: ServicesDep, actor: ActorDep, project_id: FromPath[int], role: FromPath[Role], actor_id: FromPath[int]
) -> dict[str, bool]:
    await service.unassign_role(services.pool, actor, project_id, user_id=actor_id, role=role)
    return {"success": True}


router = Router(
    path="/v1/projects",
    route_handlers=[
        list_projects,
        create_project,
        get_project,
        update_project,
        delete_project,
        list_assignments,
        assign,
        unassign,
    ],
    tags=["projects"],
)
