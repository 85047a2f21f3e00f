"""Request bodies are bounded: 413 before an oversized body is read, chunked or not."""

import json
import select
import time

from tests.functional.hardening import conftest as hc

#: [filter:sizelimit] max_request_body_size in the shipped etc/api-paste.ini.
LIMIT = 16 * 1024 * 1024


def _head(server, path, extra):
    lines = [f'POST {path} HTTP/1.1', f'Host: 127.0.0.1:{server.port}',
             'Content-Type: application/json', 'X-Roles: admin', 'X-Project-Id: p',
             'X-User-Id: u'] + extra
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('ascii')


def _read_status(sock, deadline):
    data = b''
    while b'\r\n\r\n' not in data and time.monotonic() < deadline:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    return int(head.split(b' ', 2)[1]), head, body


def test_declared_oversized_body_gets_413_before_any_byte_is_sent(server):
    with server.connect() as sock:
        sock.sendall(_head(server, '/v2/meters/cpu', [f'Content-Length: {1 << 30}']))
        status, head, _ = _read_status(sock, time.monotonic() + 10)
    assert status == 413
    assert b'application/json' in head.lower()
    assert server.request('GET', '/healthcheck').status_code == 200


def test_chunked_oversized_body_gets_413_while_the_client_is_still_sending(server):
    piece = b'x' * 65536
    chunk = b'%x\r\n' % len(piece) + piece + b'\r\n'
    sent = 0
    pending = b''
    status = None
    with server.connect() as sock:
        sock.sendall(_head(server, '/v2/meters/cpu', ['Transfer-Encoding: chunked']))
        sock.setblocking(False)
        deadline = time.monotonic() + 30
        # Bounded: at most twice the limit, never the terminating chunk.
        while sent < 2 * LIMIT and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                sock.setblocking(True)
                sock.settimeout(10)
                status, _head_bytes, _ = _read_status(sock, deadline)
                break
            if writable:
                if not pending:
                    pending = chunk
                try:
                    done = sock.send(pending)
                except BlockingIOError:
                    continue
                pending = pending[done:]
                sent += done
        else:
            sock.setblocking(True)
            sock.settimeout(10)
            status, _head_bytes, _ = _read_status(sock, deadline)
    assert status == 413
    # The server answered as soon as the limit was passed, not at the end of the body.
    assert sent < 2 * LIMIT
    assert server.request('GET', '/healthcheck').status_code == 200


def test_chunked_body_under_the_limit_is_read(server):
    body = json.dumps([hc.sample(meter='cpu', resource='chunked-res')]).encode()
    with server.connect() as sock:
        sock.sendall(_head(server, '/v2/meters/cpu', ['Transfer-Encoding: chunked'])
                     + b'%x\r\n' % len(body) + body + b'\r\n0\r\n\r\n')
        status, _, _ = _read_status(sock, time.monotonic() + 10)
    assert status == 201
    stored = server.request('GET', '/v2/meters/cpu', headers=hc.ADMIN).json()
    assert [s['resource_id'] for s in stored] == ['chunked-res']


def test_a_ten_thousand_sample_batch_fits(app):
    metadata = {f'key_{i}': 'v' * 60 for i in range(12)}
    batch = [hc.sample(meter='batch', resource=f'r-{i % 50}', volume=float(i),
                       resource_metadata=metadata, project_id='p1', user_id='u1')
             for i in range(10000)]
    body = json.dumps(batch).encode()
    assert 8 * 1024 * 1024 < len(body) < LIMIT
    resp = app.post('/v2/meters/batch', params=body, content_type='application/json',
                    headers=hc.ADMIN)
    assert resp.status_int == 201
    assert len(resp.json) == 10000


def test_body_one_byte_over_the_limit_is_413_with_error_body(app):
    resp = app.post('/v2/meters/batch', params=b' ' * (LIMIT + 1),
                    content_type='application/json', headers=hc.ADMIN, status=413)
    assert resp.json['error_message']['faultcode'] == 'Client'
