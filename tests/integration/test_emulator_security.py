"""The emulator cannot be turned into a remote shell (#15): each attack, over loopback and in process.

Its metadata service hands out working temporary keys, and a custom-image job runs any command: whoever reaches
those can run code as the emulator's user. So the metadata, admin and console surfaces answer only this machine,
under a loopback Host name, to same-origin JSON requests; credentials are random per root and never on a command
line; a restart kills only its own leftover workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from airflow_provider_modelarts.emulator import ModelArtsEmulator
from airflow_provider_modelarts.emulator.middleware import local_surface_refusal
from airflow_provider_modelarts.emulator.runner import kill_leftover_workers, process_identity
from airflow_provider_modelarts.emulator.server import DEFAULT_AK, DEFAULT_SK

METADATA_KEY = "/metadata/openstack/latest/securitykey"


def scope(endpoint_path: str = "/_emulator/faults", method: str = "POST", client: str = "127.0.0.1",
          **headers: str) -> dict:
    base = {"host": "127.0.0.1:8080", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return {"type": "http", "method": method, "path": endpoint_path, "client": (client, 50000),
            "headers": [(k.encode(), v.encode()) for k, v in base.items()]}


# ---------------------------------------------------------------------------------------------- in process
@pytest.mark.parametrize("endpoint", ["metadata_securitykey", "metadata_token", "admin_faults", "console"])
def test_a_remote_client_is_refused_on_every_local_surface(endpoint):
    assert local_surface_refusal(scope(client="192.0.2.10", content_type="application/json"), endpoint, True)[0] \
        == 403


@pytest.mark.parametrize("host", ["evil.example:8080", "127.0.0.1.evil.example", "attacker.test"])
def test_a_dns_rebinding_host_name_is_refused(host):
    refusal = local_surface_refusal(scope(host=host, content_type="application/json"), "admin_faults", True)
    assert refusal is not None and refusal[1] == "Emulator.0003"


def test_a_cross_site_simple_request_to_the_admin_api_is_refused():
    # a page elsewhere can POST text/plain without a preflight; it cannot send application/json
    refusal = local_surface_refusal(scope(content_type="text/plain"), "admin_faults", True)
    assert refusal is not None and refusal[0] == 415
    refusal = local_surface_refusal(scope(content_type="application/json", origin="http://evil.example"),
                                    "admin_faults", True)
    assert refusal is not None and refusal[1] == "Emulator.0004"
    assert local_surface_refusal(scope(content_type="application/json", origin="http://127.0.0.1:8080"),
                                 "admin_faults", True) is None


def test_the_metadata_service_can_be_switched_off():
    assert local_surface_refusal(scope(METADATA_KEY, "GET"), "metadata_securitykey", False)[0] == 404
    assert local_surface_refusal(scope(METADATA_KEY, "GET"), "metadata_securitykey", True) is None


def test_a_reused_pid_is_never_killed(tmp_path):
    """A marker whose PID now belongs to another process (a different start time) is dropped, not killed."""
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        pids = tmp_path / "pids"
        pids.mkdir()
        (pids / str(victim.pid)).write_text("1:1")  # what a long-gone worker with this PID recorded
        kill_leftover_workers(pids)
        time.sleep(0.2)
        assert victim.poll() is None and not list(pids.iterdir())
        (pids / str(victim.pid)).write_text(process_identity(victim.pid))  # our own leftover worker: killed
        kill_leftover_workers(pids)
        assert victim.wait(5) is not None
    finally:
        if victim.poll() is None:
            victim.kill()


# ---------------------------------------------------------------------------------------------- over loopback
def test_admin_api_refuses_cross_site_requests_and_malformed_bodies(emu):
    faults = emu.url + "/_emulator/faults"
    assert requests.post(faults, data='{"spec": "*=503"}', headers={"Content-Type": "text/plain"}).status_code == 415
    assert requests.post(faults, json={"spec": "*=503"}, headers={"Origin": "http://evil.example"}).status_code == 403
    port = emu.url.rsplit(":", 1)[1]
    assert requests.post(faults, json={"spec": "*=503"}, headers={"Host": f"evil.example:{port}"}).status_code == 403
    bad = requests.post(faults, data="{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "JSON" in bad.json()["error_msg"]
    # nothing was changed by any of them: an API call is not answered by a "*=503" fault
    unsigned = requests.get(f"{emu.url}/v1/{emu.credentials.project_id}/training-jobs")
    assert unsigned.status_code == 401, unsigned.text


def test_credentials_are_random_per_root_kept_and_never_on_the_command_line(tmp_path):
    with ModelArtsEmulator(root=tmp_path / "a") as first:
        creds = first.credentials
        cmdline = Path(f"/proc/{first.pid}/cmdline").read_bytes().decode().replace("\0", " ")
        assert creds.sk not in cmdline and creds.password not in cmdline
    assert (creds.ak, creds.sk) != (DEFAULT_AK, DEFAULT_SK) and len(creds.sk) >= 40
    stored = tmp_path / "a" / "credentials.json"
    assert oct(stored.stat().st_mode & 0o777) == "0o600" and json.loads(stored.read_text())["sk"] == creds.sk
    with ModelArtsEmulator(root=tmp_path / "a") as again:  # the same root keeps its credentials
        assert again.credentials == creds
    with ModelArtsEmulator(root=tmp_path / "b") as other:  # another root has its own
        assert other.credentials.sk != creds.sk
    with ModelArtsEmulator(root=tmp_path / "c", fixed_credentials=True) as fixed:  # public ones only when asked
        assert (fixed.credentials.ak, fixed.credentials.sk) == (DEFAULT_AK, DEFAULT_SK)


def test_metadata_keys_are_served_to_loopback_only_and_not_when_switched_off(tmp_path):
    with ModelArtsEmulator(root=tmp_path / "m") as emu:
        token = requests.put(emu.url + "/metadata/meta-data/latest/api/token",
                             headers={"X-Metadata-Token-Ttl-Seconds": "300"}).text
        key = requests.get(emu.url + METADATA_KEY, headers={"X-Metadata-Token": token})
        assert key.status_code == 200 and "credential" in key.json()
        emu.configure(metadata_service=False)
        assert requests.get(emu.url + METADATA_KEY, headers={"X-Metadata-Token": token}).status_code == 404


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs /proc")
def test_the_cli_reads_secrets_from_the_environment(tmp_path):
    env = {**os.environ, "MODELARTS_EMULATOR_SK": "s" * 40, "MODELARTS_EMULATOR_PASSWORD": "pw-from-env"}
    proc = subprocess.Popen([sys.executable, "-m", "airflow_provider_modelarts.emulator", "--root", str(tmp_path),
                             "--ak", "MYACCESSKEY000000000", "--quiet"], stdout=subprocess.PIPE, env=env,
                            start_new_session=True)
    try:
        info = json.loads(proc.stdout.readline())
        assert info["credentials"]["ak"] == "MYACCESSKEY000000000"
        assert (info["credentials"]["sk"], info["credentials"]["password"]) == ("s" * 40, "pw-from-env")
    finally:
        proc.terminate()
        proc.wait(10)
