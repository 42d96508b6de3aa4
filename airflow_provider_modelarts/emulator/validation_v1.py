"""Validation of a v1 ``config`` object (also what v2 bodies are checked against after mapping)."""

from __future__ import annotations

from typing import Any

from airflow_provider_modelarts.emulator import catalog
from airflow_provider_modelarts.emulator.errors import BUCKET_ROOT, INVALID_ARGUMENT, EmulatorError
from airflow_provider_modelarts.emulator.runner import ObsPathError
from airflow_provider_modelarts.emulator.state import Emulator, require


def obs_path(emu: Emulator, value: Any, field: str, *, must_exist: bool = False, bucket_root_ok: bool = True) -> str:
    require(isinstance(value, str) and value, f"config.{field} is required.")
    try:
        local = emu.obs.local(value, field_name=field, allow_bucket_root=bucket_root_ok)
    except ObsPathError as err:
        raise EmulatorError(BUCKET_ROOT if err.code == "ModelArts.2606" else (400, err.code), str(err)) from None
    if must_exist and not local.exists():
        raise EmulatorError(INVALID_ARGUMENT, f"Invalid OBS path '{value}'.")
    return value


def validate_config(emu: Emulator, config: Any) -> dict[str, Any]:
    require(isinstance(config, dict), "config is required and must be an object.")
    cfg = dict(config)
    workers = cfg.get("worker_server_num", 1)
    require(isinstance(workers, int) and not isinstance(workers, bool) and workers >= 1,
             "config.worker_server_num must be an integer >= 1.")
    spec = None
    # v1 field table (Creating a Training Job): spec_id for a public pool, pool_id for a dedicated pool — "cannot
    # be used with" each other (the page's sample sends both; the table wins: docs/api-fidelity.md)
    require(cfg.get("spec_id") is None or not cfg.get("pool_id"),
            "config.spec_id and config.pool_id cannot be used together.")
    if cfg.get("pool_id") and catalog.pool(str(cfg["pool_id"])) is None:
        raise EmulatorError((404, "ModelArts.2890"), f"Pool ({cfg['pool_id']}) does not exist")  # PoolNotFound
    if cfg.get("spec_id") is not None:
        spec = catalog.spec_by_id(int(cfg["spec_id"])) if str(cfg["spec_id"]).isdigit() else None
        require(spec is not None, f"Invalid spec_id {cfg['spec_id']!r}.")
    elif isinstance(cfg.get("flavor"), dict) and cfg["flavor"].get("code"):
        spec = catalog.spec_by_code(str(cfg["flavor"]["code"]))
        require(spec is not None, f"Invalid flavor code {cfg['flavor']['code']!r}.")
    elif not cfg.get("pool_id"):
        raise EmulatorError(INVALID_ARGUMENT, "config.spec_id (or flavor.code, or pool_id) is required.")
    if spec is not None:
        require(workers <= spec["max_num"], f"config.worker_server_num {workers} exceeds max_num "
                                             f"{spec['max_num']} of spec {spec['spec_code']}.")
        cfg["spec_id"], cfg["spec_code"] = spec["spec_id"], spec["spec_code"]
    sources = [bool(cfg.get("data_url")), bool(cfg.get("dataset_id") or cfg.get("dataset_version_id")),
               bool(cfg.get("data_source"))]
    v2 = "channels" in cfg  # a v2 body mapped here: any number of input channels, outputs optional
    require(sum(sources) <= 1 if v2 else sum(sources) == 1, "Exactly one of config.data_url, config.dataset_id + "
                                "config.dataset_version_id, config.data_source is required.")
    if cfg.get("data_url"):
        obs_path(emu, cfg["data_url"], "data_url", must_exist=True, bucket_root_ok=False)
    if sources[1]:
        require(bool(cfg.get("dataset_id")) and bool(cfg.get("dataset_version_id")),
                 "config.dataset_id and config.dataset_version_id go together.")
        emu.check_dataset(cfg["dataset_id"], cfg["dataset_version_id"])
    if cfg.get("data_source"):
        require(isinstance(cfg["data_source"], list), "config.data_source must be a list.")
        for source in cfg["data_source"]:
            require(isinstance(source, dict), "config.data_source entries must be objects.")
            if source.get("data_url"):
                obs_path(emu, source["data_url"], "data_source.data_url", must_exist=True, bucket_root_ok=False)
            elif source.get("dataset_id"):
                emu.check_dataset(source["dataset_id"], source.get("dataset_version"))
            else:
                raise EmulatorError(INVALID_ARGUMENT, "config.data_source entries need data_url or dataset_id.")
    if not v2 or cfg.get("train_url"):
        obs_path(emu, cfg.get("train_url"), "train_url", bucket_root_ok=False)
    for name, url in (cfg.get("channels") or {}).get("outputs", [])[1:]:
        obs_path(emu, url, f"outputs.{name}", bucket_root_ok=False)
    if cfg.get("log_url"):
        obs_path(emu, cfg["log_url"], "log_url")
    params = cfg.get("parameter") or []
    require(isinstance(params, list) and all(isinstance(p, dict) and isinstance(p.get("label"), str)
                                              and isinstance(p.get("value"), str) for p in params),
             "config.parameter must be a list of {label, value} strings.")
    if cfg.get("model_id") is not None:
        require(catalog.algorithm(int(cfg["model_id"])) is not None if str(cfg["model_id"]).isdigit() else False,
                 f"Built-in algorithm {cfg['model_id']!r} does not exist.")
    elif cfg.get("user_image_url"):
        require(bool(cfg.get("user_command")), "config.user_command is required with config.user_image_url.")
        if cfg.get("app_url") or cfg.get("boot_file_url"):  # "must be used together" (v1 field table)
            app_url = obs_path(emu, cfg.get("app_url"), "app_url", must_exist=True)
            boot = obs_path(emu, cfg.get("boot_file_url"), "boot_file_url", must_exist=True)
            require(boot.startswith(app_url.rstrip("/") + "/"), f"Invalid OBS path '{boot}'.")
    else:
        engine_id = cfg.get("engine_id", 1)
        require(catalog.engine(int(engine_id)) is not None if str(engine_id).isdigit() else False,
                 f"Invalid engine_id {engine_id!r}.")
        cfg["engine_id"] = int(engine_id)
        app_url = obs_path(emu, cfg.get("app_url"), "app_url", must_exist=True)
        boot = obs_path(emu, cfg.get("boot_file_url"), "boot_file_url", must_exist=True)
        require(boot.startswith(app_url.rstrip("/") + "/"), f"Invalid OBS path '{boot}'.")
    return cfg
