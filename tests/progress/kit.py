"""What the progress tests set up on the review site's households (tests/web/conftest.py): the totals they are
measured against, and per household its classes, its status before the review and its 2023 housing rule."""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.auth.models import SYSTEM
from service.progress import totals

if TYPE_CHECKING:
    from service.resources import Resources
    from tests.web.conftest import Site

__all__ = ["TOTALS_CSV", "shape_household", "shape_site", "store_totals"]

# Huế city (474) has no total of its own (the sum of its communes'); A Lưới (481) has one.
TOTALS_CSV = "area_code,year,households\n19750,2023,100\n19753,2023,40\n481,2023,200\n20044,2023,80\n"


async def store_totals(resources: Resources) -> None:
    await totals.import_household_totals(resources, SYSTEM, TOTALS_CSV.encode())


async def shape_household(
    resources: Resources, instance_id: str, *, final: str | None = None, server: str | None, prior: str, eligible: bool
) -> None:
    """Set what progress reads of a household: its classes, its status before the review, its 2023 housing rule."""
    detail = {"tempHouse2023": {"eligible": eligible}}
    async with resources.pool.acquire() as conn:
        await conn.execute(
            # Arrived during the 2023 review (a household's round is the year it arrived), in the same order.
            """update submissions set classification = $2, final_classification = $3, classification_detail = $4,
                created_at = created_at - (now() - timestamptz '2023-10-02 09:00+07')
            where instance_id = $1""",
            instance_id,
            server,
            final,
            detail,
        )
        await conn.execute(
            """update submission_versions v
            set answers = jsonb_set(v.answers, '{g_hh,prior_status}', to_jsonb($2::text))
            from submissions s where s.current_version_id = v.id and s.instance_id = $1""",
            instance_id,
            prior,
        )


async def shape_site(resources: Resources, site: Site) -> dict[str, str]:
    """name → instanceID. In 19750: escaped (poor → near-poor), fell back (escaped → poor, recognised poor over the
    server's near-poor), newly poor (none → poor); in 19753: still poor; in 20044: not classified."""
    a, b, c = site.households["19750"]
    [d] = site.households["19753"]
    [e] = site.households["20044"]
    await shape_household(resources, a, server="near_poor", prior="poor", eligible=True)
    await shape_household(resources, b, server="near_poor", final="poor", prior="escaped", eligible=True)
    await shape_household(resources, c, server="poor", prior="none", eligible=False)
    await shape_household(resources, d, server="poor", prior="poor", eligible=True)
    await shape_household(resources, e, server="unclassified", prior="near_poor", eligible=False)
    return {"escaped": a, "fell_back": b, "newly_poor": c, "still_poor": d, "a_luoi": e}
