"""A fresh MongoDB database per test: mongomock by default, a real server when its URL is set.

mongomock is patched in for ``pymongo.MongoClient`` here, in the tests,
never by product code. With ``METERD_TEST_MONGODB_URL`` (any
``mongodb://`` URL; its database part is replaced) each test gets its own
database on that server, dropped afterwards.
"""

import contextlib
import functools
import os
import urllib.parse
import uuid

from unittest import mock

MONGODB_URL = os.environ.get('METERD_TEST_MONGODB_URL')


def _with_database(url, name):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(path='/' + name))


@contextlib.contextmanager
def fresh_database():
    """Yield a ``mongodb://`` URL naming a database nobody else uses."""
    name = 'meterd_test_' + uuid.uuid4().hex[:12]
    if MONGODB_URL:
        import pymongo
        url = _with_database(MONGODB_URL, name)
        try:
            yield url
        finally:
            client = pymongo.MongoClient(url)
            client.drop_database(name)
            client.close()
        return
    import mongomock
    from mongomock import store
    # One in-memory server per test, shared by every client the test opens.
    server = store.ServerStore()
    with mock.patch('pymongo.MongoClient', functools.partial(mongomock.MongoClient,
                                                             _store=server)):
        yield f'mongodb://127.0.0.1:27017/{name}'
