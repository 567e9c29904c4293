"""The review pages' pure parts: the location plot's geometry, and a form's labels read from its XForm."""

from __future__ import annotations

import math

from service.web.labels import parse_labels
from service.web.location import SIZE, distance_m, location_view, nice_length


def test_the_plot_shows_the_accuracy_circle_the_photo_points_and_a_round_scale() -> None:
    plain = location_view(16.4637, 107.5909, 6.5)
    assert plain.extent_m == 25.0  # small accuracies still get a readable plot
    assert plain.accuracy_radius is not None
    assert math.isclose(plain.accuracy_radius, 6.5 * (SIZE / 2 - 14) / 25.0, abs_tol=0.1)
    assert (plain.scale_label, plain.points) == ("10 m", [])

    # A photo taken ~111 m north: the plot grows to hold it, drawn straight above the house.
    far = location_view(16.4637, 107.5909, 30.0, [(16.4647, 107.5909, "Ảnh mái nhà")])
    [point] = far.points
    assert math.isclose(point.distance_m or 0, 110.6, abs_tol=0.5)
    assert point.x == far.centre
    assert 0 < point.y < far.centre
    assert far.scale_label == "50 m"
    assert far.scale_length < SIZE / 2
    assert math.isclose(distance_m(0, 0, 0, 1), 111_320, rel_tol=1e-6)
    assert [nice_length(x) for x in (0.7, 3, 7.5, 19, 250, 1400)] == [0.5, 2, 5, 10, 200, 1000]


def test_labels_come_from_itext_or_from_plain_labels() -> None:
    plain = b"""<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">
      <h:head><h:title>Plain</h:title><model><instance><data id="plain"><name/><pick/></data></instance></model>
      </h:head><h:body><input ref="/data/name"><label>Name</label></input>
      <select1 ref="/data/pick"><label>Pick</label><item><label>One</label><value>1</value></item></select1>
      </h:body></h:html>"""
    labels = parse_labels(plain)
    assert (labels.title, labels.root) == ("Plain", "data")
    assert labels.field("/data/name", "vi") == labels.field("/data/name", "en") == "Name"
    assert labels.choice("/data/pick", "1", "en") == "One"
    assert labels.order == {"/data/name": 0, "/data/pick": 1}
    assert parse_labels(b"<not xml").fields == {}


def test_the_summary_s_temporary_house_test_is_the_migration_s_index_predicate() -> None:
    """The partial index only serves the summary while both spell the same path (renumbering the file is fine)."""
    from pathlib import Path

    from service.review.reading_queries import TEMP_HOUSE_PATH

    migrations = Path(__file__).resolve().parents[2] / "migrations"
    [defining] = [p for p in migrations.glob("*.sql") if "submission_versions_temp_house_idx" in p.read_text()]
    assert f"where answers @? {TEMP_HOUSE_PATH};" in defining.read_text()
