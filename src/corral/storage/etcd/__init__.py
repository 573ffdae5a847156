"""The etcd driver: Corral's revisioned log kept natively in an etcd v3 cluster.

``etcd://host:port[,host:port...][/root]`` names the cluster and the key root
Corral writes under (default ``/corral``). How keys, revisions, leases, watches
and compaction map onto etcd is told in `corral.storage.etcd.backend` and in
docs/storage.md.
"""

from corral.storage.etcd.address import EtcdAddress, parse_etcd_url
from corral.storage.etcd.backend import EtcdBackend

__all__ = ["EtcdAddress", "EtcdBackend", "parse_etcd_url"]
