"""Vitrine: self-hosted live shopping."""

__version__ = "0.1.0"
