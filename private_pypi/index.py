"""Safe updates of the index pages by many writers at once, with no lock to run.

Each page's JSON document is its record. An update reads it, applies a change, and
writes it back only if nobody wrote it meanwhile (If-Match, or If-None-Match: * for a new
page); when that fails, or S3 answers that a conflicting request was in flight (409), it
re-reads and retries, with jittered backoff. The HTML twins are written after the JSON,
each on the condition that nobody wrote it since its ETag was looked at, before the JSON
was committed: so no writer, slow or killed, puts HTML from an older record over HTML
from a newer one, and the last HTML written is the latest record's.
A writer that finds the JSON unchanged still writes the HTML, which repairs HTML that a
killed writer left behind.

A project's update also keeps what its browse pages show: the details of the release
they show (read from the stored files when that release changes), the record's serial,
the stored stylesheet and script, and, after the project's pages, its line in the
catalog, the record of the browse root page. A line is only ever replaced by one from a
newer record (a higher serial), so racing writers leave the newest.

Every update returns the keys it wrote, for the CDN to drop: nothing is shared between
updates, so one Index serves any number of threads. Requests that need not wait for each
other go at once, on the index's workers: the looks at a page's copies, and their writes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Generic, TypeVar

from packaging.utils import NormalizedName
from packaging.version import Version

from . import layout
from .advice import Command
from .browse.assets import ASSETS, ASSETS_ID, Asset
from .describe import describe
from .errors import ConditionalConflict, PreconditionFailed, PrivatePypiError
from .pages import (
    CATALOG_PAGE,
    PROJECT_PAGE,
    ROOT_PAGE,
    Catalog,
    InvalidPage,
    PageFormat,
    ProjectPage,
    Rendering,
)
from .storage import ObjectInfo, RetryPolicy, Storage, StoredObject
from .workers import Workers

Record = TypeVar("Record")
Result = TypeVar("Result")

# A conditional write that did not take effect: the page changed (412), or S3 met another
# request on it in flight (409); either way the writer reads the page again and retries.
NOT_APPLIED = (PreconditionFailed, ConditionalConflict)


class ConcurrentUpdateError(PrivatePypiError):
    """Other writers kept changing a page; nothing of this update was lost, run it again."""


class CorruptPage(PrivatePypiError):
    """A stored page is unreadable; reindex rebuilds it."""


@dataclass(frozen=True)
class Snapshot(Generic[Record]):
    """A page's record as read (`stored` None: there was none), so that an update can
    start from it without reading it again."""

    format: PageFormat[Record]
    directory: str
    stored: StoredObject | None

    @property
    def key(self) -> str:
        return self.format.record.key(self.directory)

    @property
    def record(self) -> Record | None:
        """The record; CorruptPage if it is unreadable."""
        if self.stored is None:
            return None
        return _parse(self.format, self.stored.body, self.key)

    @property
    def readable_record(self) -> Record | None:
        """The record, or None when there is none or it is unreadable: what a repair
        starts from."""
        if self.stored is None:
            return None
        try:
            return self.format.parse(self.stored.body)
        except InvalidPage:
            return None


ProjectSnapshot = Snapshot[ProjectPage]
RootSnapshot = Snapshot[frozenset[NormalizedName]]
CatalogSnapshot = Snapshot[Catalog]


@dataclass(frozen=True)
class Update(Generic[Record]):
    """What an update did: the record as committed, and every key written for it, in the
    order written (none when the page was so already): what a CDN must drop."""

    record: Record
    written: tuple[str, ...] = ()


# Each copy of a page, with the ETag it had when looked at (None: not there yet).
CopyEtags = list[tuple[Rendering[Record], str | None]]


@dataclass(frozen=True)
class Committed(Generic[Record]):
    """A record committed, and the look at its copies taken before: what writing the
    copies needs."""

    update: Update[Record]
    copies: CopyEtags[Record]


@dataclass(frozen=True)
class ProjectStart:
    """What an update of a project page may start from, read at once before it: its
    snapshot and the look at its copies (None: the update reads them itself)."""

    read: ProjectSnapshot | None = None
    copies: CopyEtags[ProjectPage] | None = None


@dataclass(frozen=True)
class CatalogStart:
    """The same for the catalog, whose lines the project pages' updates move."""

    read: CatalogSnapshot | None = None
    copies: CopyEtags[Catalog] | None = None


ProjectChange = Callable[[ProjectPage | None], ProjectPage]
RootChange = Callable[[frozenset[NormalizedName]], frozenset[NormalizedName]]
CatalogChange = Callable[[Catalog | None], Catalog]


@dataclass
class Index:
    storage: Storage
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rng: random.Random = field(default_factory=random.Random)
    sleep: Callable[[float], None] = time.sleep
    # One bounded pool for every request this index's users make at once.
    workers: Workers = field(init=False, repr=False, compare=False)
    _assets_stored: bool = field(default=False, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.workers = Workers(self.storage.parallel_requests)

    def project(self, name: NormalizedName) -> ProjectPage | None:
        return self.snapshot(name).record

    def snapshot(self, name: NormalizedName) -> ProjectSnapshot:
        directory = layout.project_dir(name)
        stored = self.storage.read(PROJECT_PAGE.record.key(directory))
        return Snapshot(PROJECT_PAGE, directory, stored)

    def root_snapshot(self) -> RootSnapshot:
        return Snapshot(ROOT_PAGE, layout.INDEX_PREFIX, self.storage.read(layout.ROOT_JSON))

    def catalog_snapshot(self) -> CatalogSnapshot:
        return Snapshot(CATALOG_PAGE, layout.BROWSE_PREFIX, self.storage.read(layout.CATALOG_JSON))

    def html_lags(self, name: NormalizedName, page: ProjectPage) -> bool:
        """Whether a copy of the project's HTML (its browse page too) is not `page`, or its
        catalog line is older, as a writer killed between the JSON and the rest leaves
        them: then the next writer of the page brings them level."""
        if not self._copies_hold(layout.project_dir(name), PROJECT_PAGE, page, listed=None):
            return True
        catalog = self.catalog_snapshot().readable_record
        return catalog is None or catalog.lags(name, page)

    def project_copies(self, name: NormalizedName, *, new: bool = False) -> CopyEtags[ProjectPage]:
        """A look at the ETags of the project page's copies, for an update to start from
        (`copies`): taken before the update commits its record, and never reused for
        another.

        The copies of a `new` page (no record was found) are taken to be absent, with no
        look: one that is there after all, a racing writer's, fails its write's
        If-None-Match, and then the update looks again."""
        if new:
            copies = PROJECT_PAGE.copies_on(directory_keys=self.storage.directory_keys)
            return [(copy, None) for copy in copies]
        return self._copy_etags(layout.project_dir(name), PROJECT_PAGE)

    def root_copies(self) -> CopyEtags[frozenset[NormalizedName]]:
        """The same look at the root page's copies."""
        return self._copy_etags(layout.INDEX_PREFIX, ROOT_PAGE)

    def projects(self) -> frozenset[NormalizedName]:
        return self.root_snapshot().record or frozenset()

    def catalog_copies(self) -> CopyEtags[Catalog]:
        """The same look at the catalog's copy, the browse root page."""
        return self._copy_etags(layout.BROWSE_PREFIX, CATALOG_PAGE)

    def update_project(
        self,
        name: NormalizedName,
        change: ProjectChange,
        *,
        read: ProjectSnapshot | None = None,
        copies: CopyEtags[ProjectPage] | None = None,
    ) -> Update[ProjectPage]:
        """Apply `change` to the project's page. `read` (a snapshot) and `copies` (from
        project_copies) save the update reading them again: taken at once, before it."""
        start = ProjectStart(read, copies)
        return self.update_projects({name: change}, {name: start})[name]

    def update_projects(
        self,
        changes: Mapping[NormalizedName, ProjectChange],
        starts: Mapping[NormalizedName, ProjectStart] | None = None,
        *,
        catalog: CatalogStart | None = None,
    ) -> dict[NormalizedName, Update[ProjectPage]]:
        """Apply each change to its project's page, all at once, in three rounds: the
        records; their copies, beside the catalog's lines of the projects whose line is
        older than the page committed (the change moved it, or a writer killed before the
        catalog left it behind; every writer of a project looks, so none leaves it
        lagging); and the browse root page, which links the projects' browse pages.
        `starts` and `catalog` save the updates reading what was read already.

        Every page is updated even if another's update fails; then the first failure is
        raised, and the pages it left lagging are levelled by their next writer."""
        starts = starts or {}
        names = list(changes)

        catalog = catalog or CatalogStart()
        # The catalog is read and looked at beside the commits, where it was not already:
        # its lines only ever move forward, so a catalog read early is older at worst,
        # and its commit's condition finds that out.
        catalog_read, catalog_copies = catalog.read, catalog.copies
        outcomes: dict[NormalizedName, Committed[ProjectPage] | PrivatePypiError] = {}

        def commit(name: NormalizedName) -> None:
            start = starts.get(name, ProjectStart())

            def settled(current: ProjectPage | None) -> ProjectPage:
                return self.settle(changes[name](current), current)

            directory = layout.project_dir(name)
            outcomes[name] = _or_failure(
                partial(self._commit, directory, PROJECT_PAGE, settled, start.read, start.copies)
            )

        def read_catalog() -> None:
            nonlocal catalog_read
            catalog_read = self.catalog_snapshot()

        def look_at_catalog() -> None:
            nonlocal catalog_copies
            catalog_copies = self.catalog_copies()

        calls: list[Callable[[], None]] = [partial(commit, name) for name in names]
        if catalog.read is None:
            calls.append(read_catalog)
        if catalog.copies is None:
            calls.append(look_at_catalog)
        self.workers.run(calls)
        committed = {n: c for n in names if isinstance(c := outcomes[n], Committed)}
        known = catalog_read
        assert known is not None, "read beside the commits"
        current = known.readable_record
        lagging = {
            name: done.update.record
            for name, done in committed.items()
            if current is None or current.lags(name, done.update.record)
        }

        def add_lines(current: Catalog | None) -> Catalog:
            catalog = current or Catalog()
            for name, page in lagging.items():
                catalog = catalog.with_line(name, page)
            return catalog

        updates: dict[NormalizedName, Update[ProjectPage] | PrivatePypiError] = {}
        lines: list[Committed[Catalog] | PrivatePypiError] = []

        def write_copies(name: NormalizedName) -> None:
            directory = layout.project_dir(name)
            done = committed[name]
            updates[name] = _or_failure(partial(self._with_copies, directory, PROJECT_PAGE, done))

        def commit_lines() -> None:
            settled = self._settled_catalog(add_lines)
            lines.append(
                _or_failure(
                    partial(
                        self._commit,
                        layout.BROWSE_PREFIX,
                        CATALOG_PAGE,
                        settled,
                        known,
                        catalog_copies,
                    )
                )
            )

        # The pages' copies and the lines' commit, all at once.
        copies = [partial(write_copies, name) for name in committed]
        self.workers.run([*copies, commit_lines] if lagging else copies)
        failures = [
            failed
            for failed in (*outcomes.values(), *updates.values(), *lines)
            if isinstance(failed, PrivatePypiError)
        ]
        for line in lines:
            if isinstance(line, PrivatePypiError):
                continue
            root = self._with_copies(layout.BROWSE_PREFIX, CATALOG_PAGE, line)
            # The catalog's keys go with the first page updated that moved a line, for the
            # CDN to drop them once.
            for name in lagging:
                if isinstance(update := updates[name], Update):
                    updates[name] = Update(update.record, update.written + root.written)
                    break
        if failures:
            raise failures[0]
        return {name: update for name in names if isinstance(update := updates[name], Update)}

    def settle(self, page: ProjectPage, previous: ProjectPage | None) -> ProjectPage:
        """`page` as it is committed after `previous`: with the details of the release it
        shows, its stylesheet and script stored, and its serial moved on if it changed."""
        shown = page.shown_version
        if shown is None:
            page = replace(page, about=None)
        elif page.about is None or Version(page.about.version) != shown:
            page = replace(page, about=describe(self.storage, page, shown))
        if page.assets != ASSETS_ID:
            self.store_assets()
            page = replace(page, assets=ASSETS_ID)
        if previous is None:
            return replace(page, serial=1)
        changed = replace(page, serial=previous.serial) != previous
        return replace(page, serial=previous.serial + int(changed))

    def store_assets(self) -> None:
        """Store the browse pages' stylesheet and script, unless they are stored: they never
        change (their names carry their content's hash), so the first writer's stand. Once
        per index: a page settled after that finds them stored."""
        if not self._assets_stored:
            self.workers.run(partial(self._store_asset, asset) for asset in ASSETS)
            self._assets_stored = True

    def _store_asset(self, asset: Asset) -> None:
        last: Exception | None = None
        for delay in self.retry.delays(self.rng):
            try:
                self.storage.write(
                    asset.key,
                    asset.body,
                    content_type=asset.content_type,
                    cache_control=layout.FILE_CACHE_CONTROL,
                    create_only=True,
                )
            except PreconditionFailed:
                return
            except ConditionalConflict as in_flight:
                last = in_flight
                self.sleep(delay)
                continue
            return
        raise ConcurrentUpdateError(self._gave_up(asset.key, last))

    def _settled_catalog(self, change: CatalogChange) -> CatalogChange:
        def settled(current: Catalog | None) -> Catalog:
            catalog = change(current)
            if catalog.assets != ASSETS_ID:
                self.store_assets()
                catalog = replace(catalog, assets=ASSETS_ID)
            return catalog

        return settled

    def update_root(
        self,
        change: RootChange,
        *,
        read: RootSnapshot | None = None,
        copies: CopyEtags[frozenset[NormalizedName]] | None = None,
    ) -> Update[frozenset[NormalizedName]]:
        def changed(names: frozenset[NormalizedName] | None) -> frozenset[NormalizedName]:
            return change(names or frozenset())

        done = self._commit(layout.INDEX_PREFIX, ROOT_PAGE, changed, read, copies)
        return self._with_copies(layout.INDEX_PREFIX, ROOT_PAGE, done)

    def replace(
        self,
        read: Snapshot[Record],
        record: Record,
        *,
        listed: Mapping[str, ObjectInfo],
        rebuild: Callable[[Record | None], Record],
    ) -> Update[Record]:
        """Make the page `record`, which was built from `read`, unless it is so already: the
        repair of a page from what is stored.

        `listed` holds the page's objects as listed, so that a copy whose listed ETag is
        its content's is not read again; the listing is also the look at the copies that
        an update takes before it commits, so they are not looked at again. An unreadable
        record is replaced outright, unless it was replaced meanwhile. A page changed since
        `read` becomes `rebuild` of what it is then.
        """
        if self._holds_already(read, record, listed):
            return Update(record)
        expected = read.readable_record
        start: Snapshot[Record] | None = read
        replaced: tuple[str, ...] = ()
        if read.stored is not None and expected is None:
            # An unreadable record can't be updated: replace it, if nobody did meanwhile.
            body = read.format.record.render(record)
            try:
                etag = self._replace_unreadable(read.key, read.format, body, read.stored.etag)
            except PreconditionFailed:
                start = None  # replaced meanwhile: start from the new record
            else:
                start = Snapshot(read.format, read.directory, StoredObject(read.key, body, etag))
                expected, replaced = record, (read.key,)

        def change(current: Record | None) -> Record:
            return record if current == expected else rebuild(current)

        looked: CopyEtags[Record] = [
            (copy, info.etag if (info := listed.get(copy.key(read.directory))) else None)
            for copy in read.format.copies_on(directory_keys=self.storage.directory_keys)
        ]
        done = self._commit(read.directory, read.format, change, start, looked)
        update = self._with_copies(read.directory, read.format, done)
        return Update(update.record, replaced + update.written)

    def _replace_unreadable(
        self, key: str, kind: PageFormat[Record], body: bytes, etag: str
    ) -> str:
        """Write `body` over an unreadable record If-Match `etag`: PreconditionFailed if it
        was replaced meanwhile. A write that met a conflicting request is sent again as it
        was: there is nothing to re-read in an unreadable record, and If-Match still
        refuses it if the record changed meanwhile."""
        last: Exception | None = None
        for delay in self.retry.delays(self.rng):
            try:
                return self._write(key, kind.record, body, if_match=etag)
            except ConditionalConflict as conflict:
                last = conflict
                self.sleep(delay)
        raise ConcurrentUpdateError(self._gave_up(key, last))

    def _holds_already(
        self, read: Snapshot[Record], record: Record, listed: Mapping[str, ObjectInfo]
    ) -> bool:
        """Whether the page's record and every copy are `record`'s renderings."""
        if read.stored is None or read.stored.body != read.format.record.render(record):
            return False
        return self._copies_hold(read.directory, read.format, record, listed=listed)

    def _copies_hold(
        self,
        directory: str,
        kind: PageFormat[Record],
        record: Record,
        *,
        listed: Mapping[str, ObjectInfo] | None,
    ) -> bool:
        """Whether every copy of the page is `record`'s rendering: each copy as `listed`,
        or, with no listing, as a HEAD finds it (all at once); read where its ETag doesn't
        tell."""

        def holds(copy: Rendering[Record]) -> bool:
            key = copy.key(directory)
            found = self.storage.head(key) if listed is None else listed.get(key)
            return stores(self.storage, found, copy.render(record))

        copies = kind.copies_on(directory_keys=self.storage.directory_keys)
        if listed is None:
            return all(self.workers.map(holds, copies))
        return all(holds(copy) for copy in copies)

    def _with_copies(
        self, directory: str, kind: PageFormat[Record], done: Committed[Record]
    ) -> Update[Record]:
        """A committed record's update, once its copies are written."""
        record = done.update.record
        return Update(
            record, done.update.written + self._write_copies(directory, kind, record, done.copies)
        )

    def _commit(
        self,
        directory: str,
        kind: PageFormat[Record],
        change: Callable[[Record | None], Record],
        read: Snapshot[Record] | None,
        copies: CopyEtags[Record] | None,
    ) -> Committed[Record]:
        """Commit the page's record, changed: what it is then, and the look at its copies
        taken before, for _write_copies."""
        json_key = kind.record.key(directory)
        last: Exception | None = None
        for delay in self.retry.delays(self.rng):
            # Looked at before the record is committed (see _write_copies), and before it
            # is read unless it was read already: then a record found unchanged is checked
            # to be the latest still, after the look.
            copy_etags = copies if copies is not None else self._copy_etags(directory, kind)
            copies = None
            from_snapshot = read is not None
            stored = read.stored if read is not None else self.storage.read(json_key)
            read = None
            current = None if stored is None else _parse(kind, stored.body, json_key)
            record = change(current)
            body = kind.record.render(record)
            written: tuple[str, ...] = ()
            if stored is not None and stored.body == body:
                etag = stored.etag
                latest = self.storage.head(json_key) if from_snapshot else None
                if from_snapshot and (latest is None or latest.etag != etag):
                    continue  # the snapshot is older than the HTML just looked at
            else:
                try:
                    self._write(
                        json_key,
                        kind.record,
                        body,
                        if_match=None if stored is None else stored.etag,
                        create_only=stored is None,
                    )
                except NOT_APPLIED as not_applied:
                    last = not_applied
                    self.sleep(delay)
                    continue
                written = (json_key,)
            return Committed(Update(record, written), copy_etags)
        raise ConcurrentUpdateError(self._gave_up(json_key, last))

    def _copy_etags(self, directory: str, kind: PageFormat[Record]) -> CopyEtags[Record]:
        def look(copy: Rendering[Record]) -> tuple[Rendering[Record], str | None]:
            info = self.storage.head(copy.key(directory))
            return copy, info.etag if info else None

        return self.workers.map(look, kind.copies_on(directory_keys=self.storage.directory_keys))

    def _write_copies(
        self,
        directory: str,
        kind: PageFormat[Record],
        record: Record,
        etags: CopyEtags[Record],
    ) -> tuple[str, ...]:
        """Write the page's copies, each only if nobody wrote it since `etags` were read, and
        return the keys written.

        The ETags were read before `record` was committed (or read), so a copy written in
        between came from an older record or this one, never a newer one: a writer that
        is slow, or killed, can't put a stale copy over a newer one. When the condition
        fails, the copies are looked at and the record read again, in that order.
        """
        json_key = kind.record.key(directory)
        written: list[str] = []
        last: Exception | None = None
        for delay in self.retry.delays(self.rng):
            # Each copy has its own condition, so they are written at once; all rendered
            # first, so that no write waits for another's rendering.
            bodies = [(copy, etag, copy.render(record)) for copy, etag in etags]
            outcomes = self.workers.map(partial(self._write_copy, directory), bodies)
            written += [
                key for key, outcome in outcomes if isinstance(outcome, str) and key not in written
            ]
            refusals = [outcome for _, outcome in outcomes if isinstance(outcome, Exception)]
            if not refusals:
                return tuple(written)
            last = refusals[0]
            self.sleep(delay)
            etags = self._copy_etags(directory, kind)
            stored = self.storage.read(json_key)
            if stored is None:
                return tuple(written)
            record = _parse(kind, stored.body, json_key)
        raise ConcurrentUpdateError(self._gave_up(json_key, last, " while its copies were written"))

    def _write_copy(
        self, directory: str, rendered: tuple[Rendering[Record], str | None, bytes]
    ) -> tuple[str, str | Exception | None]:
        """Write one copy on the condition of the ETag it was looked at with: its key, and
        its new ETag, or what refused it, or None where it holds this very rendering
        already (a write would change nothing)."""
        copy, etag, body = rendered
        key = copy.key(directory)
        if etag is not None and etag == self.storage.etag_for(body):
            return key, None
        try:
            return key, self._write(key, copy, body, if_match=etag, create_only=etag is None)
        except NOT_APPLIED as not_applied:
            return key, not_applied

    def _gave_up(self, key: str, last: Exception | None, when: str = "") -> str:
        """The one line for a page whose writes never took effect, by what refused the last."""
        attempts = f"{self.retry.attempts} attempts"
        why = (
            f"kept meeting conflicting requests{when} (S3 answered 409 "
            f"ConditionalRequestConflict, {attempts})"
            if isinstance(last, ConditionalConflict)
            else f"kept changing{when} ({attempts})"
        )
        return f"{self.storage.location}/{key} {why}; nothing was lost, run the same command again"

    def _write(
        self,
        key: str,
        rendering: Rendering[Record],
        body: bytes,
        *,
        if_match: str | None,
        create_only: bool = False,
    ) -> str:
        return self.storage.write(
            key,
            body,
            content_type=rendering.content_type,
            cache_control=layout.PAGE_CACHE_CONTROL,
            if_match=if_match,
            create_only=create_only,
        )


def stores(storage: Storage, listed: ObjectInfo | None, body: bytes) -> bool:
    """Whether the object listed as `listed` (None: not listed) holds `body`: by its ETag
    where the storage's ETags are its content's, else by reading it."""
    if listed is None:
        return False
    if listed.etag == storage.etag_for(body):
        return True
    stored = storage.read(listed.key)
    return stored is not None and stored.body == body


def _parse(kind: PageFormat[Record], body: bytes, key: str) -> Record:
    try:
        return kind.parse(body)
    except InvalidPage as error:
        raise CorruptPage(
            f"{key} is unreadable ({error}); run ", Command("reindex"), " to rebuild it"
        ) from None


def _or_failure(call: Callable[[], Result]) -> Result | PrivatePypiError:
    """What the call returns, or the error it says in one line: so that one page's failure
    stops no other page's update."""
    try:
        return call()
    except PrivatePypiError as error:
        return error
