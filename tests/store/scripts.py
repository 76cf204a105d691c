"""Programs the store tests run as real, separate processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Runs ``count`` small runs named ``<label>-<i>``, after waiting for ``go`` to exist.
WRITER = """
import os, sys, time
import jobweave as jw
from tests import jobs

url, label, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.005)
for i in range(count):
    result = jw.run([jw.job(jobs.echo, value=[label, i]), jw.sleep(0.001)], store=url,
                    name=f"{label}-{i}")
    assert result.ok, result
print("done", flush=True)
"""

# Submits a run with one quick job and one long sleep, prints its id, and waits forever.
OWNER = """
import sys
import jobweave as jw

handle = jw.submit([jw.job("tests.jobs:echo", value="kept", name="quick"),
                    jw.sleep(600, name="long")], store=sys.argv[1], name="doomed")
print(handle.run_id, flush=True)
handle.wait()
"""


def start(tmp_path: Path, name: str, source: str, *args: str) -> subprocess.Popen[str]:
    """Start ``source`` as a script in a new Python process (cwd and PYTHONPATH from conftest)."""
    script = tmp_path / f"{name}.py"
    script.write_text(source)
    return subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
