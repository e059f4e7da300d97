"""The CLI's help: every command says what it does, every option why, and what changes it."""

from __future__ import annotations

import argparse

import pytest

from infra.cli import build_parser


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_has_a_summary_a_description_and_its_environment() -> None:
    commands = subcommands()
    assert set(commands) == {
        *("up", "serve", "bootstrap", "invoke", "token", "sweep", "regenerate", "events"),
        *("redrive", "demo"),
    }
    parser = build_parser()
    listed = parser.format_help()
    for name, command in commands.items():
        assert command.description and len(command.description) > 40, name
        # redrive runs against AWS: the AWS CLI's own variables say where.
        variable = "AWS_REGION" if name == "redrive" else "PROFILEPICS_"
        assert variable in command.format_help(), f"{name} names no variable"
        assert name in listed


def test_every_option_and_argument_has_help() -> None:
    for name, command in subcommands().items():
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest}"


def test_serve_says_it_needs_the_jwt_secret_and_the_events_token() -> None:
    text = subcommands()["serve"].format_help()
    description = subcommands()["serve"].description or ""
    assert "PROFILEPICS_JWT_SECRET" in description
    assert "PROFILEPICS_EVENTS_TOKEN" in description
    assert "environment (required)" in text


def test_up_lists_the_ports_it_takes_and_the_variables_that_move_them() -> None:
    text = subcommands()["up"].format_help()
    for variable in ("PROFILEPICS_API_PORT", "PROFILEPICS_S3_PORT", "PROFILEPICS_DYNAMODB_PORT"):
        assert variable in text
    assert "the 8 ports above it" in text


def test_version_is_an_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("profilepics ")
