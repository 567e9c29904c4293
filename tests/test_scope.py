"""Area scope: every SQL read of households and their files takes the reader's Scope, and the scope holds.

The static test reads the source of every function in the service package: one whose SQL reads `submissions`,
`submission_versions` or `submission_attachments` must take a `Scope` parameter and apply `IN_SCOPE`. Only the
ingest write path (submissions/ingest_queries.py) is exempt, because it never hands rows to a reader.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from typing import TYPE_CHECKING, Any

import pytest

import service
from service.auth.access import access_to
from service.auth.models import SYSTEM, Actor
from service.projects.service import assign_role, ensure_default_project
from service.submissions import reading
from service.submissions.queries import IN_SCOPE
from tests.support.collect import jpeg_bytes
from tests.support.households import ingest, publish_household_form
from tests.support.submission import new_instance_id, submission_xml

if TYPE_CHECKING:
    from collections.abc import Iterator

    from service.resources import Resources

_READS_HOUSEHOLDS = re.compile(r"\b(?:from|join)\s+(?:submissions|submission_versions|submission_attachments)\b", re.I)
_WRITE_PATH = {"service.submissions.ingest_queries"}
# Statements that rewrite households in bulk and return no rows to anyone (each one named, with its reason).
_BULK_WRITES = {
    "service.areas.queries.refresh_household_areas",  # recomputes area codes after areas or area fields change
}


def _functions() -> Iterator[tuple[str, Any]]:
    for info in pkgutil.walk_packages(service.__path__, "service."):
        module = importlib.import_module(info.name)
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == info.name:
                yield f"{info.name}.{name}", function


def _source(thing: Any) -> str:
    try:
        return inspect.getsource(thing)
    except OSError:  # an empty module
        return ""


def _sql_of(function: Any) -> str:
    """The function's source with the module's SQL fragments it interpolates (`{_SUBMISSION}`) spelled out."""
    source = _source(function)
    fragments = vars(inspect.getmodule(function))
    return source + "".join(
        value for name in re.findall(r"\{(\w+)\}", source) if isinstance(value := fragments.get(name), str)
    )


# A function that runs SQL (not one that only builds SQL text for another to run: their output is checked where it
# is built, e.g. tests/exports/test_plan.py, and the function that runs it must take the Scope).
_RUNS_SQL = re.compile(r"\bconn\.(?:fetch|fetchrow|fetchval|execute|executemany|cursor|copy_from_query)\(")


def _household_reads() -> dict[str, Any]:
    return {
        name: function
        for name, function in _functions()
        if function.__module__ not in _WRITE_PATH
        and name not in _BULK_WRITES
        and _RUNS_SQL.search(_source(function))
        and _READS_HOUSEHOLDS.search(_sql_of(function))
    }


def test_every_read_of_households_takes_the_scope() -> None:
    reads = _household_reads()
    # The detector must see the reads we know of, or this test proves nothing.
    assert {"service.submissions.queries.list_submissions", "service.submissions.queries.attachment_rows"} <= set(reads)
    unscoped = []
    for name, function in reads.items():
        annotations = [str(p.annotation) for p in inspect.signature(function).parameters.values()]
        if "Scope" not in annotations or ("{IN_SCOPE}" not in _source(function) and IN_SCOPE not in _sql_of(function)):
            unscoped.append(name)
    assert unscoped == [], f"these read households without the reader's scope: {unscoped}"


def test_the_write_path_is_only_used_by_ingest() -> None:
    users = [
        info.name
        for info in pkgutil.walk_packages(service.__path__, "service.")
        if re.search(r"import ingest_queries|ingest_queries import", _source(importlib.import_module(info.name)))
        and info.name != "service.submissions.ingest_queries"
    ]
    assert users == ["service.submissions.service"]


# Behaviour on a real database: a supervisor limited to a commune sees only that commune's households.

COMMUNE_A, COMMUNE_B, DISTRICT = "19753", "19771", "474"


@pytest.fixture
async def households(resources: Resources) -> dict[str, str]:
    """Two households of one form, one per commune of the same district; returns instanceID by commune."""
    project = await ensure_default_project(resources, "Scope")
    admin = await access_to(resources, SYSTEM, project)
    await publish_household_form(resources, admin)
    found = {}
    for seed, commune in enumerate((COMMUNE_A, COMMUNE_B)):
        instance = new_instance_id()
        files = [("1732460000001.jpg", jpeg_bytes(seed=seed))]
        await ingest(resources, admin, submission_xml(instance_id=instance), files)
        async with resources.pool.acquire() as conn:
            await conn.execute(
                "update submissions set area_codes = $2 where instance_id = $1", instance, [DISTRICT, commune]
            )
        found[commune] = instance
    return found


async def _supervisor(resources: Resources, email: str, areas: list[str] | None) -> Actor:
    from service.auth.service import create_user

    project = await ensure_default_project(resources, "Scope")
    user = await create_user(resources, SYSTEM, email=email, password="a long password")
    admin = await access_to(resources, SYSTEM, project)
    await assign_role(resources, admin, user_id=user.id, role="supervisor", area_codes=areas)
    return Actor(kind="user", id=user.id, display_name=email)


@pytest.mark.parametrize(
    ("areas", "visible"),
    [
        ([COMMUNE_A], {COMMUNE_A}),
        ([DISTRICT], {COMMUNE_A, COMMUNE_B}),
        (None, {COMMUNE_A, COMMUNE_B}),
        (["99999"], set()),
    ],
)
async def test_a_supervisor_sees_only_households_in_their_areas(
    resources: Resources, households: dict[str, str], areas: list[str] | None, visible: set[str]
) -> None:
    actor = await _supervisor(resources, "sup@example.org", areas)
    project = await ensure_default_project(resources, "Scope")
    access = await access_to(resources, actor, project)
    page = await reading.list_submissions(resources, access, "household", limit=100, cursor=None)
    assert {item.instance_id for item in page.items} == {households[c] for c in visible}
    for commune, instance in households.items():
        if commune in visible:
            assert (await reading.get_submission(resources, access, "household", instance)).instance_id == instance
            assert len(await reading.submission_attachments(resources, access, "household", instance)) == 2
        else:
            # Out of scope is "not found": existence does not leak.
            for read in (
                reading.get_submission,
                reading.submission_xml,
                reading.submission_versions,
                reading.submission_attachments,
            ):
                with pytest.raises(service.errors.Problem) as refused:
                    await read(resources, access, "household", instance)
                assert refused.value.code == 404.1
