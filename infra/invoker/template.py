"""What the invoker needs from template.yaml: functions, routes, bucket triggers, the table,
the HTTP API's CORS."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infra.invoker.cors import Cors


class _CfnLoader(yaml.SafeLoader):
    """A YAML loader that keeps CloudFormation's short-form tags as their long forms."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    authorized: bool
    pattern: re.Pattern[str]

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (method, "ANY"):
            return None
        found = self.pattern.fullmatch(path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class Trigger:
    function: str
    prefix: str
    suffix: str
    events: tuple[str, ...]

    def matches(self, event_name: str, key: str) -> bool:
        wanted = any(
            event_name == e or (e.endswith("*") and event_name.startswith(e[:-1]))
            for e in self.events
        )
        return wanted and key.startswith(self.prefix) and key.endswith(self.suffix)


@dataclass(frozen=True)
class Function:
    name: str
    code_dir: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Template:
    functions: dict[str, Function]
    routes: list[Route]
    triggers: list[Trigger]
    table: dict[str, Any]
    cors: Cors | None = None  # the HTTP API's CorsConfiguration, if it has one


def _path_pattern(path: str) -> re.Pattern[str]:
    regex = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("+}"):
            regex += f"(?P<{part[1:-2]}>.+)"
        elif part.startswith("{"):
            regex += f"(?P<{part[1:-1]}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(regex)


def _bucket_triggers(props: dict[str, Any]) -> list[Trigger]:
    """The bucket's Lambda notifications: which function each object-created event invokes."""
    triggers = []
    for config in props.get("NotificationConfiguration", {}).get("LambdaConfigurations", []):
        rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
        by_name = {rule["Name"].lower(): rule["Value"] for rule in rules}
        function = config["Function"]["Fn::GetAtt"][0]  # !GetAtt <Function>.Arn
        triggers.append(
            Trigger(
                function, by_name.get("prefix", ""), by_name.get("suffix", ""), (config["Event"],)
            )
        )
    return triggers


def read(path: Path) -> dict[str, Any]:
    """The template as a plain document, CloudFormation's short tags (!Ref...) as long forms."""
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506 - safe
    if not isinstance(doc, dict):
        raise ValueError(f"{path} is not a template")
    return doc


def load(path: Path) -> Template:
    doc = read(path)
    globals_fn = doc.get("Globals", {}).get("Function", {})
    functions: dict[str, Function] = {}
    routes: list[Route] = []
    triggers: list[Trigger] = []
    table: dict[str, Any] = {}
    cors: Cors | None = None
    for name, resource in doc.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource.get("Type") == "AWS::DynamoDB::Table":
            table = props
        if resource.get("Type") == "AWS::Serverless::HttpApi" and "CorsConfiguration" in props:
            cors = Cors.of(props["CorsConfiguration"], doc.get("Parameters", {}))
        if resource.get("Type") == "AWS::S3::Bucket":
            triggers.extend(_bucket_triggers(props))
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        env = {
            **globals_fn.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        functions[name] = Function(
            name=name,
            code_dir=(path.parent / props["CodeUri"]).resolve(),
            handler=props.get("Handler", globals_fn.get("Handler", "app.lambda_handler")),
            timeout=int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_fn.get("MemorySize", 128))),
            environment=env,
        )
        for event in props.get("Events", {}).values():
            eprops = event.get("Properties", {})
            if event.get("Type") == "HttpApi":
                authorizer = eprops.get("Auth", {}).get("Authorizer", "DEFAULT")
                method = str(eprops.get("Method", "ANY")).upper()
                routes.append(
                    Route(
                        method,
                        eprops["Path"],
                        name,
                        authorizer != "NONE",
                        _path_pattern(eprops["Path"]),
                    )
                )
    # Static paths before parameterised ones, as API Gateway prefers the most specific route.
    routes.sort(key=lambda r: (r.path.count("{"), -len(r.path)))
    return Template(functions, routes, triggers, table, cors)
