"""Every visible string of the review site exists in Vietnamese and English, and the templates hold none themselves:
text, labels and accessible names all come from service/web/i18n.py through t(...)."""

from __future__ import annotations

import re
import string
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from service.review.service import MAX_BULK
from service.stages.models import STAGES
from service.web.i18n import MESSAGES, Translator, negotiate
from service.web.models import QUEUE_STATES
from service.web.plan_views import PLAN_LABELS

WEB = Path(__file__).resolve().parents[2] / "service" / "web"
TEMPLATES = sorted((WEB / "templates").glob("*.html"))
_CALL = re.compile(r"""\b(?:t|translator)\(\s*["'](\w+\.\w+)["']""")
_LITERAL = re.compile(r"""["'](\w+\.\w+)["']""")
_ATTRIBUTES = re.compile(r"""\b(?:aria-label|title|alt|placeholder|label|data-reason-needed|data-label)="([^"]*)\"""")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


def _sources() -> list[str]:
    return [path.read_text(encoding="utf-8") for path in [*TEMPLATES, *WEB.glob("*.py")]]


def _used_keys() -> set[str]:
    """Keys passed to t(...) (or the translator) directly."""
    return {key for source in _sources() for key in _CALL.findall(source)}


def _mentioned_keys() -> set[str]:
    """Every "group.name" literal in the site's code and templates (some keys are passed around first)."""
    return {key for source in _sources() for key in _LITERAL.findall(source)}


def test_every_message_is_in_both_languages_with_the_same_placeholders() -> None:
    fields = string.Formatter()
    for key, (vi, en) in MESSAGES.items():
        assert vi.strip(), key
        assert en.strip(), key
        assert {f for _, f, _, _ in fields.parse(vi) if f} == {f for _, f, _, _ in fields.parse(en) if f}, key


def _built_keys() -> set[str]:
    """Keys the pages build from a coded value ("state." ~ state): one per value the service knows."""
    built = {f"state.{s}" for s in (*QUEUE_STATES, "all")} | {f"stage.{s}" for s in STAGES}
    built |= {f"{group}.{code}" for group, codes in PLAN_LABELS.items() for code in codes}
    return built


def test_every_key_the_pages_use_exists_and_every_message_is_used() -> None:
    used = _used_keys()
    assert used - set(MESSAGES) == set()
    assert _built_keys() - set(MESSAGES) == set()
    built = _built_keys() | {k for k in MESSAGES if k.startswith(("error.", "class."))}
    unused = set(MESSAGES) - _mentioned_keys() - built
    assert unused == set()


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda path: path.name)
def test_templates_hold_no_text_of_their_own(template: Path) -> None:
    source = template.read_text(encoding="utf-8")
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.S)
    for value in _ATTRIBUTES.findall(source):
        literal = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", value)
        assert not _LETTER.search(literal), f"{template.name}: attribute text {value!r} is not translated"
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", source, flags=re.S)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text, flags=re.S)
    leftovers = [word for word in text.split() if _LETTER.search(word)]
    assert leftovers == [], f"{template.name} shows untranslated text: {leftovers}"


def test_the_language_is_the_query_s_then_the_cookie_s_then_the_browser_s() -> None:
    assert negotiate("en", "vi", "vi") == "en"
    assert negotiate(None, "en", "vi") == "en"
    assert negotiate("fr", None, "en-US,en;q=0.9") == "en"
    assert negotiate(None, None, "de, en;q=0.5, vi;q=0.9") == "vi"
    assert negotiate(None, None, "en;q=bogus, vi;q=0.1") == "vi"
    assert negotiate(None, None, None) == "vi"


def test_numbers_and_times_as_each_language_writes_them() -> None:
    from datetime import UTC, datetime

    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    vi, en = Translator("vi", zone), Translator("en", zone)
    assert (vi.number(1234567.5, 1), en.number(1234567.5, 1)) == ("1.234.567,5", "1,234,567.5")
    assert vi.number(MAX_BULK) == "5.000"
    moment = datetime(2023, 10, 2, 1, 30, tzinfo=UTC)
    assert (vi.when(moment), en.when(moment)) == ("02/10/2023 08:30", "02 Oct 2023 08:30")
    assert vi.pick("Phường Tây Lộc", "Tay Loc Ward") == "Phường Tây Lộc"
    assert en.pick("Phường Tây Lộc", None) == "Phường Tây Lộc"
