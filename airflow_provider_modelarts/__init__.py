"""Apache Airflow provider for Huawei Cloud ModelArts training jobs.

Importing this package does no network and no heavy work: DAG files import it on every parse.
"""

from __future__ import annotations

__version__ = "0.1.0"
