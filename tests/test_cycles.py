"""The cycle collector is paused around bulk work and comes back as it was."""

from __future__ import annotations

import gc

import pytest

from privdom.cycles import collector_paused


def test_paused_inside_and_back_after_even_when_the_block_fails() -> None:
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block leaves it as the outer one wants it
        raise ValueError
    assert gc.isenabled()


def test_a_collector_already_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
