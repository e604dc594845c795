import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  clock,
  dueWarning,
  extendText,
  idleWarningText,
  inWords,
  savedText,
  timeLeftText,
  timeWarningText
} from '../sessionText';
import { IIdleState, ISessionState } from '../shapes';

function idle(changes: Partial<IIdleState> = {}): IIdleState {
  return { timeout_s: 3600, idle_s: 3100, cull_in_s: 500, warn_before_s: 600, busy: [], ...changes };
}

function state(changes: Partial<ISessionState> = {}): ISessionState {
  return {
    kind: 'slurm',
    job_id: '42',
    seconds_left: 3000,
    time_limit: '01:00:00',
    warn_at_s: [900, 300],
    save_before_end_s: 120,
    extend: { step_s: 3600, reason: '' },
    idle: idle(),
    problem: '',
    ...changes
  };
}

test('clock and words', () => {
  assert.equal(clock(3725), '1:02:05');
  assert.equal(clock(725), '12:05');
  assert.equal(clock(-3), '0:00');
  assert.equal(inWords(60), '1 minute');
  assert.equal(inWords(899), '15 minutes');
  assert.equal(inWords(40), '40 seconds');
});

test('time left shows for SLURM servers only, with a reason when unknown', () => {
  assert.equal(timeLeftText(state({ kind: 'interactive' }), null), null);
  assert.deepEqual(timeLeftText(state(), 3000)?.[0], '50:00 left');
  assert.match(timeLeftText(state(), 3000)?.[1] ?? '', /Slurm job 42 ends in 50:00 \(time limit 01:00:00\)/);
  assert.deepEqual(timeLeftText(state({ problem: 'the hub did not answer' }), null), [
    'Time left: n/a',
    'the hub did not answer'
  ]);
});

test('each warning once, the smallest crossed when a tab opens late', () => {
  assert.equal(dueWarning([900, 300], 1000, Infinity), null);
  assert.equal(dueWarning([900, 300], 899, Infinity), 900);
  assert.equal(dueWarning([900, 300], 600, 900), null);
  assert.equal(dueWarning([900, 300], 299, 900), 300);
  assert.equal(dueWarning([900, 300], 240, Infinity), 300);
  assert.equal(dueWarning([900, 300], 100, 300), null);
});

test('the idle warning: only near the cull, never for a busy server or one never culled', () => {
  assert.equal(idleWarningText(idle(), 3100, 500), 'Idle for 52 minutes: this server will be stopped in about 8 minutes.');
  assert.equal(idleWarningText(idle(), 2900, 700), null);
  assert.equal(idleWarningText(idle({ busy: ['1 busy kernel'] }), 3500, 100), null);
  assert.equal(idleWarningText(idle({ cull_in_s: null, timeout_s: 0 }), 10_000, null), null);
});

test("'+1 h': offered, refused with the reason, or absent", () => {
  assert.deepEqual(extendText(state()), ['+1 h', "Ask Slurm for 1 h more for this server's job", true]);
  const refused = extendText(state({ extend: { step_s: 3600, reason: 'past the dev QoS MaxWall' } }));
  assert.deepEqual(refused, ['+1 h', 'No more time: past the dev QoS MaxWall', false]);
  assert.equal(extendText(state({ extend: { step_s: 0, reason: '' } })), null);
  assert.equal(extendText(state({ kind: 'interactive' })), null);
  assert.equal(extendText(state({ extend: { step_s: 1800, reason: '' } }))?.[0], '+30 minutes');
});

test('warnings fit in a notification (JupyterLab cuts them at 140 characters)', () => {
  const text = timeWarningText(299, new Date(2026, 11, 7, 14, 30), 120);
  assert.match(text, /^5 minutes left \(ends .*\)\. Open documents are saved 2 minutes before\.$/);
  assert.ok(text.length <= 140);
  assert.ok((idleWarningText(idle(), 3599.4, 500) ?? '').length <= 140);
});

test('what was saved', () => {
  assert.equal(savedText(['a.ipynb', 'b.py'], []), 'Saved before the time limit: a.ipynb, b.py.');
  assert.equal(savedText([], []), 'No unsaved document to save.');
  assert.equal(savedText([], ['c.ipynb']), 'No unsaved document to save. Could not save: c.ipynb.');
});
