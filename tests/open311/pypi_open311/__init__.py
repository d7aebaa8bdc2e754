#!/usr/bin/env python
# ruff: noqa
# fmt: off
"""Python 3 port of the PyPI ``open311`` 1.1 client (Code for America, BSD; see LICENSE.txt).

A real Open311 client not written by us, used by tests/open311/test_pypi_client.py to drive a
running ``civicloop serve``. The port is mechanical; every change from the 1.1 sources is listed
here and marked ``# py3 port:`` where it is made:

* the Python-2 implicit relative imports (``from open311 import Open311``, ``from api import
  API``, ``from xml2dict import xml2dict``, ``from object_dict import object_dict``) are explicit
  relative imports;
* ``urllib2.urlopen`` / ``urllib.urlencode`` come from ``urllib.request`` / ``urllib.parse`` (the
  package already had these as fallbacks; the try/except kept Python 2 first);
* ``urlopen(url, post_data)`` gets the body as bytes (Python 3 refuses a ``str`` body);
* ``ElementTree.Element.getchildren()`` (removed in Python 3.9) is ``list(node)``;
* ``Dict2XML``: ``itervalues().next()`` / ``iteritems()`` / ``basestring`` are their Python 3
  spellings (not used by the client, kept so the module imports and works);
* the namespace regex of ``xml2dict`` is a raw string (``"\\{"`` is an invalid escape on
  Python 3.12+);
* ``__all__`` lists names as strings, as Python 3's ``from … import *`` requires.

Nothing else changed: the request URLs, the parameters and the parsing are the client's own,
including its quirks (``services.xml`` hard-coded, singular ``service/{code}``, ``api_key`` and
``jurisdiction_id`` in the POST query string). The ``mock``-based unit tests of the package
(``api/test_api.py``) are not included.
"""

from .open311 import Open311  # py3 port: explicit relative import

__all__ = ["Open311"]  # py3 port: names as strings
