"""template.yaml: valid for cfn-lint 1.53.3 and sam validate, and shaped as the local tools read it.

The validators live in their own venv, .tools/ (`make setup` installs infra/tools-requirements.txt
there): aws-sam-cli pins too many libraries to share the app's venv. A missing tool fails these
tests; it never skips them, so a green run always means the template was validated.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.invoker.template import read

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "template.yaml"
TOOLS_BIN = REPO / ".tools" / "bin"
TOOLS_REQUIREMENTS = REPO / "infra" / "tools-requirements.txt"
TOOL_TIMEOUT_SECONDS = 180
Completed = subprocess.CompletedProcess[str]

# The functions, their folders and their routes: (method, path) -> (function, needs a token).
FUNCTIONS = {
    "ProfilesFunction": "profiles",
    "UploadFunction": "upload",
    "GetUrlFunction": "get_url",
    "DefaultPictureFunction": "default_picture",
    "ThumbnailsFunction": "thumbnails",
    "IngestFunction": "ingest",
    "SweepFunction": "sweep",
    "RegenerateFunction": "regenerate",
}
ROUTES = {
    ("POST", "/users"): ("ProfilesFunction", True),
    ("GET", "/users"): ("ProfilesFunction", False),
    ("GET", "/users/{user_id}"): ("ProfilesFunction", False),
    ("PATCH", "/users/{user_id}"): ("ProfilesFunction", True),
    ("GET", "/me"): ("ProfilesFunction", True),
    ("GET", "/admin/users/{user_id}"): ("ProfilesFunction", True),
    ("PUT", "/users/{user_id}/picture"): ("UploadFunction", True),
    ("DELETE", "/users/{user_id}/picture"): ("UploadFunction", True),
    ("PATCH", "/users/{user_id}/picture"): ("UploadFunction", True),
    ("POST", "/users/{user_id}/picture/uploads"): ("UploadFunction", True),
    ("GET", "/users/{user_id}/picture"): ("GetUrlFunction", False),
    ("GET", "/pictures/default"): ("DefaultPictureFunction", False),
}
# S3 triggers: function -> (prefix it listens on, prefix it writes to).
TRIGGERS = {
    "ThumbnailsFunction": ("originals/", "thumbnails/"),
    "IngestFunction": ("uploads/", "originals/"),
}
GLOBAL_ENVIRONMENT = {
    "PROFILEPICS_ENVIRONMENT",
    "PROFILEPICS_BUCKET",
    "PROFILEPICS_TABLE",
    "PROFILEPICS_S3_ENDPOINT",
    "PROFILEPICS_PUBLIC_S3_ENDPOINT",
    "PROFILEPICS_S3_CREDENTIALS_SECRET",
    "PROFILEPICS_API_BASE_URL",
    "PROFILEPICS_ADMIN_SCOPE",
    "POWERTOOLS_LOG_LEVEL",
    "PYDANTIC_DISABLE_PLUGINS",
}
PARAMETERS = {
    "S3Endpoint",
    "PublicS3Endpoint",
    "BucketName",
    "TableName",
    "S3CredentialsSecretName",
    "JwtIssuer",
    "JwtAudience",
    "AdminScope",
    "ApiBaseUrl",
    "CorsAllowedOrigins",
    "SweepSchedule",
    "LogLevel",
}
BUCKET_ARN = {"Fn::GetAtt": ["PicturesBucket", "Arn"]}
TABLE_ARN = {"Fn::GetAtt": ["ProfilesTable", "Arn"]}
# Least privilege: what each function's code calls, on which prefixes ("bucket" = ListBucket).
ACCESS = {
    "ProfilesFunction": {
        "dynamodb": {"GetItem", "PutItem", "UpdateItem", "Scan"},
        "s3:GetObject": {"originals", "thumbnails"},
    },
    "UploadFunction": {
        "dynamodb": {"GetItem", "UpdateItem"},
        "s3:GetObject": {"originals", "thumbnails"},
        "s3:PutObject": {"originals", "uploads", "thumbnails"},
        "s3:DeleteObject": {"originals", "thumbnails"},
    },
    "GetUrlFunction": {
        "dynamodb": {"GetItem", "UpdateItem"},
        "s3:GetObject": {"originals", "thumbnails"},
        "s3:PutObject": {"thumbnails"},
        "s3:DeleteObject": {"thumbnails"},
    },
    "ThumbnailsFunction": {
        "dynamodb": {"GetItem", "UpdateItem"},
        "s3:GetObject": {"originals"},
        "s3:PutObject": {"thumbnails"},
        "s3:DeleteObject": {"thumbnails"},
    },
    "IngestFunction": {
        "dynamodb": {"GetItem", "UpdateItem"},
        "s3:GetObject": {"uploads"},
        "s3:PutObject": {"originals"},
        "s3:DeleteObject": {"uploads", "originals", "thumbnails"},
    },
    # It heals in process first (the thumbnails' and ingest's calls), then sweeps.
    "SweepFunction": {
        "dynamodb": {"Scan", "BatchGetItem", "GetItem", "UpdateItem"},
        "s3:GetObject": {"originals", "uploads", "sweep"},
        "s3:PutObject": {"originals", "thumbnails", "sweep"},
        "s3:DeleteObject": {"originals", "thumbnails", "uploads", "sweep"},
    },
    "RegenerateFunction": {
        "dynamodb": {"GetItem", "UpdateItem", "Scan"},
        "s3:GetObject": {"originals"},
        "s3:PutObject": {"thumbnails"},
        "s3:DeleteObject": {"thumbnails"},
    },
}


# --- reading the template (with the invoker's own reader) ------------------------------------


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return read(TEMPLATE)


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource.get("Properties", {})
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def _events(template: dict[str, Any], kind: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for function, props in _functions(template).items():
        for event_name, event in props.get("Events", {}).items():
            if event["Type"] == kind:
                yield function, event_name, event["Properties"]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --- running the validators -------------------------------------------------------------------


def _pinned(package: str) -> str:
    for line in TOOLS_REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        name, _, version = line.partition("==")
        if name.strip() == package:
            return version.strip()
    raise AssertionError(f"{package} is not pinned in {TOOLS_REQUIREMENTS}")


def _tool(name: str) -> Path:
    path = TOOLS_BIN / name
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"{path} is missing: run `make setup`, which installs "
            f"{TOOLS_REQUIREMENTS.relative_to(REPO)} into .tools/",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def tool_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment in which the validators run offline, with no AWS account."""
    home = tmp_path_factory.mktemp("tools-home")
    sam_dir = home / "sam"
    sam_dir.mkdir()
    # SAM's own settings: no telemetry, and a fresh version check so it doesn't ask PyPI.
    (sam_dir / "metadata.json").write_text(
        json.dumps({"telemetryEnabled": False, "lastVersionCheck": time.time()})
    )
    return {
        "PATH": f"{TOOLS_BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        # No credentials are needed; never look for them on disk or on the instance metadata
        # endpoint (boto3 resolves credentials when sam validate builds its IAM client).
        "AWS_CONFIG_FILE": str(home / "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAM_CLI_TELEMETRY": "0",
        "__SAM_CLI_APP_DIR": str(sam_dir),
    }


# How each validator is called on a template path.
SAM = ("sam", "validate", "--region", "us-east-1")
VALIDATORS: dict[str, tuple[str, ...]] = {
    "cfn-lint": ("cfn-lint", "--regions", "us-east-1", "--"),
    "sam validate": (*SAM, "--template-file"),
    "sam validate --lint": (*SAM, "--lint", "--template-file"),
}


def _validate(validator: str, template: Path, env: dict[str, str]) -> Completed:
    program, *args = VALIDATORS[validator]
    return subprocess.run(
        [str(_tool(program)), *args, str(template)],
        capture_output=True,
        text=True,
        env=env,
        cwd=template.parent,
        timeout=TOOL_TIMEOUT_SECONDS,
        check=False,
    )


def test_the_validators_are_the_pinned_versions(tool_env: dict[str, str]) -> None:
    for program, package in (("cfn-lint", "cfn-lint"), ("sam", "aws-sam-cli")):
        result = subprocess.run(
            [str(_tool(program)), "--version"],
            capture_output=True,
            text=True,
            env=tool_env,
            timeout=TOOL_TIMEOUT_SECONDS,
            check=True,
        )
        assert result.stdout.split()[-1] == _pinned(package), result.stdout


@pytest.mark.parametrize("validator", list(VALIDATORS))
def test_template_passes(validator: str, tool_env: dict[str, str]) -> None:
    result = _validate(validator, TEMPLATE, tool_env)

    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{validator} rejected template.yaml:\n{output}"


# Each broken copy: (text in template.yaml, its replacement, what the validator must say).
BROKEN: dict[str, tuple[str, str, str]] = {
    "unknown runtime": ("    Runtime: python3.12\n", "    Runtime: python3.99\n", "python3.99"),
    "route without a path": (
        "            Path: /pictures/default\n",
        "",
        "Property 'Path' is required",
    ),
    "unknown function property": (
        "      CodeUri: functions/get_url/\n",
        "      CodeUri: functions/get_url/\n      Handlr: app.lambda_handler\n",
        "property Handlr not defined",
    ),
}


# Plain `sam validate` only runs SAM's translator, which doesn't check runtimes; --lint does.
@pytest.mark.parametrize(
    ("breakage", "validator"),
    [
        ("unknown runtime", "cfn-lint"),
        ("unknown runtime", "sam validate --lint"),
        ("route without a path", "cfn-lint"),
        ("route without a path", "sam validate"),
        ("unknown function property", "cfn-lint"),
        ("unknown function property", "sam validate"),
    ],
)
def test_a_broken_template_fails(
    breakage: str, validator: str, tool_env: dict[str, str], tmp_path: Path
) -> None:
    original, replacement, expected = BROKEN[breakage]
    text = TEMPLATE.read_text(encoding="utf-8")
    assert text.count(original) == 1, f"the {breakage!r} breakage no longer applies to the template"
    broken = tmp_path / "template.yaml"
    broken.write_text(text.replace(original, replacement), encoding="utf-8")

    result = _validate(validator, broken, tool_env)

    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{validator} accepted a template with {breakage}:\n{output}"
    assert expected in output, f"{validator} failed for another reason:\n{output}"


# --- the template's shape ---------------------------------------------------------------------


def test_functions_match_the_fixed_list(template: dict[str, Any]) -> None:
    functions = _functions(template)

    assert set(functions) == set(FUNCTIONS)
    for name, folder in FUNCTIONS.items():
        assert functions[name]["CodeUri"] == f"functions/{folder}/", name
        assert functions[name]["Handler"] == "app.lambda_handler", name


def test_every_function_folder_is_in_the_template_and_vice_versa() -> None:
    folders = {path.parent.name for path in (REPO / "functions").glob("*/app.py")}

    assert folders == set(FUNCTIONS.values())


def test_functions_run_python312_with_the_core_layer(template: dict[str, Any]) -> None:
    globals_fn = template["Globals"]["Function"]
    layer = template["Resources"]["CoreLayer"]

    assert globals_fn["Runtime"] == "python3.12"
    assert globals_fn["Layers"] == [{"Ref": "CoreLayer"}]
    for name, props in _functions(template).items():
        assert props.get("Runtime", "python3.12") == "python3.12", name
        assert "Layers" not in props, f"{name} must use the Globals layer list"
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "layers/core/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    # build_layer.py makes the layer's python/ from ContentUri: a nested one would be doubled.
    assert not (REPO / "layers" / "core" / "python").exists()
    assert (REPO / "layers" / "core" / "profilepics").is_dir()
    assert (REPO / "layers" / "core" / "requirements.txt").is_file()


def test_routes_are_exactly_the_api_and_writes_need_the_jwt_authorizer(
    template: dict[str, Any],
) -> None:
    found: dict[tuple[str, str], tuple[str, bool]] = {}
    for function, event_name, props in _events(template, "HttpApi"):
        assert props["ApiId"] == {"Ref": "HttpApi"}, event_name
        authorizer = props["Auth"]["Authorizer"]  # every route says explicitly which it uses
        assert authorizer in ("JwtAuthorizer", "NONE"), event_name
        key = (props["Method"], props["Path"])
        assert key not in found, f"route {key} is declared twice"
        found[key] = (function, authorizer == "JwtAuthorizer")

    assert found == ROUTES
    # Writes need a token, and so do the reads that include private fields (e-mail).
    private_reads = {("GET", "/me"), ("GET", "/admin/users/{user_id}")}
    assert all(
        needs_token == (method != "GET" or (method, path) in private_reads)
        for (method, path), (_, needs_token) in found.items()
    )


def test_the_http_api_has_a_jwt_authorizer_from_parameters(template: dict[str, Any]) -> None:
    api = template["Resources"]["HttpApi"]
    auth = api["Properties"]["Auth"]
    jwt = auth["Authorizers"]["JwtAuthorizer"]

    assert api["Type"] == "AWS::Serverless::HttpApi"
    assert auth["DefaultAuthorizer"] == "JwtAuthorizer"  # a route added without Auth is private
    assert jwt["IdentitySource"] == "$request.header.Authorization"
    assert jwt["JwtConfiguration"] == {
        "issuer": {"Ref": "JwtIssuer"},
        "audience": [{"Ref": "JwtAudience"}],
    }


def test_bucket_notifications_are_prefix_filtered_and_cannot_loop(
    template: dict[str, Any],
) -> None:
    bucket = template["Resources"]["PicturesBucket"]
    found: dict[str, str] = {}
    for config in bucket["Properties"]["NotificationConfiguration"]["LambdaConfigurations"]:
        function = config["Function"]["Fn::GetAtt"]
        assert function[1] == "Arn" and function[0] not in found, function
        assert config["Event"] == "s3:ObjectCreated:*", function
        rules = config["Filter"]["S3Key"]["Rules"]
        assert [rule["Name"].lower() for rule in rules] == ["prefix"], function
        found[function[0]] = rules[0]["Value"]

    assert found == {function: listens for function, (listens, _) in TRIGGERS.items()}
    for function, (listens, writes) in TRIGGERS.items():
        assert not writes.startswith(listens), f"{function} would trigger itself"
    assert not any(writes.startswith("uploads/") for _, writes in TRIGGERS.values())
    assert not "thumbnails/".startswith(tuple(found.values())), "variants must trigger nothing"
    assert not list(_events(template, "S3")), "SAM's S3 events can't carry a SourceArn"


def test_only_this_bucket_may_invoke_the_event_functions(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    bucket_name = template["Globals"]["Function"]["Environment"]["Variables"]["PROFILEPICS_BUCKET"]
    permissions = {
        name: r["Properties"]
        for name, r in resources.items()
        if r["Type"] == "AWS::Lambda::Permission"
    }

    assert {p["FunctionName"]["Ref"] for p in permissions.values()} == set(TRIGGERS)
    for name, props in permissions.items():
        assert props["Principal"] == "s3.amazonaws.com", name
        assert props["SourceAccount"] == {"Ref": "AWS::AccountId"}, name
        pattern, variables = props["SourceArn"]["Fn::Sub"]
        assert pattern == "arn:${AWS::Partition}:s3:::${Bucket}", name
        # The same name the bucket is created with and the functions are told.
        assert variables["Bucket"] == bucket_name
    assert resources["PicturesBucket"]["Properties"]["BucketName"] == bucket_name
    assert set(resources["PicturesBucket"]["DependsOn"]) == set(permissions)


def _access(template: dict[str, Any], function: str) -> dict[str, set[str]]:
    """The function's Access policy as {action: prefixes} ({"dynamodb": actions} for the table)."""
    policy = template["Resources"][f"{function}Access"]
    assert policy["Type"] == "AWS::IAM::Policy"
    assert policy["Properties"]["Roles"] == [{"Ref": f"{function}Role"}]
    granted: dict[str, set[str]] = {}
    listed = False
    for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"]
        actions = [actions] if isinstance(actions, str) else actions
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        if resources == [TABLE_ARN]:
            granted.setdefault("dynamodb", set()).update(
                a.removeprefix("dynamodb:") for a in actions
            )
            assert all(a.startswith("dynamodb:") for a in actions)
        elif resources == [BUCKET_ARN]:
            assert actions == ["s3:ListBucket"]
            listed = True
        else:
            (action,) = actions
            for resource in resources:
                match = re.fullmatch(r"\$\{PicturesBucket\.Arn\}/([a-z]+)/\*", resource["Fn::Sub"])
                assert match, resource
                granted.setdefault(action, set()).add(match.group(1))
    assert listed, f"{function} needs s3:ListBucket so that a missing key is a 404"
    return granted


@pytest.mark.parametrize("function", sorted(ACCESS))
def test_each_function_may_make_only_the_calls_its_code_makes(
    template: dict[str, Any], function: str
) -> None:
    assert _access(template, function) == ACCESS[function]
    assert "Policies" not in _functions(template)[function], "SAM's policies are too broad"


def test_the_default_picture_function_has_no_data_access(template: dict[str, Any]) -> None:
    assert "DefaultPictureFunctionAccess" not in template["Resources"]
    assert "Policies" not in _functions(template)["DefaultPictureFunction"]


def test_the_store_secret_is_readable_only_when_named(template: dict[str, Any]) -> None:
    policy = template["Resources"]["StoreSecretAccess"]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]

    assert policy["Condition"] == "HasS3CredentialsSecret"
    assert template["Conditions"]["HasS3CredentialsSecret"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "S3CredentialsSecretName"}, ""]}]
    }
    assert statement["Action"] == "secretsmanager:GetSecretValue"
    assert statement["Resource"]["Fn::Sub"].endswith(":secret:${S3CredentialsSecretName}-??????")
    roles = {role["Ref"] for role in policy["Properties"]["Roles"]}
    assert roles == {f"{function}Role" for function in ACCESS}


def test_failed_bucket_events_go_to_a_queue(template: dict[str, Any]) -> None:
    queue = template["Resources"]["FailedEventsQueue"]

    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    for function in TRIGGERS:
        config = _functions(template)[function]["EventInvokeConfig"]
        assert config["MaximumRetryAttempts"] == 2
        assert config["DestinationConfig"]["OnFailure"] == {
            "Type": "SQS",
            "Destination": {"Fn::GetAtt": ["FailedEventsQueue", "Arn"]},
        }
    assert template["Outputs"]["FailedEventsQueueUrl"]["Value"] == {"Ref": "FailedEventsQueue"}


def test_the_sweep_runs_on_a_schedule_from_a_parameter(template: dict[str, Any]) -> None:
    (event,) = _functions(template)["SweepFunction"]["Events"].values()

    assert event == {
        "Type": "Schedule",
        "Properties": {
            "Schedule": {"Ref": "SweepSchedule"},
            "Description": event["Properties"]["Description"],
        },
    }
    assert template["Parameters"]["SweepSchedule"]["Default"] == "rate(1 day)"


def test_cors_for_the_api_and_the_bucket_comes_from_one_parameter(
    template: dict[str, Any],
) -> None:
    api = template["Resources"]["HttpApi"]["Properties"]["CorsConfiguration"]
    (rule,) = template["Resources"]["PicturesBucket"]["Properties"]["CorsConfiguration"][
        "CorsRules"
    ]
    origins = {"Ref": "CorsAllowedOrigins"}

    assert api["AllowOrigins"] == origins == rule["AllowedOrigins"]
    assert "authorization" in api["AllowHeaders"]
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= set(api["AllowMethods"])
    assert "POST" in rule["AllowedMethods"], "the page's direct upload is a cross-origin POST"
    assert template["Parameters"]["CorsAllowedOrigins"]["Type"] == "CommaDelimitedList"


def test_the_table_is_keyed_by_user_id_with_no_indexes(template: dict[str, Any]) -> None:
    table = template["Resources"]["ProfilesTable"]
    props = table["Properties"]

    assert table["Type"] == "AWS::DynamoDB::Table"
    assert props["TableName"] == {"Ref": "TableName"}
    assert template["Parameters"]["TableName"]["Default"] == "profilepics-profiles"
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [{"AttributeName": "user_id", "KeyType": "HASH"}]
    assert props["AttributeDefinitions"] == [{"AttributeName": "user_id", "AttributeType": "S"}]
    assert "GlobalSecondaryIndexes" not in props
    assert "LocalSecondaryIndexes" not in props


def test_the_bucket_is_private_and_encrypted(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["PicturesBucket"]
    props = bucket["Properties"]

    assert bucket["Type"] == "AWS::S3::Bucket"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]


def test_no_secret_is_a_parameter_or_a_literal(template: dict[str, Any]) -> None:
    secretish = re.compile(r"secret|password|passwd|token|accesskey|privatekey", re.IGNORECASE)
    for name in template["Parameters"]:
        # A parameter may name where a secret lives (…SecretName), never carry one.
        if secretish.search(name):
            assert name.endswith(("Name", "Arn")), f"parameter {name} looks like a secret"
    assert set(template["Parameters"]) == PARAMETERS

    env = template["Globals"]["Function"]["Environment"]["Variables"]
    # Only the secret's name reaches a function: its keys are read at runtime, never resolved
    # into the environment (visible to lambda:GetFunctionConfiguration, stale after rotation).
    assert env["PROFILEPICS_S3_CREDENTIALS_SECRET"] == {
        "Fn::If": [
            "HasS3CredentialsSecret",
            {"Ref": "S3CredentialsSecretName"},
            {"Ref": "AWS::NoValue"},
        ]
    }
    assert template["Parameters"]["S3CredentialsSecretName"]["Default"] == ""
    for text in _strings(template):
        assert "{{resolve:" not in text, "a dynamic reference puts a secret in the template"
        assert not re.search(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", text), "an AWS access key id"
        assert "minioadmin" not in text


def test_environment_is_global_and_functions_only_name_their_service(
    template: dict[str, Any],
) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]

    assert set(env) == GLOBAL_ENVIRONMENT
    assert env["PROFILEPICS_ENVIRONMENT"] == "production"
    assert env["PROFILEPICS_TABLE"] == {"Ref": "ProfilesTable"}
    assert env["PROFILEPICS_S3_ENDPOINT"] == {"Ref": "S3Endpoint"}
    assert env["PROFILEPICS_PUBLIC_S3_ENDPOINT"] == {"Ref": "PublicS3Endpoint"}
    assert env["PROFILEPICS_API_BASE_URL"] == {"Ref": "ApiBaseUrl"}
    assert env["PROFILEPICS_ADMIN_SCOPE"] == {"Ref": "AdminScope"}
    assert env["PYDANTIC_DISABLE_PLUGINS"] == "__all__"
    for name, props in _functions(template).items():
        assert props["Environment"]["Variables"] == {"POWERTOOLS_SERVICE_NAME": FUNCTIONS[name]}


def test_outputs(template: dict[str, Any]) -> None:
    assert set(template["Outputs"]) == {
        "ApiUrl",
        "BucketName",
        "TableName",
        "FailedEventsQueueUrl",
        "RegenerateFunction",
    }


def test_the_local_invoker_reads_every_route_and_trigger() -> None:
    from infra.invoker.template import load

    parsed = load(TEMPLATE)

    routes = {(r.method, r.path): (r.function, r.authorized) for r in parsed.routes}
    assert routes == ROUTES
    triggers = {t.function: t.prefix for t in parsed.triggers}
    assert triggers == {function: listens for function, (listens, _) in TRIGGERS.items()}
    assert parsed.table["KeySchema"] == [{"AttributeName": "user_id", "KeyType": "HASH"}]
