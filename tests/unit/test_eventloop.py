"""SCANHOOK_EVENT_LOOP: which loop scanhook's own processes run on."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from scanhook.config import load_settings
from scanhook.errors import ConfigurationError
from scanhook.eventloop import loop_factory, loop_name, run


async def _loop_type() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


def test_uvloop_runs_the_coroutine_on_a_uvloop_loop() -> None:
    assert run(_loop_type(), "uvloop") is uvloop.Loop


def test_asyncio_runs_it_on_the_standard_loop() -> None:
    assert run(_loop_type(), "asyncio") is not uvloop.Loop
    assert loop_factory("asyncio") is None


def test_auto_takes_uvloop_when_it_is_installed() -> None:
    assert loop_name("auto") == "uvloop"


def test_the_environment_variable_chooses_when_no_choice_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SCANHOOK_EVENT_LOOP", "asyncio")
    assert run(_loop_type()) is not uvloop.Loop
    monkeypatch.setenv("SCANHOOK_EVENT_LOOP", "uvloop")
    assert run(_loop_type()) is uvloop.Loop


def test_an_unknown_loop_is_a_configuration_error_naming_the_setting() -> None:
    with pytest.raises(ConfigurationError, match="SCANHOOK_EVENT_LOOP: 'trio' is not one of"):
        loop_factory("trio")


def test_the_setting_is_validated_with_the_others(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCANHOOK_EVENT_LOOP", "twisted")
    with pytest.raises(ConfigurationError, match="SCANHOOK_EVENT_LOOP"):
        load_settings()
    monkeypatch.setenv("SCANHOOK_EVENT_LOOP", "asyncio")
    assert load_settings().event_loop == "asyncio"
