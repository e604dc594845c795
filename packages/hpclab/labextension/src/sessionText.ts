import { IIdleState, ISessionState } from './shapes';

/** A duration as the top bar shows it: 1:05:09, 12:04, 0:09. */
export function clock(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}

/** A duration in words for a notification: "15 minutes", "1 minute", "40 seconds". */
export function inWords(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  if (total < 60) {
    return `${total} second${total === 1 ? '' : 's'}`;
  }
  const minutes = Math.round(total / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** The time-left indicator of a SLURM server, and its tooltip; null: none to show. */
export function timeLeftText(state: ISessionState, secondsLeft: number | null): [string, string] | null {
  if (state.kind !== 'slurm') {
    return null;
  }
  if (secondsLeft === null) {
    return ['Time left: n/a', state.problem || 'Slurm has not said when this job ends yet.'];
  }
  const job = state.job_id ? `Slurm job ${state.job_id}` : 'This job';
  const limit = state.time_limit ? ` (time limit ${state.time_limit})` : '';
  return [
    `${clock(secondsLeft)} left`,
    `${job} ends in ${clock(secondsLeft)}${limit}. Open documents with changes are saved ` +
      `${inWords(state.save_before_end_s)} before the end, and the server stops shortly before it.`
  ];
}

/**
 * The warnings (seconds before the end, from warn_at_s) crossed since the last check:
 * shownBefore is the smallest already shown (Infinity at first), so a tab opened with
 * 4 minutes left shows the 5-minute warning once, not the 15-minute one.
 */
export function dueWarning(warnAt: number[], secondsLeft: number, shownBefore: number): number | null {
  const crossed = warnAt.filter(at => secondsLeft <= at && at < shownBefore);
  return crossed.length ? Math.min(...crossed) : null;
}

/** Short: JupyterLab cuts notifications at 140 characters. */
export function timeWarningText(secondsLeft: number, endsAt: Date, saveBefore: number): string {
  const end = endsAt.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return `${inWords(secondsLeft)} left (ends ${end}). Open documents are saved ${inWords(saveBefore)} before.`;
}

export function savedText(names: string[], failed: string[]): string {
  const saved = names.length ? `Saved before the time limit: ${names.join(', ')}.` : 'No unsaved document to save.';
  return failed.length ? `${saved} Could not save: ${failed.join(', ')}.` : saved;
}

/** Whether to warn that the idle culler will stop this server, and the warning (short). */
export function idleWarningText(idle: IIdleState, idleFor: number, cullIn: number | null): string | null {
  if (cullIn === null || idle.busy.length > 0 || cullIn > idle.warn_before_s) {
    return null;
  }
  return `Idle for ${inWords(idleFor)}: this server will be stopped in about ${inWords(cullIn)}.`;
}

export const IDLE_TOOLTIP =
  'Idle: no browser, kernel, terminal, app, CPU or GPU activity. Keep it, or it is stopped to free the node.';

/** The '+1 h' button's label and tooltip: offered, or why not. */
export function extendText(state: ISessionState): [string, string, boolean] | null {
  if (state.kind !== 'slurm' || state.extend.step_s <= 0) {
    return null;
  }
  const step = state.extend.step_s % 3600 === 0 ? `${state.extend.step_s / 3600} h` : inWords(state.extend.step_s);
  const label = `+${step}`;
  if (state.extend.reason) {
    return [label, `No more time: ${state.extend.reason}`, false];
  }
  return [label, `Ask Slurm for ${step} more for this server's job`, true];
}
