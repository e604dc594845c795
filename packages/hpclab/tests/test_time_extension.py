"""'+1 h': one step, never past the site's most or the cluster's bound, refusals that say why."""

import re
from datetime import datetime

import pytest

from hpclab.hub.slurm_policy import Reservation, TimeBound
from hpclab.hub.time_extension import ExtensionRefused, ExtensionRules, extended_limit, reservation_in_the_way

RULES = ExtensionRules(step_seconds=3600, most_seconds=12 * 3600)


def test_one_step_within_every_limit():
    assert extended_limit(RULES, 600, TimeBound(86400, "the cpu partition's MaxTime")) == 4200
    assert extended_limit(RULES, 600, TimeBound(None)) == 4200


@pytest.mark.parametrize(
    ("limit", "bound", "reason"),
    [
        (
            600,
            TimeBound(1800, "the dev QoS's MaxWall"),
            "past the dev QoS's MaxWall, 00:30:00 (the limit is 00:10:00: at most 00:20:00 more)",
        ),
        (11 * 3600 + 1, TimeBound(None), "past this site's most for '+1 h', 12:00:00"),
        (
            7 * 3600 + 1800,
            TimeBound(8 * 3600, "your MaxWall in the climate account"),
            "your MaxWall in the climate account",
        ),
    ],
)
def test_a_step_past_a_limit_is_refused_with_it(limit, bound, reason):
    with pytest.raises(ExtensionRefused, match=re.escape(reason)):
        extended_limit(RULES, limit, bound)


def test_no_extension_where_the_site_offers_none_or_the_job_has_no_limit():
    with pytest.raises(ExtensionRefused, match="does not extend"):
        extended_limit(ExtensionRules(3600, 0), 600, TimeBound(None))
    with pytest.raises(ExtensionRefused, match="no time limit"):
        extended_limit(RULES, None, TimeBound(None))


def reservation(name="training", nodes="cn2", start="2026-12-08T20:00:00", end="2026-12-08T23:00:00"):
    return Reservation(name, start, end, "", nodes, frozenset({"bob"}), frozenset())


NOW = datetime(2026, 12, 8, 18, 0)


def test_a_new_end_that_runs_into_a_reservation_on_the_jobs_node_is_refused():
    refusal = reservation_in_the_way([reservation()], "cn2", "", NOW, datetime(2026, 12, 8, 20, 30))
    assert (
        refusal
        == "the job's node cn2 is reserved for 'training' from 2026-12-08 20:00:00, before the new end 2026-12-08 20:30"
    )
    # Maintenance of every node, or node lists this cannot read: refused too.
    assert reservation_in_the_way([reservation(nodes="ALL")], "cn1", "", NOW, datetime(2026, 12, 8, 21, 0))
    assert reservation_in_the_way([reservation(nodes="cn[x]")], "cn1", "", NOW, datetime(2026, 12, 8, 21, 0))


def test_reservations_elsewhere_later_or_of_the_job_itself_are_no_obstacle():
    later = datetime(2026, 12, 8, 19, 59)
    assert reservation_in_the_way([reservation()], "cn2", "", NOW, later) == ""
    assert reservation_in_the_way([reservation(nodes="cn[3-4]")], "cn2", "", NOW, datetime(2026, 12, 9)) == ""
    assert reservation_in_the_way([reservation()], "cn2", "training", NOW, datetime(2026, 12, 9)) == ""
    over = reservation(start="2026-12-08T10:00:00", end="2026-12-08T12:00:00")
    assert reservation_in_the_way([over], "cn2", "", NOW, datetime(2026, 12, 9)) == ""
