"""One executable form for every front end: a plan is a graph of nodes."""

from jobweave.plan.compile import compile_plan
from jobweave.plan.nodes import Binding, Plan, PlanNode, plan_from_definition

__all__ = ["Binding", "Plan", "PlanNode", "compile_plan", "plan_from_definition"]
