"""A local Cloudpods-compatible API server with a generated inventory.

It speaks the real wire protocol (spec ``cloudpods-api.md``, corrected by what real
keystone and region services answered), so a client that works against it works against
a real Cloudpods. Deliberate differences are listed in ``DIFFERENCES``.

>>> with Sandbox(servers=50, seed=1) as sb:          # doctest: +SKIP
...     print(sb.auth_url)
http://127.0.0.1:40123/v3
"""

from __future__ import annotations

import base64
import secrets
import ssl
import threading
from typing import Any

from .faults import FaultPlan
from .identity import Identity
from .inventory import Inventory
from .lists import Lister
from .server import COMPUTE, IDENTITY, IMAGE, LOG, SandboxServer

__all__ = ["Sandbox", "DIFFERENCES", "servers_for_rows"]

DIFFERENCES = {
    "one port": "Every service listens on one port; region1's compute is served under the path /region1 "
    "instead of another host, and the identity admin endpoint shares the public URL.",
    "faults spare logins": "fault_rate hits GET requests of the services only; POST /v3/auth/tokens is never "
    "faulted, so a test can always log in.",
    "speed": "a list page costs no server time unless row_cost/details_row_cost are set; the real 2-core "
    "region spent about 2-3 ms per server row with details and 0.3-0.5 ms without, with about two pages "
    "at once (server_cores=2; cloudpods-api.md §9, §10).",
    "deleted_at": "a soft delete sets deleted_at one second after updated_at, as the real row showed; the "
    "real region rounds deleted_at to the nearest second, so it is the same second about half the time.",
    "token cache": "the region answers a revoked or expired token 403 at once; the real region keeps "
    "accepting a token it has already seen (it caches them), so the sandbox is stricter.",
    "summary_stats": "servers' totals have the real shape (count 0, cpu_count, mem_mb, disk_count, disk_mb, "
    "status_info); other resources give {'count': N, 'status_info': [...]}, a shape not observed.",
    "record data": "servers carry NIC, disk, VPC and security-group details (ips, nics, disks_info, vpc, "
    "secgroups...) that the real capture could not show (its servers had none); every other key follows "
    "the real records.",
    "next_marker": "the last marker page leaves next_marker out (jsonutils omits empty strings).",
    "writes": "POST/PUT/DELETE on resources are not served (404); the inventory changes through "
    "Sandbox.update/delete/create_servers, which move updated_at and update_version as the API does; "
    "a delete is a soft delete as made in the database (the status stays, no pending delete first).",
    "v2.0": "the keystone v2.0 API (/v2.0/tokens) is not served.",
    "domain roles": "no user holds a domain role, so a domain-scoped login is refused (as real keystone "
    "refused sysadmin's, cloudpods-api.md §8.2 D11).",
}


def servers_for_rows(rows: int, region: str = "region0", seed: int = 0) -> int:
    """How many servers to generate so that catalog region ``region`` holds ``rows`` of them.

    >>> servers_for_rows(1000) > 1000
    True
    """
    n = rows
    for _ in range(8):
        got = Inventory(servers=n, seed=seed).tables["servers"].region.count(region)
        if got >= rows:
            return n
        n = int(n * rows / max(got, 1)) + 1
    return n


def _random_secret() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


class Sandbox:
    """Run the sandbox in a background thread; use as a context manager.

    Credentials are random unless given. ``tls`` (a server-side ``ssl.SSLContext``)
    serves HTTPS, for tests of certificate verification. The default user is an admin in project
    ``system``; ``member_username``/``member_password`` log in as a non-admin member of
    project ``web``. ``row_cost``/``details_row_cost`` add server time per row of a list
    page (``details=false``/with details; ``field=`` saves none), spent by at most
    ``server_cores`` pages at once like the real 2-core region (cloudpods-api.md §9, §10:
    about 0.0005 s and 0.003 s per server row, concurrent pages 1.5–2× faster).
    """

    def __init__(
        self,
        servers: int = 1000,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key: str | None = None,
        secret_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        latency: float = 0.0,
        fault_rate: float = 0.0,
        token_ttl: float = 86400,
        *,
        retry_after: int = 1,
        tls: ssl.SSLContext | None = None,
        row_cost: float = 0.0,
        details_row_cost: float = 0.0,
        server_cores: int = 2,
    ) -> None:
        self.access_key = access_key or secrets.token_hex(16)
        self.secret_key = secret_key or _random_secret()
        self.username = username or "sysadmin"
        self.password = password or secrets.token_urlsafe(12)
        self.member_username = "demo-user"
        self.member_password = secrets.token_urlsafe(12)
        self.project = "system"
        self.member_project = "web"
        self.region = "region0"
        self.inventory = Inventory(servers=servers, seed=seed)
        self.faults = FaultPlan(rate=fault_rate, seed=seed)
        self.lister = Lister(
            self.inventory,
            {**COMPUTE, **IDENTITY, **IMAGE, **LOG},
            row_cost=row_cost,
            details_row_cost=details_row_cost,
            server_cores=server_cores,
        )
        self._server = SandboxServer(
            (host, port),
            None,
            self.lister,
            latency=latency,
            faults=self.faults,
            retry_after=retry_after,
            tls=tls,
        )
        bound_host, bound_port = self._server.server_address[:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self.host, self.port = str(bound_host), int(bound_port)
        self.base_url = f"{'https' if tls else 'http'}://{shown}:{bound_port}"
        self.auth_url = f"{self.base_url}/v3"
        self.identity = Identity(
            self.inventory,
            self.base_url,
            access_key=self.access_key,
            secret_key=self.secret_key,
            username=self.username,
            password=self.password,
            member_username=self.member_username,
            member_password=self.member_password,
            member_project=self.member_project,
            token_ttl=token_ttl,
        )
        self._server.identity = self.identity
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        self._state = threading.Lock()
        self._serving = self._closing = False

    def __repr__(self) -> str:
        return (
            f"Sandbox({self.auth_url}, servers={self.inventory.n_servers}, user={self.username!r})"
        )

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> Sandbox:
        with self._state:
            if self._closing:
                raise RuntimeError("this sandbox was stopped; make a new one")
            self._serving = True
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                name="cpexplore-sandbox",
                kwargs={"poll_interval": 0.1},
                daemon=True,
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (the CLI's foreground mode)."""
        with self._state:
            if self._closing:  # stopped before it began (a signal during start-up)
                return
            self._serving = True
        self._server.serve_forever(poll_interval=0.2)

    def wait_stopped(self, timeout: float = 10) -> None:
        """Wait until a :meth:`stop` started from another thread has closed the server."""
        self._closed.wait(timeout)

    def stop(self) -> None:
        """Stop serving and close the socket (from any thread but the serving one)."""
        with self._state:
            if self._closing:
                return
            self._closing = True
            serving = self._serving
        if serving:  # shutdown() waits for a serve loop, which must have started
            self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._closed.set()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- knobs and facts tests use ----------------------------------------------------------
    @property
    def latency(self) -> float:
        return self._server.latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._server.latency = float(seconds)

    @property
    def row_cost(self) -> float:
        """Seconds of server time per row of a ``details=false`` list page (default 0)."""
        return self.lister.row_cost

    @row_cost.setter
    def row_cost(self, seconds: float) -> None:
        self.lister.row_cost = float(seconds)

    @property
    def details_row_cost(self) -> float:
        """Seconds of server time per row of a list page with details (the default; 0)."""
        return self.lister.details_row_cost

    @details_row_cost.setter
    def details_row_cost(self, seconds: float) -> None:
        self.lister.details_row_cost = float(seconds)

    @property
    def server_cores(self) -> int:
        """How many list pages may spend their row cost at once (default 2, at least 1)."""
        return self.lister.server_cores

    @server_cores.setter
    def server_cores(self, cores: int) -> None:
        self.lister.server_cores = cores

    @property
    def peak_pages(self) -> int:
        """The most list pages that have spent their row cost at the same time."""
        return self.lister.peak_spending

    @property
    def requests(self) -> int:
        """How many HTTP requests the sandbox has answered (or dropped)."""
        return self._server.requests

    def asked(self, path: str | None = None) -> list[tuple[str, str, dict[str, list[str]]]]:
        """What the sandbox was asked, oldest first: ``(method, path, query)``, the query as
        ``{name: [values]}``; with ``path``, only the requests to it (``"/servers"``).
        """
        with self._server.count_lock:
            seen = list(self._server.asked)
        return [a for a in seen if path is None or a[1] == path]

    @property
    def logins(self) -> int:
        """How many tokens have been issued."""
        return self.identity.logins

    def count(self, resource: str, region: str = "region0", *, project: str | None = None) -> int:
        """How many rows of ``resource`` exist in a catalog region (optionally one project's)."""
        table = self.inventory.tables[resource]
        p = None if project is None else self.inventory.project_index(project)
        return sum(
            1
            for i in range(table.count)
            if i not in table.deleted
            and (table.region is None or table.region[i] == region)
            and (p is None or (table.owner is not None and table.owner[i] == p))
        )

    def ids(self, resource: str, region: str = "region0") -> set[str]:
        """The ids of every live row of ``resource`` in a catalog region."""
        table = self.inventory.tables[resource]
        return {
            str(table.record(i)["id"])
            for i in range(table.count)
            if i not in table.deleted and (table.region is None or table.region[i] == region)
        }

    # -- changing the inventory while serving (drift tests, snapshot diffs) --------------------
    def update(self, resource: str, id_or_name: str, **fields: Any) -> None:
        """Change fields of one row, e.g. ``sb.update("servers", sid, status="ready")``, as a
        change through the API: ``updated_at`` becomes now (whole seconds) and
        ``update_version`` goes up by one, even when no value changes; an ``updated_at``
        given here wins (a change made in the database). A host's new name shows in its
        servers' records at once, their ``updated_at`` unchanged (cloudpods-api.md §10)."""
        self.inventory.tables[resource].change(self._row(resource, id_or_name), **fields)

    def delete(self, resource: str, id_or_name: str) -> None:
        """Soft-delete one row: lists no longer show it and its GET answers 404; an admin's
        ``delete=all`` shows it with ``deleted: true`` and ``deleted_at`` (§10)."""
        self.inventory.tables[resource].delete(self._row(resource, id_or_name))

    def create_servers(
        self, n: int, *, project: str = "system", region: str = "region0"
    ) -> list[str]:
        """Create ``n`` servers (copies of existing ones with new ids and names, created now)."""
        from .inventory import fmt_time, make_id, utc_now

        table = self.inventory.tables["servers"]
        p = self.inventory.project_index(project)
        proj = self.inventory.projects[p]
        live = [i for i in range(table.count) if i not in table.deleted]
        here = [i for i in live if table.region[i] == region] or live
        # a scheduled server, so that hosts count the copies; any server in a tiny inventory
        template = next((i for i in here if "host_id" in table.record(i)), here[0])
        now = fmt_time(utc_now())
        ids = []
        for _ in range(n):
            k = table.count
            rec = table.record(template)
            rec.update(
                id=make_id(self.inventory.seed, "new-server", k),
                name=f"new-server-{k:07d}",
                created_at=now,
                updated_at=now,
                update_version=1,
                status="running",
                pending_deleted=False,
                tenant=proj.name,
                tenant_id=proj.id,
                project=proj.name,
                domain_id=proj.domain_id,
                project_domain=self.inventory.domain_name(proj.domain_id),
            )
            rec.pop("metadata", None)
            rec.pop("expired_at", None)
            rec.pop("description", None)
            rec.pop("pending_deleted_at", None)
            rec["billing_type"] = "postpaid"
            table.create(rec, owner=p, region=region)
            ids.append(rec["id"])
        return ids

    def _row(self, resource: str, id_or_name: str) -> int:
        i = self.inventory.tables[resource].find(id_or_name)
        if i is None:
            raise KeyError(f"no {resource} {id_or_name!r} in the sandbox")
        return i

    def rc(self) -> str:
        """An rc file like ``~/.onecloud_rcadmin`` for this sandbox (contains the secrets)."""
        lines = {
            "OS_AUTH_URL": self.auth_url,
            "OS_ACCESS_KEY": self.access_key,
            "OS_SECRET_KEY": self.secret_key,
            "OS_USERNAME": self.username,
            "OS_PASSWORD": self.password,
            "OS_PROJECT_NAME": self.project,
            "OS_PROJECT_DOMAIN": "default",
            "OS_REGION_NAME": self.region,
            "OS_ENDPOINT_TYPE": "publicURL",
        }
        return "".join(f"export {k}={_quote(v)}\n" for k, v in lines.items())

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``cpexplore.Session`` that log in to this sandbox with AK/SK."""
        kw = {
            "auth_url": self.auth_url,
            "access_key": self.access_key,
            "secret_key": self.secret_key,
            "region": self.region,
        }
        kw.update(overrides)
        return kw


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "-_.:/@=+" for c in value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"
