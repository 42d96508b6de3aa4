"""A local, API-faithful ModelArts + IAM emulator (a server package, separate from the provider code).

``from airflow_provider_modelarts.emulator import ModelArtsEmulator`` — see :class:`ModelArtsEmulator`.
"""

from __future__ import annotations

from airflow_provider_modelarts.emulator.server import EmulatorCredentials, ModelArtsEmulator

__all__ = ["EmulatorCredentials", "ModelArtsEmulator"]
