"""'+1 h': one step, never past the site's most or the cluster's bound, refusals that say why."""

import pytest

from hpclab.hub.slurm_policy import TimeBound
from hpclab.hub.time_extension import ExtensionRefused, ExtensionRules, extended_limit

RULES = ExtensionRules(step_seconds=3600, most_seconds=12 * 3600)


def test_one_step_within_every_limit():
    assert extended_limit(RULES, 600, TimeBound(86400, "the cpu partition's MaxTime")) == 4200
    assert extended_limit(RULES, 600, TimeBound(None)) == 4200


@pytest.mark.parametrize(
    ("limit", "bound", "reason"),
    [
        (600, TimeBound(1800, "the dev QoS's MaxWall"), "past the dev QoS's MaxWall, 00:30:00 (the limit is 00:10:00)"),
        (11 * 3600 + 1, TimeBound(None), "past the site's most for a server, 12:00:00"),
        (
            7 * 3600 + 1800,
            TimeBound(8 * 3600, "your MaxWall in the climate account"),
            "your MaxWall in the climate account",
        ),
    ],
)
def test_a_step_past_a_limit_is_refused_with_it(limit, bound, reason):
    with pytest.raises(ExtensionRefused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        extended_limit(RULES, limit, bound)


def test_no_extension_where_the_site_offers_none_or_the_job_has_no_limit():
    with pytest.raises(ExtensionRefused, match="does not extend"):
        extended_limit(ExtensionRules(3600, 0), 600, TimeBound(None))
    with pytest.raises(ExtensionRefused, match="no time limit"):
        extended_limit(RULES, None, TimeBound(None))
