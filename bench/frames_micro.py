"""Micro-benchmark: ``records_to_frame`` against ``pd.json_normalize`` on server records.

Synthesises N realistic Cloudpods server records (about 60 keys each, shaped like the
``/servers?details=true`` answer of spec §3.6: uuids, repeated statuses, hosts, zones and
projects, ``nics``/``disks_info`` lists, a ``metadata`` dict of 3 tags, UTC timestamp
strings, and keys missing at random as in §8.2 D14), converts them both ways and prints
time and deep memory with the ratios.  It asserts nothing about time.

Example:
    python bench/frames_micro.py --n 100000
"""

from __future__ import annotations

import argparse
import copy
import random
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cpexplore.lists.decode import records_to_frame
from cpexplore.lists.dtypes import frame_memory  # noqa: E402


def _uuid(rng: random.Random) -> str:
    """A random uuid4-looking string from ``rng``.

    Example:
        >>> len(_uuid(random.Random(0)))
        36
    """
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _stamp(rng: random.Random) -> str:
    """A Cloudpods record time (whole seconds, ``.000000Z``) in 2026.

    Example:
        >>> _stamp(random.Random(0)).endswith(".000000Z")
        True
    """
    return (
        f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T"
        f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.000000Z"
    )


def synth_servers(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """Build ``n`` realistic server records, deterministic for a given ``seed``.

    Example:
        >>> recs = synth_servers(3)
        >>> len(recs), recs[0]["hypervisor"] in {"kvm", "esxi", "baremetal", "aliyun"}
        (3, True)
    """
    rng = random.Random(seed)
    statuses = ["running", "ready", "deploying", "start_fail", "stopping", "unknown"]
    hypervisors = ["kvm", "esxi", "baremetal", "aliyun"]
    zones = [(_uuid(rng), f"zone{i}") for i in range(1, 5)]
    hosts = [(_uuid(rng), f"host-{i:03d}", zones[i % len(zones)]) for i in range(200)]
    projects = [(uuid.UUID(int=rng.getrandbits(128)).hex, f"project-{i:02d}") for i in range(20)]
    vpcs = [(_uuid(rng), f"vpc-{i}") for i in range(5)]
    networks = [(_uuid(rng), f"net-{i}") for i in range(30)]
    secgroups = [(_uuid(rng), f"sg-{i}") for i in range(10)]
    images = [(_uuid(rng), name) for name in ("centos-7", "ubuntu-22.04", "debian-12", "win2019")]
    os_names = {"centos-7": "Linux", "ubuntu-22.04": "Linux", "debian-12": "Linux"}
    flavours = [(1, 1024), (2, 2048), (2, 4096), (4, 8192), (8, 16384), (16, 32768)]
    out: list[dict[str, Any]] = []
    for i in range(n):
        host_id, host, (zone_id, zone) = rng.choice(hosts)
        tenant_id, tenant = rng.choice(projects)
        vpc_id, vpc = rng.choice(vpcs)
        hypervisor = rng.choices(hypervisors, weights=[70, 15, 5, 10])[0]
        vcpu, vmem = rng.choice(flavours)
        image_id, image = rng.choice(images)
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        mac = "00:16:3e:" + ":".join(f"{rng.randrange(256):02x}" for _ in range(3))
        net_id, _net = rng.choice(networks)
        sys_size = rng.choice([30720, 40960, 51200, 102400])
        data_size = rng.choice([0, 0, 102400, 512000, 1048576])
        disks = [
            {
                "id": _uuid(rng),
                "name": f"vm-{i:06d}-sys",
                "size": sys_size,
                "disk_type": "sys",
                "storage_type": "local",
                "medium_type": "ssd",
                "image_id": image_id,
                "image": image,
                "index": 0,
            }
        ]
        if data_size:
            disks.append(
                {
                    "id": _uuid(rng),
                    "name": f"vm-{i:06d}-data",
                    "size": data_size,
                    "disk_type": "data",
                    "storage_type": "rbd",
                    "medium_type": "hdd",
                    "index": 1,
                }
            )
        sg_id, sg = rng.choice(secgroups)
        created = _stamp(rng)
        rec: dict[str, Any] = {
            "id": _uuid(rng),
            "name": f"vm-{i:06d}",
            "status": rng.choice(statuses),
            "hypervisor": hypervisor,
            "vcpu_count": vcpu,
            "vmem_size": vmem,
            "disk": sys_size + data_size,
            "ips": ip,
            "macs": mac,
            "nics": [
                {
                    "ip_addr": ip,
                    "mac": mac,
                    "network_id": net_id,
                    "vpc_id": vpc_id,
                    "ifname": "eth0",
                    "is_default": True,
                }
            ],
            "disks_info": disks,
            "host": host,
            "host_id": host_id,
            "zone": zone,
            "zone_id": zone_id,
            "cloudregion": "Default",
            "cloudregion_id": "default",
            "region": "Default",
            "region_id": "default",
            "vpc": vpc,
            "vpc_id": vpc_id,
            "os_type": "Windows" if image == "win2019" else "Linux",
            "os_name": os_names.get(image, "Windows"),
            "os_arch": "x86_64",
            "instance_type": f"ecs.g1.c{vcpu}m{vmem // 1024}",
            "power_states": "on" if rng.random() < 0.8 else "off",
            "billing_type": "postpaid" if rng.random() < 0.9 else "prepaid",
            "brand": "Aliyun" if hypervisor == "aliyun" else "OneCloud",
            "provider": "Aliyun" if hypervisor == "aliyun" else "OneCloud",
            "cloud_env": "public" if hypervisor == "aliyun" else "onpremise",
            "tenant": tenant,
            "tenant_id": tenant_id,
            "project": tenant,
            "project_id": tenant_id,
            "domain_id": "default",
            "project_domain": "Default",
            "project_src": "local",
            "created_at": created,
            "updated_at": created if rng.random() < 0.3 else _stamp(rng),
            "imported_at": created,
            "secgroups": [{"id": sg_id, "name": sg}],
            "secgroup": sg,
            "is_gpu": rng.random() < 0.05,
            "can_delete": True,
            "can_update": True,
            "deleted": False,
            "is_emulated": False,
            "is_system": False,
            "pending_deleted": False,
            "disable_delete": rng.random() < 0.5,
            "update_version": rng.randrange(0, 40),
            "progress": 100,
            "source": "local",
            "boot_order": "cdn",
            "bios": "BIOS",
            "machine": "pc",
            "shutdown_behavior": "stop",
            "cdrom_support": True,
            "auto_renew": False,
            "metadata": {
                "user:env": rng.choice(["prod", "staging", "dev"]),
                "user:team": rng.choice(["web", "data", "ops", "ml", "infra"]),
                "user:owner": f"user{rng.randrange(40):02d}",
            },
        }
        if hypervisor == "aliyun":
            rec["manager"] = "aliyun-account-1"
            rec["account"] = "aliyun-account"
            rec["external_id"] = f"i-{rng.getrandbits(60):015x}"
            rec["eip"] = f"47.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        if rng.random() < 0.2:
            rec["description"] = rng.choice(["web tier", "batch worker", "db replica"])
        if rng.random() < 0.3:
            rec["keypair"] = rng.choice(["ops-key", "dev-key"])
        for optional in ("macs", "is_gpu", "os_name", "power_states"):
            if rng.random() < 0.05:  # D14: empty values are omitted
                del rec[optional]
        out.append(rec)
    return out


def _best_time(func: Any, repeat: int) -> tuple[float, Any]:
    """Best wall time of ``repeat`` calls of ``func()`` and the last result.

    Example:
        >>> _best_time(lambda: 1, 2)[1]
        1
    """
    best = float("inf")
    result = None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table.

    Example:
        >>> main(["--n", "200"])  # doctest: +ELLIPSIS
        records: 200 ...
        0
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of records")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--repeat", type=int, default=1, help="runs per method (best kept)")
    args = parser.parse_args(argv)

    records = synth_servers(args.n, args.seed)
    before = copy.deepcopy(records[:1000])
    keys = sum(len(r) for r in records) / max(1, len(records))

    t_norm, df_norm = _best_time(lambda: pd.json_normalize(records), args.repeat)
    t_ours, df_ours = _best_time(lambda: records_to_frame(records), args.repeat)
    m_norm, m_ours = frame_memory(df_norm), frame_memory(df_ours)

    if records[:1000] != before:
        raise SystemExit("records_to_frame modified its input")
    if len(df_ours) != len(records):
        raise SystemExit("row count differs")

    print(
        f"records: {len(records)}  keys/record: {keys:.1f}  "
        f"columns: json_normalize={df_norm.shape[1]} records_to_frame={df_ours.shape[1]}  "
        f"pandas {pd.__version__}"
    )
    print(f"{'method':<18}{'seconds':>10}{'deep MB':>12}")
    print(f"{'pd.json_normalize':<18}{t_norm:>10.3f}{m_norm / 1e6:>12.1f}")
    print(f"{'records_to_frame':<18}{t_ours:>10.3f}{m_ours / 1e6:>12.1f}")
    print(f"ratio (ours/json_normalize): time {t_ours / t_norm:.3f}  memory {m_ours / m_norm:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
