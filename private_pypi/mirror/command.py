"""`mirror --from LOCK`: the command, a plain function over the library; its faces print
what it returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from ..index import Index
from ..storage import open_storage
from .copying import Mirror, ProgressFor, no_progress
from .credentials import NetrcLogins, UpstreamCredentials, split_login, upstream_credentials
from .locks import PinnedFile, index_url, read_lock
from .report import MirroredFile, MirrorResult
from .upstream import Upstream


def mirror(
    locks: Sequence[Path],
    *,
    repository: str,
    env: Mapping[str, str],
    upstream: str | None = None,
    dry_run: bool = False,
    on_file: Callable[[MirroredFile], None] = lambda _: None,
    download_progress: ProgressFor = no_progress,
    upload_progress: ProgressFor = no_progress,
) -> MirrorResult:
    """Copy every file the locks pin into the repository, from `upstream` (NAME=URL or a
    URL; default: the index each lock names for each file, else PyPI).

    Refused files are in the result; a lock that can't be read, an upstream that can't
    be reached and a storage failure raise the library's one-line errors.
    """
    if not locks:
        raise ConfigurationError(
            "nothing to mirror: give a lock with --from (a uv.lock, a pylock.toml or a "
            "requirements file with --hash pins)"
        )
    read = [read_lock(path, env) for path in locks]
    pins = [pin for lock in read for pin in lock.files]
    names = {url: name for lock in read for url, name in lock.index_names.items()}
    if upstream is not None:
        name, url = _named(upstream)
        if name:
            names[split_login(url)[0]] = name
        pins = [replace(pin, indexes=(url,)) for pin in pins]
    credentials = _credentials(pins, names, env)
    pins = [replace(pin, indexes=tuple(credentials[i].index for i in pin.indexes)) for pin in pins]
    storage = open_storage(repository, env)
    result = MirrorResult(storage.location, storage.index_url, dry_run, read)
    with Upstream({credential.index: credential for credential in credentials.values()}) as reader:
        copy = Mirror(
            Index(storage),
            reader,
            download_progress=download_progress,
            upload_progress=upload_progress,
            on_file=on_file,
        ).run(pins, dry_run=dry_run)
    result.files, result.pages = copy.files, copy.pages
    return result


def _named(upstream: str) -> tuple[str | None, str]:
    """uv's --index form: `NAME=URL` names the index (its credentials' variables)."""
    name, equals, url = upstream.partition("=")
    if not (equals and name and "/" not in name and ":" not in name):
        name, url = "", upstream
    if urlsplit(url).scheme not in {"http", "https", "file"}:
        raise ConfigurationError(
            f"--upstream {split_login(url)[0]!r} is not an index URL: give one such as "
            "https://pypi.org/simple/, or NAME=URL to name it as uv does"
        )
    return name or None, index_url(url)


def _credentials(
    pins: list[PinnedFile], names: Mapping[str, str], env: Mapping[str, str]
) -> dict[str, UpstreamCredentials]:
    """Each index's credentials, by the URL the pins give (which may hold a login)."""
    netrc_logins = NetrcLogins.from_env(env)
    found: dict[str, UpstreamCredentials] = {}
    for url in {index for pin in pins for index in pin.indexes}:
        found[url] = upstream_credentials(
            url, name=names.get(split_login(url)[0]), env=env, netrc_logins=netrc_logins
        )
    return found
