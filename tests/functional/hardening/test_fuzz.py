"""schemathesis fuzzes a running meterd-api from its OpenAPI document: no 5xx, every
response as documented. Bounded: a fixed number of examples per operation."""

import json

import hypothesis
import pytest
import schemathesis
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as oa_checks

from meterd.api.controllers import openapi
from tests.functional.hardening import conftest as hc

SCHEMA = schemathesis.openapi.from_path(openapi.DOCUMENT)
TOKEN = 'fuzz-admin-token'
CHECKS = [st_checks.not_a_server_error, oa_checks.status_code_conformance,
          oa_checks.content_type_conformance, oa_checks.response_schema_conformance]


@pytest.fixture(scope='module')
def fuzz_server(tmp_path_factory):
    workdir = str(tmp_path_factory.mktemp('fuzz'))
    tokens = f'{workdir}/tokens.json'
    with open(tokens, 'w') as f:
        json.dump({TOKEN: {'user_id': 'fuzzer', 'project_id': 'proj-a', 'roles': ['admin']}}, f)
    server = hc.ServerProcess(workdir, {'api': {'auth_strategy': 'token', 'token_file': tokens}})
    server.start()
    headers = {'X-Auth-Token': TOKEN}
    for meter, resource in (('cpu', 'vm-1'), ('disk.read.bytes', 'vm-2'), ('cpu', 'vm-3')):
        body = [hc.sample(meter, resource, project='proj-a', resource_metadata={'k': 'v'})]
        assert server.request('POST', f'/v2/meters/{meter}', json=body,
                              headers=headers).status_code == 201
    yield server
    server.stop()


@SCHEMA.parametrize()
@hypothesis.settings(max_examples=40, deadline=None, derandomize=True, database=None,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_api_never_fails_and_answers_as_documented(case, fuzz_server):
    case.call_and_validate(base_url=fuzz_server.base, session=fuzz_server.session,
                           headers={'X-Auth-Token': TOKEN}, checks=CHECKS, timeout=30)
