"""What keeps a server from being idle besides the browser: busy kernels, CPU, GPUs."""

from hpclab.lab.session.activity import CpuUse, busy_reasons


def test_cores_used_between_two_readings():
    times = iter([0.0, 30.0, 60.0, 60.0])
    cpu_seconds = iter([10.0, 40.0, 40.3, 41.0])
    use = CpuUse(lambda: next(cpu_seconds), lambda: next(times))
    assert use.cores() is None  # a first reading has nothing to compare with
    assert use.cores() == 1.0
    assert round(use.cores(), 3) == 0.01
    assert use.cores() is None  # no time passed


def test_busy_reasons():
    assert busy_reasons(["idle", "idle"], 0.02, 0.1, False) == []
    assert busy_reasons(["busy", "idle", "busy"], None, 0.1, None) == ["2 busy kernels"]
    assert busy_reasons([], 1.5, 0.1, True) == ["its processes use 150 % of a core", "its GPUs are in use"]
