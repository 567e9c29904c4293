"""HTTP routes for /v1/projects/{id}/app-users and form access (Central's shapes), plus QR codes."""

from __future__ import annotations

from litestar import Response, Router, delete, get, post
from litestar.params import FromPath, JSONBody

from service.http import AccessDep, PathId, ResourcesDep

from . import service
from .models import AppUserCreateIn, AppUserOut
from .qr import qr_png

__all__ = ["router"]


@get("/app-users")
async def list_app_users(resources: ResourcesDep, access: AccessDep) -> list[AppUserOut]:
    return await service.list_app_users(resources, access)


@post("/app-users", status_code=200)
async def create_app_user(resources: ResourcesDep, access: AccessDep, data: JSONBody[AppUserCreateIn]) -> AppUserOut:
    return await service.create_app_user(resources, access, display_name=data.display_name, forms=data.forms)


@delete("/app-users/{app_user_id:int}", status_code=200)
async def revoke_app_user(resources: ResourcesDep, access: AccessDep, app_user_id: PathId) -> dict[str, bool]:
    await service.revoke_app_user(resources, access, app_user_id)
    return {"success": True}


@post("/app-users/{app_user_id:int}/qr", status_code=200)
async def reissue_qr(resources: ResourcesDep, access: AccessDep, app_user_id: PathId) -> AppUserOut:
    """Issue a new token (the old one stops working) and return it with its Collect QR payload."""
    return await service.reissue_token(resources, access, app_user_id)


@post("/app-users/{app_user_id:int}/qr.png", status_code=200)
async def reissue_qr_png(resources: ResourcesDep, access: AccessDep, app_user_id: PathId) -> Response[bytes]:
    """Like /qr, but answers with the QR code as a PNG to print or show on screen."""
    issued = await service.reissue_token(resources, access, app_user_id)
    assert issued.qr_payload is not None
    return Response(
        content=qr_png(issued.qr_payload),
        media_type="image/png",
        headers={
            "Cache-Control": "no-store",
            "Content-Disposition": 'inline; filename="collect-settings.png"',
        },
    )


@post("/forms/{xml_form_id:str}/assignments/app-user/{app_user_id:int}", status_code=200)
async def assign_form(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], app_user_id: PathId
) -> dict[str, bool]:
    await service.assign_form(resources, access, xml_form_id, app_user_id)
    return {"success": True}


@delete("/forms/{xml_form_id:str}/assignments/app-user/{app_user_id:int}", status_code=200)
async def unassign_form(
    resources: ResourcesDep, access: AccessDep, xml_form_id: FromPath[str], app_user_id: PathId
) -> dict[str, bool]:
    await service.unassign_form(resources, access, xml_form_id, app_user_id)
    return {"success": True}


router = Router(
    path="/projects/{project_id:int}",
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
