"""The console figure's memory is the console process's own peak, not its parent's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux)")
def test_a_child_of_a_big_process_reports_its_own_peak() -> None:
    big = bytearray(150 * 1024 * 1024)
    big[::4096] = b"\x01" * len(big[::4096])  # touch every page: the parent's RSS grows
    probe = (
        "import resource; from console.bench_console_worker import peak_rss_kb; "
        "print(peak_rss_kb() // 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    own, inherited = map(int, out.stdout.split())
    del big
    assert inherited >= 150  # getrusage keeps the parent's peak across exec
    assert own < 100  # the probe itself is small
