"""Name formats report Kubernetes' own reasons, word for word."""

from __future__ import annotations

import pytest

from corral.machinery.validation.names import (
    config_key_errors,
    dns1035_name,
    env_var_name_errors,
    label_name,
    path_segment_name,
    port_name_errors,
    qualified_name_errors,
    subdomain_name,
)

LABEL_RULE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
DNS1035_RULE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an "
    "alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def test_dns_label_names() -> None:
    assert label_name("kube-system", False) == []
    assert label_name("Kube", False) == [LABEL_RULE]
    assert label_name("a.b", False) == ["must not contain dots"]
    assert label_name("a" * 64, False) == ["must be no more than 63 characters"]


def test_generate_name_may_end_with_a_dash() -> None:
    assert label_name("web-", True) == []
    assert subdomain_name("web-", True) == []
    assert dns1035_name("web-", True) == []
    assert label_name("web-", False) == [LABEL_RULE]


def test_service_names_are_dns1035_labels() -> None:
    assert dns1035_name("web", False) == []
    assert dns1035_name("1web", False) == [DNS1035_RULE]


def test_path_segment_names() -> None:
    assert path_segment_name("system:controller:x", False) == []
    assert path_segment_name("..", False) == ["may not be '..'"]
    assert path_segment_name("a/b%c", False) == ["may not contain '/'", "may not contain '%'"]
    assert path_segment_name("a/", True) == ["may not contain '/'"]


def test_qualified_names_use_the_qualified_name_wording() -> None:
    assert qualified_name_errors("example.com/my-finalizer") == []
    [message] = qualified_name_errors("a/b/c")
    assert message.startswith("a qualified name must consist of alphanumeric characters")


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("http", []),
        ("h2c-web", []),
        ("Http", ["must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"]),
        ("123", ["must contain at least one letter (a-z)"]),
        ("a--b", ["must not contain consecutive hyphens"]),
        ("-ab", ["must not begin or end with a hyphen"]),
        ("abcdefghijklmnop", ["must be no more than 15 characters"]),
    ],
)
def test_port_names(name: str, errors: list[str]) -> None:
    assert port_name_errors(name) == errors


def test_config_keys() -> None:
    assert config_key_errors("app.properties") == []
    assert config_key_errors("..data") == ["must not start with '..'"]
    assert config_key_errors(".") == ["must not be '.'"]
    [message] = config_key_errors("a b")
    assert message == (
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' "
        "(e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is "
        "'[-._a-zA-Z0-9]+')"
    )


def test_env_var_names_are_relaxed() -> None:
    assert env_var_name_errors("1ST-VAR.x") == []
    assert env_var_name_errors("A=B") == [
        "a valid environment variable name must consist only of printable ASCII characters "
        "other than '='"
    ]
