from hpclab.lab.kernels.refreshing_value import RefreshingValue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def synchronously(work):
    work()


def test_a_fresh_value_is_kept_until_its_ttl_then_reloaded():
    clock, loads = Clock(), []

    def load():
        loads.append(clock.now)
        return len(loads)

    value = RefreshingValue(load, 0, True, 900, print, clock, synchronously)
    assert value.get() == 0
    clock.now += 899
    assert value.get() == 0
    clock.now += 1
    assert value.get() == 1
    assert value.get() == 1
    assert loads == [1900.0]


def test_readers_get_the_last_good_value_while_the_refresh_runs_or_fails():
    clock, pending, errors = Clock(), [], []
    results = iter([ValueError("spider busy"), "second"])

    def load():
        result = next(results)
        if isinstance(result, Exception):
            raise result
        return result

    value = RefreshingValue(load, "first", False, 900, errors.append, clock, pending.append)
    assert value.get() == "first"
    assert value.get() == "first"
    assert len(pending) == 1  # one refresh at a time
    pending.pop()()
    assert [str(error) for error in errors] == ["spider busy"]
    assert value.get() == "first"
    assert pending == []  # retried only after a minute, not on every read
    clock.now += 60
    value.get()
    pending.pop()()
    assert value.get() == "second"
