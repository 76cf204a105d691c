"""One of several processes resuming the same crashed run at the same moment.

``python -m tests.scale.racer STORE RUN GO``: prints ``ready``, waits for the file GO,
resumes RUN; then ``won`` and ``finished STATUS`` (exit 0), or ``owned OWNER`` (exit 3)
when another process claimed it first.
"""

from __future__ import annotations

import os
import sys
import time

import jobweave as jw


def main(store: str, run_id: str, go: str) -> int:
    engine = jw.Engine(jw.Settings(store=store, lease=2.0))
    engine.store.get_run(run_id, counts=False)  # connected and warm before the start
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.002)
    try:
        handle = engine.resume(run_id)
    except jw.RunOwnedError as exc:
        print(f"owned {exc.owner}", flush=True)
        return 3
    print("won", flush=True)
    print(f"finished {handle.wait(timeout=120).status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
