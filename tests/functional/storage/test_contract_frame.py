"""Contract: construction, schema upgrade and capabilities, on every backend."""

from meterd.storage import base


def test_upgrade_is_idempotent(conn):
    conn.upgrade()
    conn.upgrade()


def test_driver_advertises_every_pike_capability(conn):
    flat = base.flatten_capabilities(conn.get_capabilities())
    assert len(flat) == 18 and all(flat.values())
    assert conn.get_storage_capabilities() == {'storage': {'production_ready': True}}
