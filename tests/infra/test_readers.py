"""Private reads under mocks: the readers' store, its keys, the function, the secrets."""

from __future__ import annotations

import json

import pytest

from components.cdn import viewer_request_code
from components.readers import IndexReaders, IndexReadersArgs, token_digest
from components.settings import GitHubRepository, InvalidSetting, KeyRotation, Reader

from .harness import DISTRIBUTION_DOMAIN, KEY_CREATED, SECRET_ACCESS_KEY, Run, reader_token
from .test_components import assert_children_of

CDN = {"projectName": "acme", "aws:region": "eu-west-1", "cdn": "true"}
READERS = [{"name": "ci", "githubRepository": "acme/app"}, {"name": "laptop"}]
PRIVATE = {
    **CDN,
    "access": "private",
    "readers": json.dumps(READERS),
    "github:token": "ghp_example",
}
STORE = "aws:cloudfront/keyValueStore:KeyValueStore"
KEYS = "aws:cloudfront/keyvaluestoreKeysExclusive:KeyvaluestoreKeysExclusive"
FUNCTION = "aws:cloudfront/function:Function"
PASSWORD = "random:index/randomPassword:RandomPassword"
SECRET = "github:index/actionsSecret:ActionsSecret"
KEY_CLOCK = "pulumi-python:dynamic:Resource"


def store_keys(run: Run) -> dict[str, str]:
    return {pair["key"]: pair["value"] for pair in run.one(KEYS).inputs["resourceKeyValuePairs"]}


def test_a_private_stack_keeps_only_token_hashes_at_the_edge(run_program):
    run = run_program(PRIVATE)

    store = run.one(STORE)
    assert store.inputs["name"] == "acme-pypi-staging"
    tokens = run.outputs["readerTokens"]
    assert set(tokens) == {"ci", "laptop"}
    assert store_keys(run) == {name: token_digest(token) for name, token in tokens.items()}
    assert run.one(KEYS).inputs["keyValueStoreArn"] == store.state["arn"]
    for password in run.of_type(PASSWORD):
        assert password.inputs["length"] >= 22  # 62 ** 22 > 2 ** 128
        assert password.inputs["special"] is False


def test_the_function_is_the_private_copy_and_reads_the_store(run_program):
    run = run_program(PRIVATE)

    function = run.one(FUNCTION)
    assert function.inputs["code"] == viewer_request_code(private=True)
    assert function.inputs["keyValueStoreAssociations"] == [run.one(STORE).state["arn"]]
    assert function.inputs["runtime"] == "cloudfront-js-2.0"


def test_a_public_stack_has_no_store_and_the_public_function(run_program):
    run = run_program(CDN)

    assert not run.of_type(STORE) and not run.of_type(KEYS) and not run.of_type(PASSWORD)
    function = run.one(FUNCTION)
    assert function.inputs["code"] == viewer_request_code(private=False)
    assert "keyValueStoreAssociations" not in function.inputs
    assert "readerTokens" not in run.outputs


def test_tokens_stay_secret_everywhere(run_program):
    run = run_program(PRIVATE)

    assert run.secret_outputs == {"accessKeySecret", "readerTokens"}
    tokens = run.outputs["readerTokens"].values()
    for name, value in run.outputs.items():
        if name != "readerTokens":
            for token in tokens:
                assert token not in json.dumps(value), name
    assert "resourceKeyValuePairs" in run.one(KEYS).secret_inputs
    for password in run.of_type(PASSWORD):
        assert "result" not in password.inputs
    assert SECRET_ACCESS_KEY not in json.dumps(run.outputs["readerTokens"])


def test_a_reader_with_a_repository_gets_its_url_name_and_token_as_secrets(run_program):
    run = run_program(PRIVATE)

    secrets = {
        secret.inputs["secretName"]: secret
        for secret in run.of_type(SECRET)
        if secret.name.startswith("readers-")
    }
    assert {name: s.inputs["repository"] for name, s in secrets.items()} == {
        "PRIVATE_PYPI_INDEX_URL": "app",
        "PRIVATE_PYPI_USERNAME": "app",
        "PRIVATE_PYPI_TOKEN": "app",
    }
    assert secrets["PRIVATE_PYPI_INDEX_URL"].inputs["value"] == (
        f"https://{DISTRIBUTION_DOMAIN}/simple/"
    )
    assert secrets["PRIVATE_PYPI_USERNAME"].inputs["value"] == "ci"
    assert secrets["PRIVATE_PYPI_TOKEN"].inputs["value"] == run.outputs["readerTokens"]["ci"]
    assert all("value" in s.secret_inputs for s in secrets.values())
    (provider,) = [
        r for r in run.of_type("pulumi:providers:github") if r.name.startswith("readers-")
    ]
    assert provider.inputs["owner"] == "acme"
    assert all(f"::{provider.name}::" in s.provider for s in secrets.values())


def test_a_readers_secrets_are_written_only_once_the_edge_has_its_token(run_program):
    run = run_program(PRIVATE)

    keys = run.one(KEYS).urn
    reader_secrets = [s for s in run.of_type(SECRET) if s.name.startswith("readers-")]
    assert reader_secrets and all(keys in s.dependencies for s in reader_secrets)


def test_the_github_token_comes_from_config_when_set(run_program):
    run = run_program({**PRIVATE, "github:token": "ghp_example"})

    (provider,) = [
        r for r in run.of_type("pulumi:providers:github") if r.name.startswith("readers-")
    ]
    assert provider.inputs["token"] == "ghp_example"
    assert "token" in provider.secret_inputs


def test_tokens_rotate_with_their_own_key_clock_on_the_deployers_schedule(run_program):
    run = run_program({**PRIVATE, "keyRotation": "two", "keyRotationDays": "30"})

    (clock,) = [r for r in run.of_type(KEY_CLOCK) if r.name == "readers-token-clock"]
    assert clock.parent.endswith("::readers")
    assert (clock.inputs["every_days"], clock.inputs["token"]) == (30, "two")
    passwords = run.of_type(PASSWORD)
    assert {p.name for p in passwords} == {"readers-ci-token", "readers-laptop-token"}
    # A new creation time (the clock replaced: due, or a new token) replaces every token.
    assert all(p.inputs["keepers"] == {"created": KEY_CREATED} for p in passwords)


def test_removing_a_reader_removes_its_key_and_token(run_program):
    run = run_program({**PRIVATE, "readers": json.dumps(READERS[1:])})

    assert set(store_keys(run)) == {"laptop"}
    assert [p.name for p in run.of_type(PASSWORD)] == ["readers-laptop-token"]
    assert not [s for s in run.of_type(SECRET) if s.name.startswith("readers-")]


def test_a_private_stack_without_readers_lets_no_one_in(run_program):
    run = run_program({**CDN, "access": "private"})

    assert store_keys(run) == {}
    assert run.outputs["readerTokens"] == {}


def test_a_reader_repository_without_a_github_token_stops_before_any_resource(
    run_program, monkeypatch
):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    config = {key: value for key, value in PRIVATE.items() if key != "github:token"}

    with pytest.raises(Exception, match=r"github:token: is not set and GITHUB_TOKEN is empty"):
        run_program(config)


def test_the_component_parents_and_names_its_children(run_component, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_fromenvironment")
    run = run_component(
        lambda: IndexReaders(
            "team",
            IndexReadersArgs(
                store_name="acme-pypi-staging",
                readers=(Reader("ci", GitHubRepository("acme", "app")), Reader("dev")),
                index_url="https://packages.acme.dev/simple/",
                key_rotation=KeyRotation(token="", every_days=90),
            ),
        )
    )

    assert_children_of(run, "private-pypi:index:IndexReaders", "team")
    assert store_keys(run) == {
        "ci": token_digest(reader_token("team-ci-token")),
        "dev": token_digest(reader_token("team-dev-token")),
    }


def private(readers: object = None, **changes: str) -> dict[str, str]:
    config = {**CDN, "access": "private", **changes}
    if readers is not None:
        config["readers"] = json.dumps(readers)
    return {key: value for key, value in config.items() if value != "<unset>"}


@pytest.mark.parametrize(
    ("config", "key", "fix"),
    [
        pytest.param(private(cdn="<unset>"), "access", "config set cdn true", id="no-cloudfront"),
        pytest.param(private(access="secret"), "access", "access private", id="unknown-access"),
        pytest.param(
            {**CDN, "readers": json.dumps(READERS)}, "readers", "access private", id="public"
        ),
        pytest.param(private({"name": "ci"}), "readers", "readers[0].name", id="not-a-list"),
        pytest.param(private(["ci"]), "readers[0].name", "readers[0].name", id="bare-string"),
        pytest.param(private([{"name": "CI"}]), "readers[0].name", "lowercase", id="uppercase"),
        pytest.param(private([{"name": "a:b"}]), "readers[0].name", "lowercase", id="colon"),
        pytest.param(private([{"name": "a" * 65}]), "readers[0].name", "1 to 64", id="long"),
        pytest.param(private([{"name": ""}]), "readers[0].name", "1 to 64", id="empty"),
        pytest.param(private([{"name": "-x"}]), "readers[0].name", "starting", id="hyphen"),
        pytest.param(
            private([{"name": "ci"}, {"name": "ci"}]), "readers[1].name", "own name", id="twice"
        ),
        pytest.param(
            private([{"name": "ci", "githubRepository": "app"}]),
            "readers[0].githubRepository",
            "my-org/my-repo",
            id="repository-without-owner",
        ),
        pytest.param(
            private([{"name": r, "githubRepository": "o/r"} for r in ("a", "b")]),
            "readers[1].githubRepository",
            "at most one reader",
            id="repository-twice",
        ),
        pytest.param(
            private([{"name": "ci", "token": "mine"}]),
            "readers[0].token",
            "config rm --path",
            id="unknown-field",
        ),
    ],
)
def test_bad_private_settings_fail_before_any_resource(run_program, config, key, fix):
    with pytest.raises(InvalidSetting) as failure:
        run_program(config)

    message = str(failure.value)
    assert message.startswith(f"{key}: "), message
    assert fix in message
    assert not run_program.last.declared
