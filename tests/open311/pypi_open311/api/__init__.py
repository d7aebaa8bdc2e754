#!/usr/bin/env python
# ruff: noqa
# fmt: off
# Python 3 port of open311 1.1 (c) 2011 Code for America, BSD licence: see ../LICENSE.txt.
"""The generic API wrapper the Open311 client is built on (Python-API-Template)."""

from .api import API  # py3 port: explicit relative import
from .api import urlopen, urlencode  # py3 port: explicit relative import

__all__ = ["API", "urlopen", "urlencode"]  # py3 port: names as strings
