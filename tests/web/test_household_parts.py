"""The household page's photo evidence, legal stages and exit plan over HTTP (no browser), and the queue page sorted by
risk and filtered by stage: what each role sees, the forms they may use (CSRF, refusals as readable pages)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from service.auth.access import access_to
from service.auth.models import SYSTEM
from service.plans import service as plans
from service.plans.models import ActionIn, PlanIn, VisitIn
from service.settings import Settings
from tests.review.conftest import fetch
from tests.web.test_pages import sign_in

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.testing import AsyncTestClient

    from service.resources import Resources
    from tests.web.conftest import EvidenceSite, Site

TODAY = Settings().local_today()


def _text(page: str) -> str:
    """The page's text, tags dropped and entities decoded (to find sentences regardless of markup)."""
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_a_household_with_evidence_shows_thumbnails_points_checks_and_its_risk(
    client: AsyncTestClient[Litestar], evidence_site: EvidenceSite, resources: Resources
) -> None:
    site = evidence_site.site
    await sign_in(client, "ward@example.org")
    page = await client.get(site.page(f"/households/{evidence_site.main}"))
    assert page.status_code == 200, page.text
    # Small thumbnails in the grid, lazily; a tap opens the large one; the original is a link away.
    smalls = re.findall(r'<img src="([^"]+/thumbnails/small)"[^>]*loading="lazy"', page.text)
    assert len(smalls) == 3
    assert len(re.findall(r'data-full="[^"]+/thumbnails/large"', page.text)) == 3
    served = await client.get(smalls[0])
    assert (served.status_code, served.headers["content-type"]) == (200, "image/jpeg")
    assert served.headers["x-content-type-options"] == "nosniff"
    # The front photo's EXIF point on the plot, about 20 m from the house (the roof's too: 12 m).
    assert page.text.count('<circle class="exif"') == 2
    text = _text(page.text)
    assert "Ảnh mặt trước toàn bộ nhà: cách 20 m" in text
    # The risk score and its checks, in Vietnamese; the same evidence the API gives.
    [stored] = await fetch(resources, "select risk_score from submissions where instance_id = $1", evidence_site.main)
    assert stored["risk_score"] is not None
    assert f"Điểm rủi ro: {stored['risk_score']}/100" in text
    reasons = await fetch(
        resources,
        "select c.reason_vi, c.reason_en from evidence_checks c join submissions s on s.id = c.submission_id"
        " where s.instance_id = $1 and c.version_id = s.current_version_id",
        evidence_site.main,
    )
    assert reasons
    for reason in reasons:
        assert html.escape(reason["reason_vi"], quote=False) in page.text
        assert reason["reason_en"] not in page.text
    # The neighbour (same commune) is linked; the household of another commune is only said to exist.
    neighbour = site.titles[evidence_site.neighbour]
    assert f"Xem hộ kia: {neighbour}" in text
    assert site.titles[evidence_site.elsewhere] not in text
    assert "Hộ kia ở ngoài địa bàn của bạn." in text
    elsewhere_thumb = site.page(f"/households/{evidence_site.elsewhere}/photos/ev13-photo_front.jpg/thumbnails/small")
    assert (await client.get(elsewhere_thumb)).status_code == 404
    assert (await client.get(smalls[0].replace("/small", "/huge"))).status_code == 404

    english = _text((await client.get(site.page(f"/households/{evidence_site.main}?lang=en"))).text)
    assert all(reason["reason_en"] in english for reason in reasons)


async def test_a_district_supervisor_is_linked_to_every_household_sharing_a_photo(
    client: AsyncTestClient[Litestar], evidence_site: EvidenceSite
) -> None:
    site = evidence_site.site
    await sign_in(client, "district@example.org")
    text = _text((await client.get(site.page(f"/households/{evidence_site.main}"))).text)
    for other in (evidence_site.neighbour, evidence_site.elsewhere):
        assert f"Xem hộ kia: {site.titles[other]}" in text
    assert "ngoài địa bàn của bạn" not in text


async def test_the_queue_riskiest_first_with_badges(
    client: AsyncTestClient[Litestar], evidence_site: EvidenceSite
) -> None:
    site = evidence_site.site
    await sign_in(client, "ward@example.org")
    page = await client.get(site.page("/queue?sort=risk"))
    assert page.status_code == 200, page.text
    titles = [html.unescape(t) for t in re.findall(r'<span class="title">([^<]+)</span>', page.text)]
    assert set(titles) == {site.titles[i] for i in site.households["19750"]}
    scores = [int(s) for s in re.findall(r'class="riskbadge risk-\w+"[^>]*>Rủi ro (\d+)<', page.text)]
    assert scores == sorted(scores, reverse=True)
    assert len(scores) == len(titles)  # the worker checked every household
    assert "rủi ro cao nhất trước" in page.text
    assert '<option value="risk" selected>' in page.text
    # The household page's "next" follows the same order.
    first = re.search(r'<a href="([^"]+/households/[^"]+)">\s*<span class="title">', page.text)
    assert first is not None
    household = await client.get(html.unescape(first.group(1)))
    following = re.search(r'<a class="next" href="([^"]+)"', household.text)
    assert following is not None
    assert "sort=risk" in following.group(1)


async def test_recording_the_stages_through_the_page(
    client: AsyncTestClient[Litestar], site: Site, resources: Resources
) -> None:
    instance = site.households["19750"][0]
    url = site.page(f"/households/{instance}")
    csrf = await sign_in(client, "ward@example.org")
    page = await client.get(url)
    assert "Ghi kết quả họp thôn" in page.text
    assert 'name="decision_number"' not in page.text  # no step past the meeting yet
    meeting = {
        "csrf": csrf,
        "step": "meeting",
        "meeting_date": str(TODAY - timedelta(days=6)),
        "agreement_percent": "66,7",
        "attendees": "41",
    }
    assert (await client.post(f"{url}/stages", data={**meeting, "csrf": "forged"})).status_code == 403
    done = await client.post(f"{url}/stages", data=meeting, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"].endswith("stepped=1#stages")
    shown = _text((await client.get(done.headers["location"])).text)
    assert "Đã ghi. Hộ hiện ở bước “Đã họp thôn”." in shown
    assert "Đã rà soát → Đã họp thôn" in shown
    assert "66,7 % đồng ý" in shown
    assert "41 người dự" in shown
    [row] = await fetch(resources, "select stage from submissions where instance_id = $1", instance)
    assert row["stage"] == "meeting"

    # A posting that starts before the meeting: refused, said in the reader's words, with the way back.
    early = {
        "csrf": csrf,
        "step": "posted",
        "posted_from": str(TODAY - timedelta(days=8)),
        "posted_until": str(TODAY - timedelta(days=3)),
        "complaints": "0",
    }
    refused = await client.post(f"{url}/stages", data=early)
    assert refused.status_code == 409
    meeting_day = (TODAY - timedelta(days=6)).strftime("%d/%m/%Y")
    assert f"Ngày bắt đầu niêm yết phải từ ngày họp thôn ({meeting_day}) trở đi." in refused.text
    assert f'href="{url}"' in refused.text
    # Complaints need a note: the page names the field as the form labels it.
    no_note = await client.post(
        f"{url}/stages", data={**early, "posted_from": str(TODAY - timedelta(days=5)), "complaints": "2"}
    )
    assert no_note.status_code == 400
    assert "Chưa điền “Ghi chú”." in no_note.text
    future = await client.post(f"{url}/stages", data={**meeting, "meeting_date": str(TODAY + timedelta(days=2))})
    assert "“Ngày họp” chưa đúng." in _text(future.text)
    posted = await client.post(
        f"{url}/stages", data={**early, "posted_from": str(TODAY - timedelta(days=5))}, follow_redirects=False
    )
    assert posted.status_code == 303
    # A supervisor may send it back but not record the commune's decision.
    page = await client.get(url)
    assert "Trả lại để rà soát lại" in page.text
    assert 'name="decision_number"' not in page.text
    assert "Chỉ cán bộ quản lý ghi quyết định công nhận của xã." in page.text

    # The manager records the decision; without the evidence approved first it is refused, readably.
    client.cookies.clear()
    csrf = await sign_in(client, "manager@example.org")
    decision = {
        "csrf": csrf,
        "step": "recognised",
        "decision_number": "12/QĐ-UBND",
        "decision_date": str(TODAY - timedelta(days=1)),
        "final_classification": "near_poor",
    }
    unapproved = await client.post(f"{url}/stages?lang=en", data=decision)
    assert unapproved.status_code == 409
    assert "The household's evidence must be approved before the commune's recognition is recorded." in _text(
        unapproved.text
    )
    await client.post(f"{url}/decision", data={"csrf": csrf, "decision": "approved"})
    assert (await client.post(f"{url}/stages", data=decision, follow_redirects=False)).status_code == 303
    final = _text((await client.get(url)).text)
    assert "Xã đã công nhận: kết quả là cuối cùng của đợt rà soát này." in final
    assert "Quyết định số 12/QĐ-UBND" in final
    assert "Phân loại cuối cùng Hộ cận nghèo" in final
    again = await client.post(f"{url}/stages", data={"csrf": csrf, "step": "re_review", "note": "x"})
    assert again.status_code == 409
    assert "kết quả là cuối cùng của đợt này" in again.text


async def test_a_viewer_sees_the_stages_without_forms(client: AsyncTestClient[Litestar], site: Site) -> None:
    await sign_in(client, "viewer@example.org")
    page = await client.get(site.page(f"/households/{site.households['19750'][0]}"))
    assert "Các bước xét duyệt" in page.text
    assert 'name="step"' not in page.text


async def test_the_queue_s_stage_filter_and_bulk_meeting(
    client: AsyncTestClient[Litestar], site: Site, resources: Resources
) -> None:
    csrf = await sign_in(client, "district@example.org")
    ticked = site.households["19750"][:2]
    done = await client.post(
        site.page("/stage-bulk?stage=surveyed"),
        data={
            "csrf": csrf,
            "instance": ticked,
            "stage_step": "meeting",
            "stage_meeting_date": str(TODAY - timedelta(days=2)),
            "stage_agreement_percent": "75",
            "decision": "approved",  # the bulk decision's own field, sent along by the shared form: ignored here
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    back = await client.get(done.headers["location"])
    assert "Đã ghi bước cho 2 hộ." in back.text
    met = await client.get(site.page("/queue?stage=meeting"))
    titles = {html.unescape(t) for t in re.findall(r'<span class="title">([^<]+)</span>', met.text)}
    assert titles == {site.titles[i] for i in ticked}
    assert '<input type="checkbox" name="stage" value="meeting" checked>' in met.text
    states = await fetch(resources, "select review_state from submissions where instance_id = any($1::text[])", ticked)
    assert [s["review_state"] for s in states] == [None, None]
    # All or nothing: one of them has had its meeting already.
    again = await client.post(
        site.page("/stage-bulk"),
        data={
            "csrf": csrf,
            "instance": [ticked[0], site.households["19753"][0]],
            "stage_step": "meeting",
            "stage_meeting_date": str(TODAY),
            "stage_agreement_percent": "90",
        },
    )
    assert again.status_code == 409
    assert "Hộ đang ở bước “Đã họp thôn”, nên chưa thể ghi bước này." in again.text
    [untouched] = await fetch(
        resources, "select stage from submissions where instance_id = $1", site.households["19753"][0]
    )
    assert untouched["stage"] == "surveyed"


async def test_an_exit_plan_on_the_household_page(
    client: AsyncTestClient[Litestar], site: Site, resources: Resources
) -> None:
    instance = site.households["19750"][1]
    manager = await access_to(resources, SYSTEM, site.project)
    await plans.set_plan(
        resources, manager, site.form, instance, PlanIn(owner_name="Trần Văn Bảo", pathway="livestock")
    )
    await plans.add_action(
        resources,
        manager,
        site.form,
        instance,
        ActionIn(support_type="credit", description="Vay 30 triệu nuôi bò", due_date=TODAY - timedelta(days=30)),
    )
    await plans.add_action(
        resources,
        manager,
        site.form,
        instance,
        ActionIn(
            support_type="training",
            description="Lớp kỹ thuật chăn nuôi",
            responsible="Trạm khuyến nông",
            due_date=TODAY + timedelta(days=30),
        ),
    )
    await plans.add_visit(
        resources, manager, site.form, instance, VisitIn(visit_date=TODAY, progress="behind", note="Chưa giải ngân")
    )
    await sign_in(client, "viewer@example.org")
    text = _text((await client.get(site.page(f"/households/{instance}"))).text)
    assert "Kế hoạch thoát nghèo" in text
    assert "Người phụ trách Trần Văn Bảo" in text
    assert "Hướng thoát nghèo Chăn nuôi" in text
    assert "1 hoạt động quá hạn" in text
    # Overdue first, marked; the visit with its progress; what the plan lacks.
    assert text.index("Vay 30 triệu nuôi bò") < text.index("Lớp kỹ thuật chăn nuôi")
    assert "Quá hạn" in text
    assert "Chậm tiến độ" in text
    assert "Chưa giải ngân" in text
    assert "Có hoạt động chưa rõ ai thực hiện" in text
    others = _text((await client.get(site.page(f"/households/{site.households['19750'][0]}"))).text)
    assert "Kế hoạch thoát nghèo" not in others
