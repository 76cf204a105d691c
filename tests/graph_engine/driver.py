"""A process that runs a graph, so a test can SIGKILL it and resume it.

    python -m tests.graph_engine.driver pages STORE --last N
    python -m tests.graph_engine.driver fan   STORE --n N
    python -m tests.graph_engine.driver resume STORE RUN_ID

Prints ``started RUN_ID`` when the run executes and ``finished RUN_ID STATUS`` at the end.
"""

from __future__ import annotations

import argparse
from typing import Any

import jobweave as jw
from tests.graph_engine import shapes


def _announce(event: Any) -> None:
    if isinstance(event, jw.RunStarted):
        print("started", event.run_id, flush=True)


def square_fan(n: int) -> jw.Graph:
    """spread(n) → modify → square (python) → modify: fan-out through an executor."""
    g = jw.graph("squares")
    src = g.node("src", "t_spread")
    tag = g.node("tag", "modify")
    sq = g.node("square", "python", target=shapes.square_slowly)
    g.edge(src, tag)
    g.edge(tag, sq, data={"i": "{{ msg.i }}", "tagged": True})
    g.edge(sq, g.node("sink", "modify"))
    return g


def square_join(n: int) -> jw.Graph:
    """spread(n) → three python branches → a tuple barrier emitting every token → sink."""
    g = jw.graph("joins")
    src = g.node("src", "t_spread")
    wait = g.node("wait", "barrier", grouping="tuple", output="all")
    for k in range(3):
        b = g.node(f"b{k}", "python", target=shapes.square_slowly)
        g.edge(src, b, data={"i": "{{ msg.i }}", "k": k})
        g.edge(b, wait, to_port=str(k), data={"i": "{{ msg.i }}", "from": k,
                                              "status": "completed"})
    g.edge(wait, g.node("sink", "modify"), from_port="0")
    return g


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tests.graph_engine.driver")
    parser.add_argument("mode", choices=("pages", "fan", "join", "resume"))
    parser.add_argument("store")
    parser.add_argument("run_id", nargs="?")
    parser.add_argument("--last", type=int, default=50)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    if args.mode == "resume":
        result = jw.resume(args.run_id, store=args.store, listeners=[_announce])
    elif args.mode == "pages":
        result = jw.run(shapes.pages(args.last), input={}, store=args.store,
                        listeners=[_announce])
    elif args.mode == "join":
        result = jw.run(square_join(args.n), input={"n": args.n}, store=args.store,
                        concurrency=4, listeners=[_announce])
    else:
        result = jw.run(square_fan(args.n), input={"n": args.n}, store=args.store,
                        concurrency=4, listeners=[_announce])
    print("finished", result.run_id, result.status, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
