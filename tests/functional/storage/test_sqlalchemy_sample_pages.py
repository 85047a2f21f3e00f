"""SQL sample pages run as driver SQL: database errors still become StorageUnavailable."""

import pytest

from meterd import exception
from meterd import storage
from meterd.storage import impl_sqlalchemy
from tests import conftest as root


@pytest.fixture
def sqlite_conn(tmp_path):
    conf = root.make_conf(tmp_path)
    connection = storage.get_connection(conf, url=f'sqlite:///{tmp_path}/m.sqlite')
    assert isinstance(connection, impl_sqlalchemy.Connection)
    yield connection
    connection.close()


@pytest.mark.parametrize('sample_filter', [
    storage.SampleFilter(),
    storage.SampleFilter(resource='r', user=storage.NULL),
    storage.SampleFilter(message_id='m'),
])
def test_a_failing_sample_page_is_storage_unavailable(sqlite_conn, sample_filter):
    with sqlite_conn.begin(write=True) as conn:
        conn.exec_driver_sql('ALTER TABLE samples RENAME TO samples_gone')
    with pytest.raises(exception.StorageUnavailable):
        list(sqlite_conn.get_samples(sample_filter))
