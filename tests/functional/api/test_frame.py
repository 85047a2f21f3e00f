"""The frame: versions, capabilities, routing errors and the error body, via the shipped pipeline."""


def test_root_lists_v2_with_self_link_from_host(app):
    resp = app.get('/', headers={'Host': 'example.com:8777'})
    assert resp.status_int == 200
    assert resp.content_type == 'application/json'
    (version,) = resp.json['versions']['values']
    assert version['id'] == 'v2'
    assert version['links'][0] == {'href': 'http://example.com:8777/v2', 'rel': 'self'}
    assert resp.headers['x-openstack-request-id'].startswith('req-')


def test_v2_serves_a_version_document(app):
    for path in ('/v2', '/v2/'):
        assert app.get(path).json['version']['id'] == 'v2'


def test_capabilities_are_all_true_on_sqlite(app):
    body = app.get('/v2/capabilities').json
    assert len(body['api']) == 18
    assert all(v is True for v in body['api'].values())
    assert body['storage'] == {'storage:production_ready': True}


def test_unknown_path_is_404_json(app):
    resp = app.get('/v1/meters', status=404)
    assert resp.json['error_message']['faultcode'] == 'Client'
    assert resp.json['error_message']['faultstring']


def test_wrong_method_is_405_with_allow(app):
    resp = app.delete('/v2/meters', status=405)
    assert resp.headers['Allow'] == 'GET'
    assert resp.json['error_message']['faultstring']


def test_error_body_is_xml_when_xml_wins(app):
    resp = app.get('/nope', headers={'Accept': 'application/xml,*/*'}, status=404)
    assert resp.content_type == 'application/xml'
    assert resp.body.endswith(b'</error_message>')


def test_alarms_are_gone(app):
    resp = app.get('/v2/alarms', status=410)
    assert 'Aodh' in resp.json['error_message']['faultstring']
