"""Runs the Pulumi program or a component against mocks, and records what it declares."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.dynamic.dynamic import PROVIDER_KEY
from pulumi.output import Unknown
from pulumi.runtime.mocks import MockEngine, MockMonitor
from pulumi.runtime.rpc import UNKNOWN
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.key_clock import KeyClockProvider, parse_moment

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "__main__.py"
PROJECT = "private-pypi"
ACCOUNT = "123456789012"
DISTRIBUTION_ID = "E2QWRUHEXAMPLE"
DISTRIBUTION_DOMAIN = "d111111abcdef8.cloudfront.net"
LOOKED_UP_ZONE_ID = "Z0LOOKEDUP"
ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
KEY_CREATED = "2025-01-01T00:00:00Z"
# When the program runs, unless a test says otherwise: the moment the key clocks are created.
FIRST_DEPLOY = parse_moment(KEY_CREATED)
KEY_CLOCK = "pulumi-python:dynamic:Resource"
# The engine version the mocked CLI reports to require_pulumi_version.
ENGINE_VERSION = "3.226.0"


def reader_token(resource_name: str) -> str:
    """The mocked RandomPassword of a resource: 32 alphanumerics, distinct per name."""
    return hashlib.sha256(resource_name.encode()).hexdigest()[:32]


# How the engine's wire format marks a secret value (pulumi.runtime.rpc).
_SIGNATURE_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270"


def is_unknown(value: Any) -> bool:
    """Whether a recorded value is, or holds, one the engine doesn't know yet (a preview's)."""
    if isinstance(value, Unknown) or value == UNKNOWN:
        return True
    if isinstance(value, dict):
        return any(map(is_unknown, value.values()))
    return isinstance(value, list) and any(map(is_unknown, value))


class CloudMocks(pulumi.runtime.Mocks):
    """Answers like AWS would, with the computed attributes the program reads.

    The key clocks (dynamic resources) are answered as the engine answers a dynamic provider,
    by the real KeyClockProvider at `now`: created on a new stack; on one that ran before
    (`prior`, what the last run declared) diffed against their state, then kept as they
    were, replaced or updated. A dynamic provider has no preview, so in a preview a clock
    to be created, replaced or updated has no outputs yet. The provider's answers are in
    `diffs`, by resource name. Other resources answer the same in a preview as in an update:
    the tests that preview change nothing else.
    """

    def __init__(self, *, now: datetime, preview: bool, prior: Run | None) -> None:
        self.now = now
        self.preview = preview
        self.prior = {(r.type, r.name): r for r in prior.declared} if prior is not None else {}
        self.diffs: dict[str, pulumi.dynamic.DiffResult] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        if args.typ == KEY_CLOCK:
            return self._key_clock(args.name, dict(args.inputs))
        inputs = dict(args.inputs)
        resource_id = f"{args.name}-id"
        computed: dict[str, Any] = {}
        match args.typ:
            case "aws:s3/bucket:Bucket":
                bucket = inputs["bucket"]
                resource_id = bucket
                computed = {
                    "arn": f"arn:aws:s3:::{bucket}",
                    "bucketRegionalDomainName": f"{bucket}.s3.eu-west-1.amazonaws.com",
                }
            case "aws:cloudfront/distribution:Distribution":
                resource_id = DISTRIBUTION_ID
                computed = {
                    "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/{DISTRIBUTION_ID}",
                    "domainName": DISTRIBUTION_DOMAIN,
                    "hostedZoneId": "Z2FDTNDATAQYW2",
                }
            case "aws:cloudfront/keyValueStore:KeyValueStore":
                computed = {"arn": f"arn:aws:cloudfront::{ACCOUNT}:key-value-store/{args.name}"}
            case "random:index/randomPassword:RandomPassword":
                computed = {"result": reader_token(args.name)}
            case "aws:cloudfront/function:Function":
                computed = {"arn": f"arn:aws:cloudfront::{ACCOUNT}:function/{args.name}"}
            case "aws:iam/user:User":
                computed = {"arn": f"arn:aws:iam::{ACCOUNT}:user/{inputs['name']}"}
                resource_id = inputs["name"]
            case "aws:iam/accessKey:AccessKey":
                resource_id = ACCESS_KEY_ID
                computed = {"secret": SECRET_ACCESS_KEY}
            case "aws:acm/certificate:Certificate":
                computed = {
                    "arn": f"arn:aws:acm:us-east-1:{ACCOUNT}:certificate/created",
                    "domainValidationOptions": [
                        {
                            "domainName": inputs["domainName"],
                            "resourceRecordName": f"_x1.{inputs['domainName']}.",
                            "resourceRecordType": "CNAME",
                            "resourceRecordValue": "_x2.acm-validations.aws.",
                        }
                    ],
                }
            case "aws:route53/record:Record":
                computed = {"fqdn": inputs["name"]}
            case "aws:iam/role:Role":
                computed = {"arn": f"arn:aws:iam::{ACCOUNT}:role/{inputs['name']}"}
                resource_id = inputs["name"]
            case "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
                host = inputs["url"].removeprefix("https://")
                computed = {"arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{host}"}
        return resource_id, {**inputs, **computed}

    def _key_clock(self, name: str, news: dict[str, Any]) -> tuple[str, dict]:
        provider = KeyClockProvider(clock=lambda: self.now)
        old = self.prior.get((KEY_CLOCK, name))
        if old is None:
            replace = True
        else:
            diff = self.diffs[name] = provider.diff(old.id, old.state, news)
            if not diff.changes:
                return old.id, old.state
            replace = bool(diff.replaces)
        if self.preview:
            return "", news
        if replace:
            created = provider.create(news)
            resource_id, outputs = created.id, created.outs
        else:
            assert old is not None
            resource_id, outputs = old.id, provider.update(old.id, old.state, news).outs
        return resource_id, {**(outputs or {}), PROVIDER_KEY: news[PROVIDER_KEY]}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        if args.token == "aws:route53/getZone:getZone":
            return {"zoneId": LOOKED_UP_ZONE_ID, "name": args.args["name"]}, []
        raise NotImplementedError(args.token)


@dataclass(frozen=True)
class Declared:
    """One resource as the program declared it: inputs, the mocked state, and its options."""

    urn: str
    type: str
    name: str
    id: str
    parent: str
    inputs: dict[str, Any]
    secret_inputs: set[str]
    state: dict[str, Any]
    protect: bool
    replacement_trigger: Any
    provider: str
    import_id: str
    delete_before_replace: bool
    retain_on_delete: bool
    dependencies: set[str]


class RecordingMonitor(MockMonitor):
    """The mock monitor drops resource options; this one keeps them for the tests."""

    def __init__(self, mocks: CloudMocks, declared: list[Declared]) -> None:
        super().__init__(mocks)
        self.declared = declared

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            registration = self.resources[response.urn]
            wire_inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
            self.declared.append(
                Declared(
                    urn=response.urn,
                    type=request.type,
                    name=request.name,
                    id=response.id,
                    parent=request.parent,
                    inputs={key: _reveal(value) for key, value in wire_inputs.items()},
                    secret_inputs={key for key, value in wire_inputs.items() if _hides(value)},
                    state=registration.state,
                    protect=request.protect,
                    replacement_trigger=json_format.MessageToDict(request.replacement_trigger)
                    if request.HasField("replacement_trigger")
                    else None,
                    provider=request.provider,
                    import_id=request.importId,
                    delete_before_replace=request.deleteBeforeReplace,
                    retain_on_delete=request.retainOnDelete,
                    dependencies=set(request.dependencies),
                )
            )
        return response


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(_SIGNATURE_KEY) == _SECRET_SIGNATURE


def _hides(value: Any) -> bool:
    """Whether the wire value is, or holds, a secret."""
    if _is_secret(value):
        return True
    if isinstance(value, dict):
        return any(map(_hides, value.values()))
    return isinstance(value, list) and any(map(_hides, value))


def _reveal(value: Any) -> Any:
    """The wire value with its secret wrappers removed."""
    if _is_secret(value):
        return _reveal(value["value"])
    if isinstance(value, dict):
        return {key: _reveal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_reveal(item) for item in value]
    return value


class RecordingEngine(MockEngine):
    """Answers require_pulumi_version as a CLI of ENGINE_VERSION would, recording the ask."""

    def __init__(self, version: str, required: list[str]) -> None:
        super().__init__(None)
        self.version = tuple(map(int, version.split(".")))
        self.required = required

    def RequirePulumiVersion(self, request):
        wanted = request.pulumi_version_range
        self.required.append(wanted)
        if not wanted.startswith(">="):
            raise NotImplementedError(f"the mock engine reads only >= ranges, not {wanted}")
        minimum = tuple(map(int, wanted.removeprefix(">=").split(".")))
        if self.version < minimum:
            raise pulumi.RunError(
                f"Pulumi CLI version {'.'.join(map(str, self.version))} does not satisfy "
                f"the version range {wanted!r}"
            )


@dataclass
class Run:
    """What a program run declared and exported."""

    declared: list[Declared]
    outputs: dict[str, Any] = field(default_factory=dict)
    secret_outputs: set[str] = field(default_factory=set)
    required_versions: list[str] = field(default_factory=list)
    # What the program returned: the component, when run_component declared one.
    component: Any = None
    mocks: CloudMocks | None = None

    def of_type(self, type_: str) -> list[Declared]:
        return [resource for resource in self.declared if resource.type == type_]

    def one(self, type_: str) -> Declared:
        (resource,) = self.of_type(type_)
        return resource

    def named(self, name: str) -> Declared:
        (resource,) = [resource for resource in self.declared if resource.name == name]
        return resource

    @property
    def types(self) -> set[str]:
        return {resource.type for resource in self.declared}


def resolve(value: Any) -> tuple[Any, bool]:
    """The value of an Input, and whether it is a secret."""
    output = pulumi.Output.from_input(value)
    return _sync_await(output.future()), _sync_await(output.is_secret())


def run_under_mocks(
    program: Callable[[], None],
    *,
    stack: str,
    config: dict[str, str],
    into: Run | None = None,
    engine_version: str = ENGINE_VERSION,
    preview: bool = False,
    prior: Run | None = None,
    now: datetime = FIRST_DEPLOY,
) -> Run:
    """Run the program, as `pulumi up` (or with `preview`, `pulumi preview`) would at `now`
    on a stack that `prior` deployed (see CloudMocks); `into` collects what was declared
    even if the program fails."""
    run = into if into is not None else Run([])
    pulumi.runtime.reset_options()
    run.mocks = CloudMocks(now=now, preview=preview, prior=prior)
    monitor = RecordingMonitor(run.mocks, run.declared)
    pulumi.runtime.set_mocks(
        monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor
    )
    pulumi.runtime.settings.SETTINGS.engine = RecordingEngine(engine_version, run.required_versions)
    pulumi.runtime.set_all_config(
        {key if ":" in key else f"{PROJECT}:{key}": value for key, value in config.items()}
    )
    _sync_await(run_pulumi_func(program))
    root = pulumi.runtime.get_root_resource()
    assert isinstance(root, Stack)
    for name, value in root.outputs.items():
        run.outputs[name], secret = resolve(value)
        if secret:
            run.secret_outputs.add(name)
    return run
