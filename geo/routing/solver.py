"""The planner: OR-Tools' routing solver on the prize-collecting VRP with time windows.

- **Time dimension** in minutes from the shift's start: a stop's transit is its dwell plus the
  travel on; slack up to the whole shift lets a team wait for a window; every team leaves the
  base no earlier than the start and is back by the end.
- **Disjunctions**: each stop may be dropped at the cost of its value (in millionths, far
  above any travel), a required call at a cost above all values together; the arc cost is the
  travel time, so among plans covering as much, the shorter wins.
- **Revisits**: the visits to one place (one stop per band) keep ``dwell + gap`` apart when
  both are made, a side constraint on the time dimension.
- **Search**: from the greedy baseline's plan, guided local search for ``seconds`` (less for a
  night of fewer than :data:`FULL_SEARCH_STOPS` stops). The plan returned is never worse than
  the baseline's.
"""

from __future__ import annotations

import time

from geo.routing.greedy import REQUIRED_PENALTY, greedy
from geo.routing.problem import Matrix, Plan, Problem
from geo.routing.schedule import make_plan, schedule, worth

VALUE_SCALE = 1_000_000  # a stop's penalty: its value in millionths
FULL_SEARCH_STOPS = 20  # from this many reachable stops on, the search takes all its time


def plan(problem: Problem, *, seconds: float = 3.0) -> Plan:
    """Return the teams' routes covering the most value the shift allows."""
    started = time.perf_counter()
    m = Matrix(problem)  # the travel times, asked of the TravelTimes once
    baseline = greedy(problem, m)
    candidates = [i for i in range(len(problem.stops)) if m.reachable(i)]
    routes, notes = baseline.routes, []
    if candidates:
        model = _Model(problem, m, candidates)
        # a night of a few stops is solved in moments: search it for proportionally less
        limit = seconds * min(1.0, len(candidates) / FULL_SEARCH_STOPS)
        solution = model.solve(baseline, limit)
        if solution is None:
            notes.append("the solver found no plan in its time: this is the greedy baseline's")
        else:
            found = schedule(problem, solution, m)
            if worth(found) >= worth(baseline.routes):
                routes = found
    elapsed = time.perf_counter() - started
    return make_plan(
        problem,
        m,
        routes,
        method="planner",
        seconds=elapsed,
        notes=notes,
        baseline=baseline.value,
    )


class _Model:
    """The routing model over the reachable stops (node 0 is the base)."""

    def __init__(self, problem: Problem, m: Matrix, candidates: list[int]) -> None:
        from ortools.constraint_solver import pywrapcp

        self.problem, self.candidates = problem, candidates
        self.node_of = {i: n for n, i in enumerate(candidates, start=1)}
        nodes = [0, *(i + 1 for i in candidates)]
        self.manager = pywrapcp.RoutingIndexManager(len(nodes), problem.teams, 0)
        self.routing = pywrapcp.RoutingModel(self.manager)
        travel = [[int(m.minutes[a, b]) for b in nodes] for a in nodes]
        transit = [[(problem.dwell if a else 0) + t for t in row] for a, row in enumerate(travel)]
        r = self.routing
        # matrices, not Python callbacks: the solver asks for arcs millions of times
        r.SetArcCostEvaluatorOfAllVehicles(r.RegisterTransitMatrix(travel))
        r.AddDimension(
            r.RegisterTransitMatrix(transit), problem.shift, problem.shift, False, "time"
        )
        self.clock = r.GetDimensionOrDie("time")
        self._windows_and_prizes()
        self._revisit_gaps()

    def _windows_and_prizes(self) -> None:
        p, r = self.problem, self.routing
        for i, node in self.node_of.items():
            s = p.stops[i]
            index = self.manager.NodeToIndex(node)
            self.clock.CumulVar(index).SetRange(s.opens, s.closes - p.dwell)
            penalty = REQUIRED_PENALTY if s.required else max(1, round(s.value * VALUE_SCALE))
            r.AddDisjunction([index], penalty)
        for team in range(p.teams):
            self.clock.CumulVar(r.Start(team)).SetRange(0, p.shift)
            r.AddVariableMinimizedByFinalizer(self.clock.CumulVar(r.Start(team)))
            r.AddVariableMinimizedByFinalizer(self.clock.CumulVar(r.End(team)))

    def _revisit_gaps(self) -> None:
        p, r = self.problem, self.routing
        big = p.shift + p.dwell + p.gap
        for a, b in p.same_place:
            if a in self.node_of and b in self.node_of:
                ia = self.manager.NodeToIndex(self.node_of[a])
                ib = self.manager.NodeToIndex(self.node_of[b])
                both = r.ActiveVar(ia) + r.ActiveVar(ib)
                r.solver().Add(
                    self.clock.CumulVar(ib) - self.clock.CumulVar(ia) + big * (2 - both)
                    >= p.dwell + p.gap
                )

    def solve(self, start: Plan, seconds: float) -> list[list[int]] | None:
        """Search from ``start``'s routes for ``seconds``; the teams' orders (stop indices)."""
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2

        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
        params.local_search_metaheuristic = (
            routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        )
        params.time_limit.FromMilliseconds(max(100, int(seconds * 1000)))
        position = {s.key: i for i, s in enumerate(self.problem.stops)}
        hint = [
            [self.manager.NodeToIndex(self.node_of[position[v.stop.key]]) for v in route.visits]
            for route in start.routes
        ]
        r = self.routing
        initial = r.ReadAssignmentFromRoutes(hint, True)
        if initial is not None:
            solution = r.SolveFromAssignmentWithParameters(initial, params)
        else:
            solution = r.SolveWithParameters(params)
        if solution is None:
            return None
        orders = []
        for team in range(self.problem.teams):
            order, index = [], solution.Value(r.NextVar(r.Start(team)))
            while not r.IsEnd(index):
                order.append(self.candidates[self.manager.IndexToNode(index) - 1])
                index = solution.Value(r.NextVar(index))
            orders.append(order)
        return orders
