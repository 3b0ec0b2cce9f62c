"""The pull ledger: which remote files were pulled, kept in an object store with conditional writes.

A remote file's identity is (bank, path, size, mtime): the same name with a new size or mtime
is a new delivery and is pulled again. The pull records are one schema of the ledger
(``bankgate.ledger``: by default at ``<root>sftp/``); a pull writes the staged object's link
(:meth:`PullLedger.link`, before the transfer) and its ``staged`` index entry under the root.
Layout under the pull ledger's prefix (JSON objects an operator can read with the tools they have):

- ``<bank>/pulled/<mtime date>/<id>.json``: one record per completed pull. Partitioned by the
  file's mtime date so that "already pulled?" for a whole listing is one LIST per date present
  on the server, not one request per file, however long the ledger grows;
- ``<bank>/claims/<id>.json``: a pull in progress, created with a conditional write (S3
  ``If-None-Match``, GCS ``ifGenerationMatch=0``, link on a local directory) so of two
  concurrent runs exactly one pulls the file; a claim past its expiry (15 minutes plus a
  second per MiB) belongs to a dead worker and is taken over (conditional replace);
- ``content/<sha256>.json``: the first file seen with that content, across banks; a later pull
  of the same bytes under another identity records ``duplicate_of`` (flagged, still landed);
- ``<bank>/observations.json``: the stability rule's sizes and mtimes from the last run.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from bankgate import settings
from bankgate.lease import Contended, Current, Lease, swap
from bankgate.ledger import index, links
from bankgate.ledger.root import DEFAULT_PREFIX, Root
from bankgate.sftp import names
from bankgate.sftp.listing import RemoteFile
from bankgate.sftp.stability import Observation
from bankgate.store.base import ObjectStore

#: A claim expires this long after it was taken, plus a second per MiB of the file (a pull
#: slower than 1 MiB/s is stuck): a worker that died blocks its files for minutes, not hours.
LEASE_SECONDS = 15 * 60
_BANK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _day(mtime: int) -> str:
    return datetime.fromtimestamp(mtime, UTC).date().isoformat()


def bank_day(remote: RemoteFile, zone: tzinfo) -> str:
    """The bank's day a file belongs to: its mtime's date in the bank's time zone, the day of
    the pull window that takes it (the index and the link file it under this day)."""
    return datetime.fromtimestamp(remote.mtime, zone).date().isoformat()


def identity(bank: str, remote: RemoteFile) -> str:
    """The id of a delivery, from the exact bytes of its path (the same id as ever for UTF-8)."""
    raw = f"{bank}\0{remote.path}\0{remote.size}\0{remote.mtime}".encode("utf-8", "surrogateescape")
    return hashlib.sha256(raw).hexdigest()[:40]


@dataclass
class PullRecord:
    """One verified pull. ``path`` is text (``names.text``); for a name that is not UTF-8,
    ``raw_path`` holds its exact bytes, percent-encoded (``remote_path`` rebuilds it)."""

    bank: str
    path: str
    size: int
    mtime: int
    sha256: str
    key: str
    url: str
    pulled_at: float
    post_pull: str = ""
    forced: bool = False
    duplicate_of: dict[str, Any] | None = None
    raw_path: str = ""
    day: str = ""  # the bank's day (``bank_day``); "" in records written before it was kept
    airflow: dict[str, str] = field(default_factory=dict)  # dag_id, run_id, task_id when pulled by a task

    @property
    def remote_path(self) -> str:
        """The exact remote path (see ``names``)."""
        return names.from_fields({"path": self.path, "raw_path": self.raw_path})

    def to_json(self) -> bytes:
        fields = asdict(self)
        for optional in ("raw_path", "day", "airflow"):
            if not fields[optional]:
                del fields[optional]
        return json.dumps(fields, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PullRecord:
        raw = json.loads(data)
        return cls(**{k: v for k, v in raw.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Claim:
    """The right to pull one file; released on failure, consumed by ``record``."""

    bank: str
    remote: RemoteFile
    key: str
    etag: str


@dataclass
class ClaimResult:
    claim: Claim | None
    reason: str = ""  # why not granted: "already pulled", "being pulled by another run"
    holder: dict[str, Any] = field(default_factory=dict)


class PullLedger:
    def __init__(
        self,
        store: ObjectStore,
        prefix: str = DEFAULT_PREFIX + "sftp/",
        *,
        lease: float = LEASE_SECONDS,
        root: Root | None = None,
    ):
        self.store = store
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self.lease = lease
        self.root = root or Root(store, DEFAULT_PREFIX)  # where links and the index go

    # -- keys -----------------------------------------------------------------------------------

    def _bank(self, bank: str) -> str:
        if not _BANK.match(bank):
            raise ValueError(f"bank name {bank!r} must be letters, digits, '.', '_' or '-'")
        return f"{self.prefix}{bank}/"

    def pulled_key(self, bank: str, remote: RemoteFile) -> str:
        return f"{self._bank(bank)}pulled/{_day(remote.mtime)}/{identity(bank, remote)}.json"

    def claim_key(self, bank: str, remote: RemoteFile) -> str:
        return f"{self._bank(bank)}claims/{identity(bank, remote)}.json"

    def content_key(self, sha256: str) -> str:
        return f"{self.prefix}content/{sha256[:2]}/{sha256}.json"

    def observations_key(self, bank: str) -> str:
        return f"{self._bank(bank)}observations.json"

    # -- dedup ------------------------------------------------------------------------------------

    def pulled(self, bank: str, files: Iterable[RemoteFile]) -> set[RemoteFile]:
        """Those of ``files`` already pulled: one LIST per mtime date among them."""
        by_day: dict[str, list[RemoteFile]] = {}
        for f in files:
            by_day.setdefault(_day(f.mtime), []).append(f)
        done: set[RemoteFile] = set()
        for day, group in by_day.items():
            prefix = f"{self._bank(bank)}pulled/{day}/"
            names = {info.key.rsplit("/", 1)[-1] for info in self.store.list(prefix)}
            done.update(f for f in group if f"{identity(bank, f)}.json" in names)
        return done

    def pulled_between(self, bank: str, since: float, end: float) -> list[PullRecord]:
        """Records of the files pulled whose remote mtime is in ``[since, end)``: one LIST per
        UTC day the range touches (records are filed by the mtime's UTC date)."""
        first = datetime.fromtimestamp(since, UTC).date()
        last = datetime.fromtimestamp(max(since, end - 1), UTC).date()
        found = []
        for offset in range((last - first).days + 1):
            prefix = f"{self._bank(bank)}pulled/{(first + timedelta(days=offset)).isoformat()}/"
            for info in self.store.list(prefix):
                pulled = PullRecord.from_json(self.store.read_bytes(info.key))
                if since <= pulled.mtime < end:
                    found.append(pulled)
        return found

    def already_pulled(self, bank: str, remote: RemoteFile) -> bool:
        return self.store.info(self.pulled_key(bank, remote)) is not None

    def get(self, bank: str, remote: RemoteFile) -> PullRecord | None:
        try:
            return PullRecord.from_json(self.store.read_bytes(self.pulled_key(bank, remote)))
        except KeyError:
            return None

    def claim(self, bank: str, remote: RemoteFile, *, force: bool = False, now: float | None = None) -> ClaimResult:
        """Claim a file for pulling. Exactly one of several concurrent claimants is granted; a
        claim whose lease ran out (its worker died) is taken over."""
        key = self.claim_key(bank, remote)
        stamp = time.time() if now is None else now
        mine = Lease(self.lease).holder(stamp, extra_seconds=remote.size / (1 << 20), bank=bank, path=remote.text)

        def change(current: Current | None) -> tuple[bytes | None, dict[str, Any]]:
            holder: dict[str, Any] = {}
            if current is not None:
                try:
                    holder = json.loads(current.data)
                except ValueError:
                    holder = {}  # unreadable: treated as expired
                if Lease.live(holder, stamp):
                    return None, holder
            return json.dumps(mine).encode(), holder

        try:
            written, holder = swap(self.store, key, change, attempts=4)
        except Contended:
            return ClaimResult(None, "being pulled by another run")
        if written is None:
            return ClaimResult(None, "being pulled by another run", holder)
        # Checked after claiming: a run that finished just before our claim left its record.
        if not force and self.already_pulled(bank, remote):
            self.store.delete(key)
            return ClaimResult(None, "already pulled")
        return ClaimResult(Claim(bank, remote, key, written))

    def release(self, claim: Claim) -> None:
        self.store.delete(claim.key)

    def record_ref(self, bank: str, remote: RemoteFile) -> str:
        """The pull record's name in a link: its key below the root, or its URL outside it."""
        key = self.pulled_key(bank, remote)
        return self.root.relative(self.store, key) or self.store.url_of(key)

    def link(self, bank: str, remote: RemoteFile, staged_url: str, day: str) -> None:
        """Link the staging URL the file is about to be landed at to its pull record: written
        before the object exists, so the processing claim that follows its event finds it."""
        links.write(self.root, staged_url, self._link(bank, remote, day))

    def _link(self, bank: str, remote: RemoteFile, day: str) -> links.Link:
        return links.Link("pull", bank, self.record_ref(bank, remote), posixpath.basename(remote.text), day)

    def record(
        self,
        claim: Claim,
        *,
        sha256: str,
        key: str,
        url: str,
        post_pull: str = "",
        forced: bool = False,
        day: str = "",
    ) -> PullRecord:
        """Record a verified pull, flag a content duplicate, note it ``staged`` in the bank's
        day index (``day``, the bank's day; the mtime's UTC date when not given), and drop the claim."""
        remote = claim.remote
        fields = names.to_fields(remote.path)
        record = PullRecord(
            claim.bank, fields["path"], remote.size, remote.mtime, sha256, key, url, time.time(), post_pull, forced
        )
        record.raw_path = fields.get("raw_path", "")
        record.day = day or _day(remote.mtime)
        record.airflow = settings.airflow_task()
        first = {k: getattr(record, k) for k in ("bank", "path", "size", "mtime", "key", "url", "pulled_at")}
        content_key = self.content_key(sha256)
        if self.store.create(content_key, json.dumps(first, sort_keys=True).encode()) is None:
            try:
                owner = json.loads(self.store.read_bytes(content_key))
            except (KeyError, ValueError):
                owner = {}
            same = (owner.get("bank"), owner.get("path"), owner.get("size"), owner.get("mtime")) == (
                claim.bank,
                record.path,
                remote.size,
                remote.mtime,
            )
            if owner and not same:
                record.duplicate_of = owner
        pulled_key = self.pulled_key(claim.bank, remote)
        try:  # a forced re-pull overwrites the record of the earlier pull
            swap(self.store, pulled_key, lambda _current: (record.to_json(), None), attempts=4)
        except Contended:
            self.store.put_bytes(pulled_key, record.to_json(), content_type="application/json")
        link = self._link(claim.bank, remote, record.day)
        index.staged(
            self.root,
            url,
            link,
            record.pulled_at,
            size=remote.size,
            sha256=sha256,
            path=record.path,
            mtime=remote.mtime,
        )
        self.release(claim)
        return record

    def set_post_pull(self, bank: str, remote: RemoteFile, outcome: str) -> PullRecord | None:
        """Note what the post-pull action did in the file's record (a conditional replace, so a
        concurrent forced re-pull's record is not overwritten with stale fields)."""
        key = self.pulled_key(bank, remote)

        def change(current: Current | None) -> tuple[bytes | None, PullRecord | None]:
            if current is None:
                return None, None
            record = PullRecord.from_json(current.data)
            record.post_pull = outcome
            return record.to_json(), record

        try:
            return swap(self.store, key, change, attempts=4)[1]
        except Contended:
            raise RuntimeError(
                f"could not update the pull record {self.store.url_of(key)}: it keeps changing"
            ) from None

    # -- stability observations -------------------------------------------------------------------

    def observations(self, bank: str) -> tuple[dict[str, Observation], str | None]:
        """The last run's observations and the etag to replace them conditionally."""
        key = self.observations_key(bank)
        info = self.store.info(key)
        if info is None:
            return {}, None
        try:
            raw = json.loads(self.store.read_bytes(key))
        except (KeyError, ValueError):
            return {}, info.etag
        seen = {path: Observation(int(v[0]), int(v[1]), float(v[2])) for path, v in raw.get("files", {}).items()}
        return seen, info.etag

    def save_observations(self, bank: str, seen: Mapping[str, Observation], etag: str | None) -> bool:
        """Store this run's observations; False when a concurrent run wrote first (they are
        rebuilt by the next run, so losing one write only delays a pull by a run)."""
        body = json.dumps({"files": {p: [o.size, o.mtime, o.seen_at] for p, o in sorted(seen.items())}}).encode()
        key = self.observations_key(bank)
        if etag is None:
            return self.store.create(key, body) is not None
        return self.store.replace(key, body, etag=etag) is not None
