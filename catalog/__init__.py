"""roost.catalog: the services roost knows, as TOML manifests, and their typed loader."""

from roost.catalog.loader import ManifestError, load, load_from, parse_manifest
from roost.catalog.model import Adopt, Catalog, Platform, Requirements, Service, Upstream

__all__ = [
    "Adopt",
    "Catalog",
    "ManifestError",
    "Platform",
    "Requirements",
    "Service",
    "Upstream",
    "load",
    "load_from",
    "parse_manifest",
]
