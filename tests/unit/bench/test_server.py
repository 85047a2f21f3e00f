"""Which databases the benchmark runs meterd on, and how it wires each one."""

import os

import mongomock
import pymongo
import pytest

from tools.bench import server


def test_default_is_sqlite_alone():
    assert server.backend_names(None, {}) == ['sqlite']


def test_mongodb_joins_when_its_url_is_set():
    env = {'METERD_TEST_MONGODB_URL': 'mongodb://127.0.0.1:27017/meterd'}
    assert server.backend_names(None, env) == ['sqlite', 'mongodb']


def test_requested_backends_need_their_url():
    with pytest.raises(ValueError, match='METERD_TEST_POSTGRESQL_URL'):
        server.backend_names(['postgresql'], {})
    with pytest.raises(ValueError, match='unknown backend'):
        server.backend_names(['mysql'], {})
    env = {'METERD_TEST_POSTGRESQL_URL': 'postgresql://postgres@127.0.0.1/x'}
    assert server.backend_names(['postgresql'], env) == ['postgresql']


def test_server_backends_get_a_dedicated_database():
    env = {'METERD_TEST_MONGODB_URL': 'mongodb://u:p@127.0.0.1:27017/meterd?authSource=admin'}
    target = server.backend('mongodb', '/unused', env, '123_4')
    assert target.url == 'mongodb://u:p@127.0.0.1:27017/meterd_bench_123_4?authSource=admin'
    assert target.path is None


def test_sqlite_is_a_new_file_in_the_workdir(tmp_path):
    target = server.backend('sqlite', str(tmp_path), {}, 'x')
    assert target.path == os.path.join(str(tmp_path), 'meterd.sqlite')
    assert target.url == 'sqlite:///' + target.path


def test_config_runs_noauth_on_loopback_against_the_backend():
    target = server.Backend('mongodb', 'mongodb://127.0.0.1:27017/meterd_bench_1')
    text = server.config_text(target, 8999, '/state')
    assert '[api]\nhost = 127.0.0.1\nport = 8999\nauth_strategy = noauth\n' in text
    assert '[database]\nconnection = mongodb://127.0.0.1:27017/meterd_bench_1\n' in text
    assert 'state_path = /state\n' in text


def test_mongodb_database_is_dropped_after_the_run(monkeypatch):
    mongo = mongomock.MongoClient('mongodb://127.0.0.1:27017/meterd_bench_1')
    mongo.get_default_database().meter.insert_one({'counter_name': 'cpu'})
    monkeypatch.setattr(pymongo, 'MongoClient', lambda url, **kwargs: mongo)
    target = server.Backend('mongodb', 'mongodb://127.0.0.1:27017/meterd_bench_1')
    assert 'meterd_bench_1' in mongo.list_database_names()
    server.create_database(target)
    server.drop_database(target)
    assert 'meterd_bench_1' not in mongo.list_database_names()


def test_mongodb_size_is_storage_plus_indexes(monkeypatch):
    mongo = mongomock.MongoClient('mongodb://127.0.0.1:27017/meterd_bench_1')
    # mongomock has no dbstats; answer it as a MongoDB server does.
    monkeypatch.setattr(mongomock.database.Database, 'command',
                        lambda self, name: {'storageSize': 4096.0, 'indexSize': 1024.0}
                        if name == 'dbstats' else None)
    monkeypatch.setattr(pymongo, 'MongoClient', lambda url, **kwargs: mongo)
    target = server.Backend('mongodb', 'mongodb://127.0.0.1:27017/meterd_bench_1')
    assert server.database_size(target) == 5120


def test_sqlite_size_counts_the_wal(tmp_path):
    target = server.backend('sqlite', str(tmp_path), {}, 'x')
    with open(target.path, 'wb') as f:
        f.write(b'\0' * 4096)
    with open(target.path + '-wal', 'wb') as f:
        f.write(b'\0' * 1000)
    assert server.database_size(target) == 5096
