"""Tonight's route: which stops an outreach team makes, in what order and when.

A **prize-collecting vehicle-routing problem with time windows**: teams (the vehicles) leave a
base and come back within the shift; each candidate stop is worth a value and may be visited
only inside its window; a visit lasts ``dwell`` minutes; a stop the teams have no time for is
dropped at the cost of its value. A place worth visiting in two bands of the night is two stops
(repeat visits as duplicated nodes), kept ``gap`` minutes apart.

- :mod:`geo.routing.problem`: the problem and the plan's types;
- :mod:`geo.routing.travel`: travel times (a straight-line estimate; a road network fits the
  same interface);
- :mod:`geo.routing.greedy`: the baseline, next best value per minute;
- :mod:`geo.routing.solver`: the planner (OR-Tools), never worse than the baseline;
- :mod:`geo.routing.schedule`: times for an order, the rule check, why stops are left out.

Everything here is pure and knows nothing of records: the stops are what the caller hands over
(streetsafe.route builds them from the outreach role's gated forecast, never finer).
"""

from geo.routing.greedy import greedy
from geo.routing.problem import Base, LeftOut, Plan, Problem, Stop, TeamRoute, Visit
from geo.routing.schedule import schedule, violations
from geo.routing.solver import plan
from geo.routing.travel import StraightLine, TravelTimes, haversine_m

__all__ = [
    "Base",
    "LeftOut",
    "Plan",
    "Problem",
    "Stop",
    "StraightLine",
    "TeamRoute",
    "TravelTimes",
    "Visit",
    "greedy",
    "haversine_m",
    "plan",
    "schedule",
    "violations",
]
