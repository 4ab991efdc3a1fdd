#!/usr/bin/env python3
"""A CP-SAT oracle for the seasonal-allocation optimiser: solves an allocation model with
Google OR-Tools' CP-SAT, or checks a solution against the model, independently of the Rust code.

    allocation_cpsat.py MODEL.json [--time-limit SECONDS] [--workers N] [--hint SOLUTION.json]
    allocation_cpsat.py MODEL.json --check SOLUTION.json

Runs in the venv that scripts/ortools-tools.sh makes (--check needs only the standard library).

The model ("registry-allocation-model/1"):

    {"format": "registry-allocation-model/1",
     "demands": [{"id": "d1", "team": "t1", "association": "a1", "durationMinutes": 90,
                  "candidates": [{"unit": "u1", "day": 1, "start": 1080, "value": 1000},
                                 ...]},
                 ...],
     "associationCaps": [{"association": "a1", "minutes": 600}, ...],
     "oneSessionPerTeamPerDay": true}

`day` is the ISO weekday 1..7, `start` minutes since midnight (0..1439), `value` an integer >= 1.
Each demand gets at most one of its candidates, or none. On one unit and day, the chosen sessions
[start, start + durationMinutes) of different demands do not overlap (end == start touches, which
is fine). With oneSessionPerTeamPerDay, a team has at most one chosen session a day. An
association with a cap has at most `minutes` of chosen sessions in all (over every day). The
objective is the largest sum of chosen values. Every key above is required and no other is
allowed (a misspelt key would otherwise be silently ignored); demand ids are unique, and so are
the associations in associationCaps. Team and association ids are compared as plain strings.

Solving (the default) prints one JSON object on stdout:

    {"status": "OPTIMAL" | "FEASIBLE" | "INFEASIBLE" | "UNKNOWN" | "MODEL_INVALID",
     "objective": int | null, "bound": int | null,
     "wallSeconds": float, "modelSeconds": float,
     "assignments": {"demandId": candidateIndex, ...}}

`objective` is the best solution's value (null without one), `bound` CP-SAT's proven upper bound
on the optimum (null when it has none), `wallSeconds` CP-SAT's own wall time, `modelSeconds` the
time to build the CP-SAT model (and its hint) from the parsed JSON, `assignments` the best
solution's chosen candidate of each assigned demand (an index into that demand's candidates;
unassigned demands are absent). Reading and parsing the JSON (about 1 s at city scale) and
starting Python count in neither.
CP-SAT runs with random_seed 0 and the given number of workers; with one worker and no time-out
a run is reproducible, with more workers or a time limit the solution found may vary.

--hint SOLUTION.json (the format --check reads) gives CP-SAT a starting solution, for instance
the Rust allocator's: CP-SAT then reports it (or better) as soon as its presolve is done, and the
bound tells how far it can be from the optimum. On a city-scale model CP-SAT's own first solutions
are far worse than a simple greedy's (see SOLVER_PARAMETERS below). An unknown demand id or an
out-of-range index in a hint is malformed input; an infeasible hint is allowed (CP-SAT only
starts from it).

--check SOLUTION.json solves nothing: it reads {"assignments": {"demandId": candidateIndex}}
(other top-level keys are ignored, so the solver's own output can be checked; an index of null
means unassigned) and verifies it against every rule above, in plain Python, then prints

    {"feasible": bool, "objective": int, "violations": ["...", ...]}

An unknown demand id or an out-of-range index is a violation (and adds nothing to `objective`,
the sum of the values of the assigned candidates).

Exits 0 in both modes, whatever the status or verdict; 2 with a message on stderr when a file is
missing or malformed, on bad usage, or when solving without OR-Tools importable.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, NoReturn

FORMAT = "registry-allocation-model/1"

# How the no-overlap rule of each (unit, day) is given to CP-SAT (--overlap, hidden, for measuring):
#  "cliques":    AtMostOne over the candidates covering each start point of the (unit, day) (the
#                maximal cliques of an interval graph are at start points; dominated ones are left
#                out). The default: it is the faster.
#  "no-overlap": one optional fixed-size interval per candidate, AddNoOverlap per (unit, day).
# Measured on a random city-scale model (6,000 demands, 210,000 candidates, 250 units, days 1..5,
# starts 16:00-21:00, 2 workers, on the 2-core machine). The Python build takes 3-4 s either way.
# With CP-SAT's default parameters presolve took 13 s with "cliques" and 34 s with "no-overlap";
# at 90 s "cliques" had 3.25 M under a bound of 4.99 M, "no-overlap" 3.28 M under 17.3 M. With
# SOLVER_PARAMETERS below, at 10 s "cliques" had a bound of 5.8 M and "no-overlap" none yet (no
# solution, UNKNOWN); at 60 s they were close (3.23 M under 4.83 M against 3.28 M under 4.95 M).
# On a 1,000-demand model "no-overlap" found nothing in 10 s with the default parameters.
OVERLAP_ENCODINGS = ("cliques", "no-overlap")

# CP-SAT parameters besides the time limit, workers and seed, chosen on the same city-scale model
# (2 workers). With CP-SAT's defaults a 10 s limit ends inside presolve (status UNKNOWN, nothing
# found); with a longer one presolve takes 13 s, and the root LP, which adds the 30,000
# at-most-one rows lazily, needs about 45 s before its bound is better than the trivial sum of
# all values (142 M). Lighter presolve starts the search at about 4 s, and putting every
# constraint in the LP at once gives a bound of 5.8 M within 10 s (4.8 M after 60 s). CP-SAT's
# own solutions stay weak at this size on 2 cores: without a hint it had only the empty solution
# at 10 s and 3.2-3.4 M at 60 s, while a value-per-minute greedy finds 4.26 M in about a second
# (hence --hint: from that greedy's solution CP-SAT reached 4.26 M under 4.80 M in 60 s). Small
# models (a few hundred demands) give the same results as with the defaults.
SOLVER_PARAMETERS = {
    "cp_model_probing_level": 0,
    "symmetry_level": 0,
    "max_presolve_iterations": 1,
    "add_lp_constraints_lazily": False,
}


class Malformed(Exception):
    """The input is not a valid model or solution file (exit 2)."""


@dataclass(frozen=True)
class Candidate:
    unit: str
    day: int
    start: int
    value: int


@dataclass(frozen=True)
class Demand:
    id: str
    team: str
    association: str
    duration: int
    candidates: tuple[Candidate, ...]


@dataclass(frozen=True)
class Model:
    demands: tuple[Demand, ...]
    caps: dict[str, int]
    one_session_per_team_per_day: bool


def fail(message: str) -> NoReturn:
    print(f"allocation_cpsat: {message}", file=sys.stderr)
    sys.exit(2)


def read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise Malformed(f"cannot read the {what} {path}: {e.strerror}") from e
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise Malformed(f"the {what} {path} is not JSON: {e}") from e


def _obj(value: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{where}: expected an object")
    missing = sorted(keys - value.keys())
    if missing:
        raise Malformed(f"{where}: missing {', '.join(missing)}")
    extra = sorted(value.keys() - keys)
    if extra:
        raise Malformed(f"{where}: unknown key(s) {', '.join(extra)}")
    return value


def _int(value: Any, where: str, low: int, high: int | None = None) -> int:
    # bool is an int in Python; JSON true is not a number here.
    if not isinstance(value, int) or isinstance(value, bool):
        raise Malformed(f"{where}: expected an integer, got {json.dumps(value)}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in {low}..{high}"
        raise Malformed(f"{where}: {value} is not {bounds}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise Malformed(f"{where}: expected a string, got {json.dumps(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise Malformed(f"{where}: expected an array")
    return value


def parse_model(raw: Any) -> Model:
    top = _obj(raw, "model", {"format", "demands", "associationCaps", "oneSessionPerTeamPerDay"})
    if top["format"] != FORMAT:
        raise Malformed(f"model: format is {json.dumps(top['format'])}, expected {FORMAT!r}")
    demands: list[Demand] = []
    seen: set[str] = set()
    for i, d in enumerate(_list(top["demands"], "demands")):
        where = f"demands[{i}]"
        d = _obj(d, where, {"id", "team", "association", "durationMinutes", "candidates"})
        did = _str(d["id"], f"{where}.id")
        if did in seen:
            raise Malformed(f"{where}: duplicate demand id {did!r}")
        seen.add(did)
        candidates = []
        for j, c in enumerate(_list(d["candidates"], f"{where}.candidates")):
            cw = f"{where}.candidates[{j}]"
            c = _obj(c, cw, {"unit", "day", "start", "value"})
            candidates.append(
                Candidate(
                    unit=_str(c["unit"], f"{cw}.unit"),
                    day=_int(c["day"], f"{cw}.day", 1, 7),
                    start=_int(c["start"], f"{cw}.start", 0, 1439),
                    value=_int(c["value"], f"{cw}.value", 1),
                )
            )
        demands.append(
            Demand(
                id=did,
                team=_str(d["team"], f"{where}.team"),
                association=_str(d["association"], f"{where}.association"),
                duration=_int(d["durationMinutes"], f"{where}.durationMinutes", 1),
                candidates=tuple(candidates),
            )
        )
    caps: dict[str, int] = {}
    for i, cap in enumerate(_list(top["associationCaps"], "associationCaps")):
        where = f"associationCaps[{i}]"
        cap = _obj(cap, where, {"association", "minutes"})
        name = _str(cap["association"], f"{where}.association")
        if name in caps:
            raise Malformed(f"{where}: a second cap for association {name!r}")
        caps[name] = _int(cap["minutes"], f"{where}.minutes", 0)
    one = top["oneSessionPerTeamPerDay"]
    if not isinstance(one, bool):
        raise Malformed("oneSessionPerTeamPerDay: expected true or false")
    return Model(tuple(demands), caps, one)


# --- solving ---------------------------------------------------------------------------------


def import_cp_model():
    try:
        from ortools.sat.python import cp_model
    except ImportError as e:
        fail(f"cannot import OR-Tools ({e}): run this in the venv scripts/ortools-tools.sh makes")
    return cp_model


def build(model: Model, overlap: str):
    """The CP-SAT model, and per demand the list of its candidates' Boolean variables."""
    cp_model = import_cp_model()

    cp = cp_model.CpModel()
    xs: list[list[Any]] = []
    # (unit, day) -> [(start, end, var)]; (team, day) -> [var]; association -> [(minutes, vars)]
    by_unit_day: dict[tuple[str, int], list[tuple[int, int, Any]]] = defaultdict(list)
    by_team_day: dict[tuple[str, int], list[Any]] = defaultdict(list)
    by_association: dict[str, list[tuple[int, list[Any]]]] = defaultdict(list)
    obj_vars: list[Any] = []
    obj_coeffs: list[int] = []
    for di, d in enumerate(model.demands):
        vs = []
        for ci, c in enumerate(d.candidates):
            v = cp.new_bool_var(f"x{di}_{ci}")
            vs.append(v)
            by_unit_day[(c.unit, c.day)].append((c.start, c.start + d.duration, v))
            if model.one_session_per_team_per_day:
                by_team_day[(d.team, c.day)].append(v)
            obj_vars.append(v)
            obj_coeffs.append(c.value)
        xs.append(vs)
        if len(vs) > 1:
            cp.add_at_most_one(vs)
        if d.association in model.caps:
            by_association[d.association].append((d.duration, vs))

    for sessions in by_unit_day.values():
        if len(sessions) < 2:
            continue
        if overlap == "no-overlap":
            intervals = [
                cp.new_optional_fixed_size_interval_var(start, end - start, v, "")
                for start, end, v in sessions
            ]
            cp.add_no_overlap(intervals)
        else:
            for clique in start_point_cliques(sessions):
                cp.add_at_most_one(clique)

    for vs in by_team_day.values():
        if len(vs) > 1:
            cp.add_at_most_one(vs)

    for association, cap in model.caps.items():
        terms_vars: list[Any] = []
        terms_coeffs: list[int] = []
        for duration, vs in by_association[association]:
            terms_vars.extend(vs)
            terms_coeffs.extend([duration] * len(vs))
        # At most one candidate of a demand is chosen, so the cap binds only when the demands'
        # durations add up to more than it.
        if sum(duration for duration, _ in by_association[association]) > cap:
            cp.add(cp_model.LinearExpr.weighted_sum(terms_vars, terms_coeffs) <= cap)

    cp.maximize(cp_model.LinearExpr.weighted_sum(obj_vars, obj_coeffs))
    return cp, xs


def start_point_cliques(sessions: list[tuple[int, int, Any]]) -> list[list[Any]]:
    """The maximal sets of sessions [start, end) of one unit and day that share a minute.

    In an interval graph every maximal clique is the set of intervals covering some start point.
    The clique at start point p is left out when the one at the next start point p' contains it,
    which is when no interval covering p ends at or before p'.
    """
    starts = sorted({s for s, _, _ in sessions})
    by_start: dict[int, list[tuple[int, Any]]] = defaultdict(list)
    for s, e, v in sessions:
        by_start[s].append((e, v))
    cliques = []
    active: list[tuple[int, Any]] = []  # (end, var) of sessions started at or before p
    for k, p in enumerate(starts):
        active = [(e, v) for e, v in active if e > p]
        active.extend(by_start[p])
        nxt = starts[k + 1] if k + 1 < len(starts) else None
        if nxt is None or any(e <= nxt for e, _ in active):
            if len(active) > 1:
                cliques.append([v for _, v in active])
    return cliques


def hint_indices(model: Model, assignments: dict[str, int | None]) -> dict[str, int]:
    """A hint's chosen candidate per demand id; a hint that does not fit the model is malformed."""
    demands = {d.id: d for d in model.demands}
    out = {}
    for did, index in assignments.items():
        if index is None:
            continue
        d = demands.get(did)
        if d is None:
            raise Malformed(f"hint: unknown demand {did!r}")
        if not 0 <= index < len(d.candidates):
            raise Malformed(f"hint: demand {did!r} has no candidate {index}")
        out[did] = index
    return out


def solve(
    model: Model,
    time_limit: float,
    workers: int,
    overlap: str,
    hint: dict[str, int] | None = None,
) -> dict[str, Any]:
    cp_model = import_cp_model()

    began = time.perf_counter()
    cp, xs = build(model, overlap)
    if hint is not None:
        # A complete hint (every variable), so CP-SAT can take it as a solution outright.
        for d, vs in zip(model.demands, xs):
            chosen = hint.get(d.id)
            for ci, v in enumerate(vs):
                cp.add_hint(v, ci == chosen)
    model_seconds = time.perf_counter() - began

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = 0
    for name, value in SOLVER_PARAMETERS.items():
        setattr(solver.parameters, name, value)
    status = solver.solve(cp)
    name = solver.status_name(status)

    has_solution = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    assignments: dict[str, int] = {}
    objective = None
    bound = None
    if has_solution:
        objective = round(solver.objective_value)
        for d, vs in zip(model.demands, xs):
            for ci, v in enumerate(vs):
                if solver.boolean_value(v):
                    assignments[d.id] = ci
                    break
    # When the time runs out before the search starts (in presolve), CP-SAT reports UNKNOWN with
    # a best bound of 0, which bounds nothing: no search means no bound.
    searched = has_solution or solver.num_booleans > 0
    if status != cp_model.INFEASIBLE and searched:
        b = solver.best_objective_bound
        if b == b and abs(b) != float("inf"):
            bound = round(b)
    return {
        "status": name,
        "objective": objective,
        "bound": bound,
        "wallSeconds": round(solver.wall_time, 3),
        "modelSeconds": round(model_seconds, 3),
        "assignments": assignments,
    }


# --- checking --------------------------------------------------------------------------------


def parse_solution(raw: Any, what: str) -> dict[str, int | None]:
    if not isinstance(raw, dict) or "assignments" not in raw:
        raise Malformed(f'{what}: expected an object with "assignments"')
    assignments = raw["assignments"]
    if not isinstance(assignments, dict):
        raise Malformed(f"{what}: assignments is not an object")
    out: dict[str, int | None] = {}
    for did, index in assignments.items():
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            raise Malformed(f"{what}: assignments[{did!r}] is {json.dumps(index)}, not an index")
        out[did] = index
    return out


def check(model: Model, assignments: dict[str, int | None]) -> dict[str, Any]:
    violations: list[str] = []
    demands = {d.id: d for d in model.demands}
    chosen: list[tuple[Demand, int, Candidate]] = []
    for did, index in assignments.items():
        if index is None:
            continue
        d = demands.get(did)
        if d is None:
            violations.append(f"unknown demand {did!r}")
        elif not 0 <= index < len(d.candidates):
            violations.append(
                f"demand {did!r}: candidate index {index} is out of range "
                f"(it has {len(d.candidates)})"
            )
        else:
            chosen.append((d, index, d.candidates[index]))
    objective = sum(c.value for _, _, c in chosen)

    def session(d: Demand, i: int, c: Candidate) -> str:
        return (
            f"demand {d.id!r} (candidate {i}: {c.start // 60:02d}:{c.start % 60:02d}"
            f"-{(c.start + d.duration) // 60:02d}:{(c.start + d.duration) % 60:02d})"
        )

    by_unit_day: dict[tuple[str, int], list[tuple[Demand, int, Candidate]]] = defaultdict(list)
    for d, i, c in chosen:
        by_unit_day[(c.unit, c.day)].append((d, i, c))
    for (unit, day), sessions in sorted(by_unit_day.items()):
        sessions.sort(key=lambda s: (s[2].start, s[0].id))
        # Every pair that overlaps: each session against the later-starting ones until one
        # starts at or after its end.
        for a in range(len(sessions)):
            da, ia, ca = sessions[a]
            end = ca.start + da.duration
            for b in range(a + 1, len(sessions)):
                db, ib, cb = sessions[b]
                if cb.start >= end:
                    break
                violations.append(
                    f"unit {unit!r} day {day}: {session(da, ia, ca)} overlaps "
                    f"{session(db, ib, cb)}"
                )

    if model.one_session_per_team_per_day:
        by_team_day: dict[tuple[str, int], list[str]] = defaultdict(list)
        for d, _, c in chosen:
            by_team_day[(d.team, c.day)].append(d.id)
        for (team, day), ids in sorted(by_team_day.items()):
            if len(ids) > 1:
                violations.append(
                    f"team {team!r} has {len(ids)} sessions on day {day}: demands "
                    + ", ".join(repr(i) for i in sorted(ids))
                )

    used: dict[str, int] = defaultdict(int)
    for d, _, _ in chosen:
        used[d.association] += d.duration
    for association, cap in model.caps.items():
        if used[association] > cap:
            violations.append(
                f"association {association!r} has {used[association]} minutes, over its cap "
                f"of {cap}"
            )
    return {"feasible": not violations, "objective": objective, "violations": violations}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="allocation_cpsat.py",
        description="Solve a registry-allocation-model/1 with CP-SAT, or check a solution.",
    )
    parser.add_argument("model", metavar="MODEL.json")
    parser.add_argument("--time-limit", type=float, default=10.0, metavar="SECONDS")
    parser.add_argument("--workers", type=int, default=2, metavar="N")
    parser.add_argument("--check", metavar="SOLUTION.json")
    parser.add_argument("--hint", metavar="SOLUTION.json")
    # For measuring: how each (unit, day)'s no-overlap rule is encoded (see OVERLAP_ENCODINGS).
    parser.add_argument("--overlap", choices=OVERLAP_ENCODINGS, default="cliques",
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not args.time_limit > 0:
        parser.error("--time-limit must be above 0")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.check is not None and args.hint is not None:
        parser.error("--hint is for solving, --check solves nothing")
    try:
        model = parse_model(read_json(args.model, "model"))
        if args.check is not None:
            result = check(model, parse_solution(read_json(args.check, "solution"), "solution"))
        else:
            hint = None
            if args.hint is not None:
                hint = hint_indices(model, parse_solution(read_json(args.hint, "hint"), "hint"))
            result = solve(model, args.time_limit, args.workers, args.overlap, hint)
    except Malformed as e:
        fail(str(e))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
