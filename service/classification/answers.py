"""Reading a household's answers by field name, whatever groups the form puts them in.

The answers have the shape ingest stores (service/submissions/xml.py `extract_answers`): groups are nested dicts,
repeats are lists of dicts, values are typed by the form's binds (int, float, str, a list of str for select_multiple),
and a relevant question left empty is None while a non-relevant one is absent. Fields are found by name rather than
by path so that moving a question to another group does not change what the rules read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .models import Missing

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .models import MissingReason

__all__ = ["DONT_KNOW", "HouseholdAnswers", "MemberAnswers", "Notes"]

# The example form's "don't know" choice (yes_no_dk).
DONT_KNOW = "dk"
# The roster: the repeat of this name, or failing that the first repeat whose members have an age.
_ROSTER = "members"
_MEMBER_AGE = "m_age"


class Notes:
    """Collects the answers a rule missed, under what they were needed for."""

    def __init__(self, needed_for: str) -> None:
        self.needed_for = needed_for
        self.missing: list[Missing] = []

    def add(self, answer: str, reason: MissingReason) -> None:
        self.missing.append(Missing(answer=answer, reason=reason, needed_for=self.needed_for))


class _Values:
    def __init__(self, values: Mapping[str, Any], label: str) -> None:
        self._values = values
        self._label = label

    def asked(self, name: str) -> bool:
        """The question was relevant (answered or left empty); a non-relevant one is absent from the answers."""
        return name in self._values

    def label(self, name: str) -> str:
        return f"{self._label}{name}"

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is None or isinstance(value, dict | list):
            return None
        text = str(value).strip()
        return text or None

    def number(self, name: str) -> int | float | None:
        """A number, also from text (a calculate is bound as a string), never from a bool."""
        value = self._values.get(name)
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return value
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                try:
                    return float(value)
                except ValueError:
                    return None
        return None

    def integer(self, name: str) -> int | None:
        value = self.number(name)
        return int(value) if isinstance(value, int) or (isinstance(value, float) and value.is_integer()) else None

    def choices(self, name: str) -> list[str] | None:
        """A select_multiple's choice names; None when unanswered."""
        value = self._values.get(name)
        if isinstance(value, list):
            return [str(v) for v in value] or None
        if isinstance(value, str) and value.strip():
            return value.split()
        return None

    def known(self, name: str, notes: Notes) -> str | None:
        """A select_one's choice, noting it as missing when empty or "don't know"."""
        value = self.text(name)
        if value is None:
            notes.add(self.label(name), "unanswered")
        elif value == DONT_KNOW:
            notes.add(self.label(name), "dont_know")
            return None
        return value


class MemberAnswers(_Values):
    """One member of the roster; `position` is 1-based, as the phone numbers members."""

    def __init__(self, values: Mapping[str, Any], position: int) -> None:
        super().__init__(values, f"{_ROSTER}[{position}].")
        self.position = position
        self.age = self.integer("m_age")
        self.sex = self.text("m_sex")


class HouseholdAnswers(_Values):
    def __init__(self, answers: Mapping[str, Any]) -> None:
        flat: dict[str, Any] = {}
        rosters: dict[str, list[Mapping[str, Any]]] = {}
        _flatten(answers, flat, rosters)
        super().__init__(flat, "")
        roster = rosters.get(_ROSTER)
        if roster is None:
            roster = next((r for r in rosters.values() if any(_MEMBER_AGE in m for m in r)), [])
        self.members = [MemberAnswers(values, i) for i, values in enumerate(roster, start=1)]

    def size(self) -> int | None:
        """The household size: the answer, else the roster's length (the form's repeat_count is the size)."""
        size = self.integer("hh_size")
        if size is not None and size > 0:
            return size
        return len(self.members) or None


def _flatten(node: Mapping[str, Any], flat: dict[str, Any], rosters: dict[str, list[Mapping[str, Any]]]) -> None:
    """Every answer outside repeats by name (the first of a name wins), and every repeat by name."""
    for name, value in node.items():
        if isinstance(value, dict):
            _flatten(value, flat, rosters)
        elif isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            rosters.setdefault(name, value)
        else:
            flat.setdefault(name, value)
