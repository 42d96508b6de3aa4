from __future__ import annotations

from airflow_provider_modelarts.emulator.cli import main

main()
