"""Corral: one control plane for many Kubernetes clusters.

The package is split by layer (see docs/architecture.md); this module only
carries the version, so that importing it costs nothing.
"""

__version__ = "0.1.0"
