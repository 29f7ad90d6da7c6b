"""Credentials for an upstream index, found where pip and uv find them.

In order: a name and password in the index URL (`https://USER:TOKEN@host/simple/`, as
both take them); for a named index, UV_INDEX_{NAME}_USERNAME and UV_INDEX_{NAME}_PASSWORD
(uv's variables; NAME is the index's name upper-cased, other characters as '_'); then the
netrc file, $NETRC or ~/.netrc, by host, as both read it. The first two go only to the
index's own origin (scheme, host and port); netrc's go to the host they are written for,
files on another host included, as pip and uv send them. A netrc file that can't be parsed
is passed over, as requests and uv pass it over, and the 401 that follows says why.
"""

from __future__ import annotations

import base64
import netrc
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


@dataclass(frozen=True)
class Login:
    username: str
    password: str

    @property
    def header(self) -> str:
        pair = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(pair).decode("ascii")


def split_login(url: str) -> tuple[str, Login | None]:
    """The URL without its userinfo, and the login the userinfo held (None: none)."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    clean = urlunsplit(parts._replace(netloc=netloc))
    return clean, Login(unquote(parts.username), unquote(parts.password or ""))


def variable_name(index_name: str) -> str:
    """uv's form of an index's name in its variables: `my-index` → `MY_INDEX`."""
    return "".join(c.upper() if c.isascii() and c.isalnum() else "_" for c in index_name)


def env_login(index_name: str, env: Mapping[str, str]) -> Login | None:
    stem = f"UV_INDEX_{variable_name(index_name)}"
    username, password = env.get(f"{stem}_USERNAME"), env.get(f"{stem}_PASSWORD")
    if username is None and password is None:
        return None
    return Login(username or "", password or "")


@dataclass(frozen=True)
class NetrcLogins:
    """Logins by host from the netrc file the environment names."""

    path: Path
    hosts: Mapping[str, Login] = field(default_factory=dict[str, Login])
    problem: str = ""
    """Why the file was passed over, when it exists and can't be parsed."""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> NetrcLogins:
        named = env.get("NETRC")
        home = env.get("HOME") or os.path.expanduser("~")
        path = Path(named) if named else Path(home) / ".netrc"
        try:
            parsed = netrc.netrc(str(path))
        except FileNotFoundError:
            return cls(path)
        except (netrc.NetrcParseError, OSError) as error:
            return cls(path, problem=f"which could not be read: {error}")
        hosts = {
            host: Login(login or "", password or "")
            for host, (login, _, password) in parsed.hosts.items()
        }
        return cls(path, hosts)

    def login(self, host: str) -> Login | None:
        return self.hosts.get(host) or self.hosts.get("default")


@dataclass
class UpstreamCredentials:
    """What one upstream index is read with: a verify.client Credentials."""

    index: str
    login: Login | None
    netrc: NetrcLogins
    source: str = field(default="")
    """Where `login` came from, for messages: "the URL" or a variable's name."""

    def authorization(self, url: str, index_url: str) -> str | None:
        target, index = urlsplit(url), urlsplit(self.index)
        if self.login is not None and (target.scheme, target.netloc) == (
            index.scheme,
            index.netloc,
        ):
            return self.login.header
        found = self.netrc.login(target.hostname or "")
        return found.header if found else None

    def unauthorized(self) -> str:
        """What a 401 from this index asks for."""
        tried = f"the login from {self.source} was refused; " if self.login else ""
        netrc_problem = f" ({self.netrc.problem})" if self.netrc.problem else ""
        return (
            f"{tried}the upstream index wants credentials: give them in the URL "
            "(--upstream https://USER:TOKEN@HOST/simple/), in UV_INDEX_NAME_USERNAME and "
            "UV_INDEX_NAME_PASSWORD with --upstream NAME=URL (as uv reads them), or in "
            f"{self.netrc.path}{netrc_problem}"
        )


def upstream_credentials(
    url: str, *, name: str | None, env: Mapping[str, str], netrc_logins: NetrcLogins
) -> UpstreamCredentials:
    """The credentials for the index at `url` (its login, if any, stripped from it)."""
    clean, login = split_login(url)
    source = "the URL"
    if login is None and name is not None:
        login = env_login(name, env)
        source = f"UV_INDEX_{variable_name(name)}_USERNAME and _PASSWORD"
    return UpstreamCredentials(clean, login, netrc_logins, source if login else "")
