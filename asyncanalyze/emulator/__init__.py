"""A local server that speaks the Analyze async tasks API (v1.3), for tests, demos and benches.

``async with Emulator() as emu:`` serves on 127.0.0.1; point any client at ``emu.base_url``.
``python -m asyncanalyze.emulator --help`` runs it standalone. Imports only the standard
library and aiohttp: it shares no code with the asyncanalyze client.
"""

from ._clock import ManualClock, ScaledClock
from ._config import EmulatorConfig, FaultConfig
from ._emulator import Emulator
from ._webhooks import sign as sign_webhook

__all__ = [
    "Emulator",
    "EmulatorConfig",
    "FaultConfig",
    "ManualClock",
    "ScaledClock",
    "sign_webhook",
]
