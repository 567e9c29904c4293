"""HTTP routes for /v1/projects (shapes follow ODK Central)."""

from __future__ import annotations

from litestar import Router, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from service.auth.models import Role
from service.http import AccessDep, ActorDep, PathId, ResourcesDep

from . import service
from .models import AssignmentIn, AssignmentOut, ProjectCreateIn, ProjectOut, ProjectUpdateIn

__all__ = ["router"]


@get("/")
async def list_projects(resources: ResourcesDep, actor: ActorDep) -> list[ProjectOut]:
    return await service.list_projects(resources, actor)


@post("/", status_code=200)
async def create_project(resources: ResourcesDep, actor: ActorDep, data: JSONBody[ProjectCreateIn]) -> ProjectOut:
    return await service.create_project(resources, actor, name=data.name, description=data.description)


@get("/{project_id:int}")
async def get_project(resources: ResourcesDep, access: AccessDep) -> ProjectOut:
    return await service.get_project(resources, access)


@patch("/{project_id:int}")
async def update_project(resources: ResourcesDep, access: AccessDep, data: JSONBody[ProjectUpdateIn]) -> ProjectOut:
    return await service.update_project(
        resources, access, name=data.name, description=data.description, archived=data.archived
    )


@delete("/{project_id:int}", status_code=200)
async def delete_project(resources: ResourcesDep, access: AccessDep) -> dict[str, bool]:
    await service.delete_project(resources, access)
    return {"success": True}


@get("/{project_id:int}/assignments")
async def list_assignments(resources: ResourcesDep, access: AccessDep) -> list[AssignmentOut]:
    return await service.list_project_assignments(resources, access)


@post("/{project_id:int}/assignments/{role:str}/{actor_id:int}", status_code=200)
async def assign(
    resources: ResourcesDep,
    access: AccessDep,
    role: FromPath[Role],
    actor_id: PathId,
    data: JSONBody[AssignmentIn | None] = None,
) -> dict[str, bool]:
    await service.assign_role(
        resources, access, user_id=actor_id, role=role, area_codes=data.area_codes if data else None
    )
    return {"success": True}


@delete("/{project_id:int}/assignments/{role:str}/{actor_id:int}", status_code=200)
async def unassign(
    resources: ResourcesDep, access: AccessDep, role: FromPath[Role], actor_id: PathId
) -> dict[str, bool]:
    await service.unassign_role(resources, access, user_id=actor_id, role=role)
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
