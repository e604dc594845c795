import assert from 'node:assert/strict';
import { test } from 'node:test';

import { co2Text, cpuText, gpuText, grams, watts } from '../powerText';
import { IPowerState } from '../shapes';

function state(changes: Partial<IPowerState> = {}): IPowerState {
  return {
    cpu: { power_w: 25, limit_w: 250, reason: '' },
    gpu: { count: 0, reason: '' },
    energy_j: 7.2e6,
    co2_g: 112,
    since: 1_700_000_000,
    factor: { grams_per_kwh: 56, source: 'static', measured_at: '', real_time: false, last_error: '', error_since: null },
    problems: [],
    ...changes
  };
}

test('watts and grams: precision by size', () => {
  assert.deepEqual([watts(9.96), watts(25), watts(99.94), watts(100), watts(412.6)], ['10.0', '25.0', '99.9', '100', '413']);
  assert.deepEqual([grams(0.123), grams(9.999), grams(10), grams(999.9), grams(1234)], ['0.12 g', '10.00 g', '10.0 g', '999.9 g', '1.23 kg']);
});

test('cpuText: power and limit, no limit, or why there is no reading', () => {
  assert.equal(cpuText(state())[0], 'CPU: 25.0 W / 250 W');
  assert.match(cpuText(state())[1], /250 W is the processors’ long-term power limit/);
  assert.match(cpuText(state())[1], /idle power for what it holds/);
  const noLimit = cpuText(state({ cpu: { power_w: 120, limit_w: null, reason: '' } }));
  assert.equal(noLimit[0], 'CPU: 120 W');
  assert.match(noLimit[1], /set no power limit/);
  assert.deepEqual(cpuText(state({ cpu: { power_w: null, limit_w: null, reason: 'no RAPL counters' } })), [
    'CPU: n/a',
    'CPU power is not shown: no RAPL counters'
  ]);
});

test('gpuText: hidden without GPUs, says why a job with GPUs has no reading', () => {
  assert.equal(gpuText(state()), null);
  assert.equal(gpuText(state({ gpu: { count: 2 } })), null);
  assert.deepEqual(gpuText(state({ gpu: { count: 0, reason: 'NVML is not available: NVML Shared Library Not Found' } })), [
    'GPU: n/a',
    'GPU power is not shown: NVML is not available: NVML Shared Library Not Found'
  ]);
  assert.deepEqual(gpuText(state({ gpu: { count: 2, power_w: 410.4, limit_w: 700 } })), [
    'GPU: 410 W / 700 W',
    'Power of the 2 GPU(s) of this job and their enforced limits, from NVML.'
  ]);
});

test('co2Text: cumulative grams, energy, and where the factor comes from', () => {
  const [text, title] = co2Text(state());
  assert.equal(text, 'CO₂: 112.0 g');
  assert.ok(title.includes(new Date(1_700_000_000_000).toLocaleString()));
  assert.ok(title.includes('2.0000 kWh'));
  assert.ok(title.endsWith('now 56 gCO2eq/kWh, static factor (static): no recent real-time value.'));
  const since = new Date(1_700_000_000_000).toLocaleString();
  const failed = co2Text(
    state({ factor: { grams_per_kwh: 56, source: 'static', measured_at: '', real_time: false, last_error: 'timed out', error_since: 1_700_000_000 } })
  );
  assert.ok(failed[1].endsWith(`no recent real-time value; fetching it fails since ${since} (timed out).`));
  const live = co2Text(
    state({ factor: { grams_per_kwh: 31, source: 'ODRÉ', measured_at: '2026-05-01T10:15:00+02:00', real_time: true, last_error: '', error_since: null } })
  );
  assert.ok(live[1].endsWith('now 31 gCO2eq/kWh from ODRÉ at 2026-05-01T10:15:00+02:00.'));
  // Three hours of errors after a good value: the value still in force, and the failures said.
  const stale = co2Text(
    state({
      factor: { grams_per_kwh: 31, source: 'ODRÉ', measured_at: '2026-05-01T10:15:00+02:00', real_time: true, last_error: 'HTTP Error 500', error_since: 1_700_000_000 }
    })
  );
  assert.ok(stale[1].endsWith(`from ODRÉ at 2026-05-01T10:15:00+02:00; fetching it fails since ${since} (HTTP Error 500).`));
});

test('problems mark the CPU and CO2 indicators and end their tooltips', () => {
  const problems = ['the totals cannot be saved to /home/alice/x.json: quota exceeded (since 2026-12-07 14:05:00)'];
  const [cpu, cpuTitle] = cpuText(state({ problems }));
  assert.equal(cpu, 'CPU: 25.0 W / 250 W ⚠');
  assert.ok(cpuTitle.endsWith(`\n\nProblems: ${problems[0]}.`));
  const [co2, co2Title] = co2Text(state({ problems }));
  assert.equal(co2, 'CO₂: 112.0 g ⚠');
  assert.ok(co2Title.includes('quota exceeded (since 2026-12-07 14:05:00)'));
});
