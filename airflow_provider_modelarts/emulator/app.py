"""The emulator's HTTP surface: IAM, metadata service, ModelArts v1 and v2 training APIs, OBS, admin, console.

Each group of routes lives in its own module over one :class:`~.state.Emulator` (store, runner, OBS, auth).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from airflow_provider_modelarts.emulator.console import add_console_routes
from airflow_provider_modelarts.emulator.errors import EmulatorError, error_body, new_request_id
from airflow_provider_modelarts.emulator.middleware import EmulatorMiddleware
from airflow_provider_modelarts.emulator.routes_admin import add_admin_routes
from airflow_provider_modelarts.emulator.routes_iam import add_iam_routes
from airflow_provider_modelarts.emulator.routes_obs import add_obs_routes
from airflow_provider_modelarts.emulator.routes_v1 import add_v1_routes
from airflow_provider_modelarts.emulator.routes_v2 import add_v2_routes
from airflow_provider_modelarts.emulator.state import Emulator, EmulatorSettings

__all__ = ["Emulator", "EmulatorMiddleware", "EmulatorSettings", "create_app"]


def create_app(emu: Emulator) -> FastAPI:
    app = FastAPI(title="ModelArts emulator", docs_url=None, redoc_url=None, openapi_url=None)

    @app.on_event("startup")
    async def _startup() -> None:
        emu.start_runner()

    @app.on_event("shutdown")
    async def _shutdown() -> None:
        if emu.runner:
            await emu.runner.shutdown()

    @app.exception_handler(EmulatorError)
    async def _emulator_error(request: Request, err: EmulatorError) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id") or new_request_id()
        return JSONResponse(err.body(request_id), status_code=err.status, headers=err.headers)

    @app.exception_handler(404)
    async def _not_found(request: Request, err: Exception) -> JSONResponse:
        if isinstance(err, EmulatorError):
            return await _emulator_error(request, err)
        request_id = request.scope.get("state", {}).get("request_id") or new_request_id()
        return JSONResponse(error_body(404, "APIG.0101", "The API does not exist or has not been published in the "
                                       "environment", "gateway", request_id), status_code=404)

    add_iam_routes(app, emu)
    add_v1_routes(app, emu)
    add_v2_routes(app, emu)
    add_admin_routes(app, emu)
    add_console_routes(app, emu)
    add_obs_routes(app, emu)
    return app
