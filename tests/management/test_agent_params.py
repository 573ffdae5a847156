"""``X-Corral-Params``: what an agent may register, and the 400s that name the field."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from corral.machinery.status import BadRequest
from corral.management.agentcredentials import parse_params

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def encode(body: Any) -> str:
    return base64.b64encode(orjson.dumps(body)).decode()


def test_good_params_are_kept_without_showing_the_token() -> None:
    registered = parse_params(
        encode({"address": "https://10.0.0.1:6443/", "caCert": PEM, "token": "sa-secret"})
    )
    assert registered.address == "https://10.0.0.1:6443"
    assert registered.config().server == "https://10.0.0.1:6443"
    assert registered.config().ca_data == PEM.encode()
    assert "sa-secret" not in repr(registered)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"caCert": PEM, "token": "t"}, "address"),
        ({"address": "http://h:1", "caCert": PEM, "token": "t"}, "address"),
        ({"address": "https://h:1/api", "caCert": PEM, "token": "t"}, "address"),
        ({"address": "https://u:p@h:1", "caCert": PEM, "token": "t"}, "address"),
        ({"address": "https://h:99999", "caCert": PEM, "token": "t"}, "address"),
        ({"address": "https://h:1", "caCert": "nope", "token": "t"}, "caCert"),
        ({"address": "https://h:1", "caCert": PEM, "token": " "}, "token"),
        ([1, 2], "(header)"),
    ],
)
def test_bad_params_name_the_field(body: Any, field: str) -> None:
    with pytest.raises(
        BadRequest, match=rf"X-Corral-Params: {field.replace('(', '.').replace(')', '.')}"
    ):
        parse_params(encode(body))


def test_garbage_is_a_400_that_echoes_nothing() -> None:
    with pytest.raises(BadRequest) as caught:
        parse_params("not-base64-secret!!")
    assert "secret" not in str(caught.value)
