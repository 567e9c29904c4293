"""HTTP routes for /v1/projects/{id}/app-users and form access (Central's shapes), plus QR codes."""

from __future__ import annotations

from litestar import Response, Router, delete, get, post
from litestar.params import FromPath, JSONBody

from service.http import ActorDep, ServicesDep

from . import service
from .models import AppUserCreateIn, AppUserOut
from .qr import qr_png

__all__ = ["router"]


@get("/v1/projects/{project_id:int}/app-users")
async def list_app_users(services: ServicesDep, actor: ActorDep, project_id: FromPath[int]) -> list[AppUserOut]:
    return await service.list_app_users(services.pool, actor, project_id)


@post("/v1/projects/{project_id:int}/app-users", status_code=200)
async def create_app_user(
    services: ServicesDep, actor: ActorDep, project_id: FromPath[int], data: JSONBody[AppUserCreateIn]
) -> AppUserOut:
    return await service.create_app_user(
        services.pool,
        actor,
        project_id,
        display_name=data.display_name,
        forms=data.forms,
        origin=services.settings.origin,
    )


@delete("/v1/projects/{project_id:int}/app-users/{app_user_id:int}", status_code=200)
async def revoke_app_user(
    services: ServicesDep, actor: ActorDep, project_id: FromPath[int], app_user_id: FromPath[int]
) -> dict[str, bool]:
    await service.revoke_app_user(services.pool, actor, project_id, app_user_id)
    return {"success": True}


@post("/v1/projects/{project_id:int}/app-users/{app_user_id:int}/qr", status_code=200)
async def reissue_qr(
    services: ServicesDep, actor: ActorDep, project_id: FromPath[int], app_user_id: FromPath[int]
) -> AppUserOut:
    """Issue a new token (the old one stops working) and return it with its Collect QR payload."""
    return await service.reissue_token(services.pool, actor, project_id, app_user_id, origin=services.settings.origin)


@post("/v1/projects/{project_id:int}/app-users/{app_user_id:int}/qr.png", status_code=200)
async def reissue_qr_png(
    services: ServicesDep, actor: ActorDep, project_id: FromPath[int], app_user_id: FromPath[int]
) -> Response[bytes]:
    """Like /qr, but answers with the QR code as a PNG to print or show on screen."""
    issued = await service.reissue_token(services.pool, actor, project_id, app_user_id, origin=services.settings.origin)
    assert issued.qr_payload is not None
    return Response(
        content=qr_png(issued.qr_payload),
        media_type="image/png",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": 'inline; filename="collect-settings.png"',
        },
    )


@post(
    "/v1/projects/{project_id:int}/forms/{xml_form_id:str}/assignments/app-user/{app_user_id:int}",
    status_code=200,
)
async def assign_form(
    services: ServicesDep,
    actor: ActorDep,
    project_id: FromPath[int],
    xml_form_id: FromPath[str],
    app_user_id: FromPath[int],
) -> dict[str, bool]:
    await service.assign_form(services.pool, actor, project_id, xml_form_id, app_user_id)
    return {"success": True}


@delete(
    "/v1/projects/{project_id:int}/forms/{xml_form_id:str}/assignments/app-user/{app_user_id:int}",
    status_code=200,
)
async def unassign_form(
    services: ServicesDep,
    actor: ActorDep,
    project_id: FromPath[int],
    xml_form_id: FromPath[str],
    app_user_id: FromPath[int],
) -> dict[str, bool]:
    await service.unassign_form(services.pool, actor, project_id, xml_form_id, app_user_id)
    return {"success": True}


router = Router(
    path="/",
    route_handlers=[
        list_app_users,
        create_app_user,
        revoke_app_user,
        reissue_qr,
        reissue_qr_png,
        assign_form,
        unassign_form,
    ],
    tags=["app users"],
)
