"""etcd:// datastore URLs: endpoints, the key root, and clear refusals."""

from __future__ import annotations

import pytest

from corral.storage import DatastoreURLError, open_backend
from corral.storage.etcd import EtcdAddress, EtcdBackend, parse_etcd_url


def test_endpoints_and_root() -> None:
    backend = open_backend("etcd://10.0.0.1:2379,10.0.0.2:32379/clusters/one/")
    assert isinstance(backend, EtcdBackend)
    assert backend.address == EtcdAddress(
        (("10.0.0.1", 2379), ("10.0.0.2", 32379)), "/clusters/one"
    )
    assert backend.address.grpc_target() == "ipv4:10.0.0.1:2379,10.0.0.2:32379"


def test_defaults() -> None:
    address = parse_etcd_url("etcd.example")
    assert address == EtcdAddress((("etcd.example", 2379),), "/corral")
    assert address.grpc_target() == "etcd.example:2379"
    assert parse_etcd_url("[::1]:2380").grpc_target() == "[::1]:2380"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("etcd://user:secret@host:2379", "credentials are not supported"),
        ("etcd://", "needs a host"),
        ("etcd://host:99999", "port must be 1-65535"),
        ("etcd://host:2379?secret=1", "takes no query"),
        ("etcd://ho st:2379", "malformed etcd endpoint host"),
    ],
)
def test_bad_urls(url: str, message: str) -> None:
    with pytest.raises(DatastoreURLError, match=message) as caught:
        open_backend(url)
    assert "secret" not in str(caught.value)
