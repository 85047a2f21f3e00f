"""timestamps: the integer-microsecond rendering agrees with the datetime one."""

import datetime

import pytest

from meterd import timestamps

_FIRST = timestamps.to_micros(datetime.datetime.min)


@pytest.mark.parametrize('micros', [
    _FIRST, timestamps.MAX_MICROS, 0, -1, 1, 999, 1000, 999_999, 1_000_000,
    1_709_287_200_000_000, 1_709_287_200_000_001, 1_709_287_200_123_456,
    1_709_290_799_999_999, 253_402_300_799_000_000])
def test_isoformat_micros_is_isoformat_of_the_datetime(micros):
    assert (timestamps.isoformat_micros(micros)
            == timestamps.isoformat(timestamps.from_micros(micros)))


def test_isoformat_micros_over_a_sweep_of_every_field():
    # Steps prime to the hour and the second visit every minute, second and
    # fraction position across centuries, leap days included.
    step = 7_919_000_003_571
    micros = _FIRST
    while micros <= timestamps.MAX_MICROS:
        assert (timestamps.isoformat_micros(micros)
                == timestamps.isoformat(timestamps.from_micros(micros)))
        micros += step


def test_isoformat_micros_of_none_and_the_last_instant():
    assert timestamps.isoformat_micros(None) is None
    assert timestamps.isoformat_micros(timestamps.MAX_MICROS) == '9999-12-31T23:59:59.999999'
    assert timestamps.from_micros(timestamps.MAX_MICROS) == datetime.datetime.max
