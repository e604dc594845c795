import assert from 'node:assert/strict';
import { test } from 'node:test';

import { appsApiUrl, appUrl, dashboardUrl, isPort, powerApiUrl } from '../urls';

const BASE = '/user/alice/gpu/';

test('appUrl: the app page under this server, with a trailing slash', () => {
  assert.equal(appUrl(BASE, 'tensorboard', 2), '/user/alice/gpu/tensorboard/2/');
});

test('API URLs: the list, one endpoint, and the power indicators', () => {
  assert.equal(appsApiUrl(BASE, ''), '/user/alice/gpu/hpclab/api/apps');
  assert.equal(appsApiUrl(BASE, 'mlflow/0'), '/user/alice/gpu/hpclab/api/apps/mlflow/0');
  assert.equal(powerApiUrl('/'), '/hpclab/api/power');
});

test('dashboardUrl: the port in place of {port}', () => {
  assert.equal(dashboardUrl(BASE, 'proxy/{port}/status', 8787), '/user/alice/gpu/proxy/8787/status');
  assert.equal(dashboardUrl(BASE, '/proxy/absolute/{port}/', 8265), '/user/alice/gpu/proxy/absolute/8265/');
});

test('isPort: integers from 1 to 65535', () => {
  assert.deepEqual([1, 8787, 65535].map(isPort), [true, true, true]);
  assert.deepEqual([null, 0, -1, 65536, 80.5, Number.NaN].map(isPort), [false, false, false, false, false, false]);
});
