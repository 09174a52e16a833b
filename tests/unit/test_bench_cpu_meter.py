"""The benchmarks' CPU budget: a meter that reads each process's CPU from /proc."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.harness import CpuMeter, cpu_seconds


def _spin(seconds: float) -> None:
    """Use about `seconds` of this process's CPU."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_the_meter_counts_the_cpu_each_group_used_between_start_and_stop() -> None:
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; print('up', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert sleeper.stdout is not None
        assert sleeper.stdout.readline() == b"up\n"  # its start-up CPU is behind it
        meter = CpuMeter({"busy": lambda: [os.getpid()], "idle": lambda: [sleeper.pid]})
        _spin(0.05)  # before start: not counted
        meter.start()
        _spin(0.3)
        meter.stop()
    finally:
        sleeper.kill()
        sleeper.communicate()  # reaps it and closes its pipe
    assert 0.25 <= meter.seconds["busy"] < 1.0
    assert meter.seconds["idle"] < 0.05
    per = meter.ms_per(100)
    assert per["busy"] == round(meter.seconds["busy"] * 10, 3)
    assert per["total"] == round(per["busy"] + per["idle"], 3)


def test_a_process_that_is_gone_counts_nothing() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert cpu_seconds(child.pid) == 0.0
