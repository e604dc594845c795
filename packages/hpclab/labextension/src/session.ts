import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { DocumentWidget } from '@jupyterlab/docregistry';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import {
  IDLE_TOOLTIP,
  dueWarning,
  extendText,
  idleWarningText,
  savedText,
  timeLeftText,
  timeWarningText
} from './sessionText';
import { IErrorAnswer, ISessionState } from './shapes';
import { sessionApiUrl } from './urls';
import { whileVisible } from './polling';

// The server's state is asked every REFRESH_MS while the tab is visible (as JupyterLab's
// own polls), and counted down every TICK_MS in between, hidden or not.
const REFRESH_MS = 30_000;
const TICK_MS = 1_000;

async function call(path: string, method: 'GET' | 'POST'): Promise<ISessionState> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(sessionApiUrl(settings.baseUrl, path), { method }, settings);
  const body = await response.json().catch(() => ({ message: response.statusText }));
  if (!response.ok) {
    throw new Error((body as IErrorAnswer).message || response.statusText);
  }
  return body as ISessionState;
}

/** Saves every open document with changes; their names, and those that failed. */
async function saveOpenDocuments(app: JupyterFrontEnd): Promise<[string[], string[]]> {
  const saved: string[] = [];
  const failed: string[] = [];
  for (const widget of app.shell.widgets('main')) {
    if (!(widget instanceof DocumentWidget) || !widget.context.model.dirty) {
      continue;
    }
    try {
      await widget.context.save();
      saved.push(widget.context.path);
    } catch {
      failed.push(widget.context.path);
    }
  }
  return [saved, failed];
}

class Session {
  private state: ISessionState | null = null;
  // When the state came (ms): its counts go down from there.
  private fetchedAt = 0;
  private shownWarning = Infinity;
  private saved = false;
  private idleNotice = '';
  private timeNotices: string[] = [];

  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly timeLeft: Widget,
    private readonly extend: HTMLButtonElement
  ) {
    extend.onclick = () => void this.askForMoreTime();
  }

  private elapsed(): number {
    return (Date.now() - this.fetchedAt) / 1000;
  }

  secondsLeft(): number | null {
    const left = this.state?.seconds_left;
    return left === null || left === undefined ? null : Math.max(0, left - this.elapsed());
  }

  private cullIn(): number | null {
    const cullIn = this.state?.idle.cull_in_s;
    return cullIn === null || cullIn === undefined ? null : Math.max(0, cullIn - this.elapsed());
  }

  take(state: ISessionState): void {
    this.state = state;
    this.fetchedAt = Date.now();
    const button = extendText(state);
    this.extend.hidden = button === null;
    if (button) {
      [this.extend.textContent, this.extend.title, this.extend.disabled] = [button[0], button[1], !button[2]];
    }
    this.tick();
  }

  async refresh(): Promise<void> {
    try {
      this.take(await call('', 'GET'));
    } catch {
      // The server may be stopping; the countdown goes on from the last answer.
    }
  }

  tick(): void {
    const state = this.state;
    if (state === null) {
      return;
    }
    const left = this.secondsLeft();
    const text = timeLeftText(state, left);
    this.timeLeft.setHidden(text === null);
    if (text) {
      [this.timeLeft.node.textContent, this.timeLeft.node.title] = text;
    }
    if (left !== null) {
      this.warnBeforeTheEnd(state, left);
    }
    this.warnBeforeCulling(state);
  }

  private warnBeforeTheEnd(state: ISessionState, left: number): void {
    const due = dueWarning(state.warn_at_s, left, this.shownWarning);
    if (due !== null) {
      this.shownWarning = due;
      const actions = this.extend.hidden || this.extend.disabled
        ? []
        : [{ label: this.extend.textContent ?? 'More time', callback: () => void this.askForMoreTime() }];
      const ends = new Date(Date.now() + left * 1000);
      this.timeNotices.push(
        Notification.warning(timeWarningText(left, ends, state.save_before_end_s), { autoClose: false, actions })
      );
    }
    if (!this.saved && left <= state.save_before_end_s) {
      this.saved = true;
      void saveOpenDocuments(this.app).then(([names, failed]) => {
        const text = savedText(names, failed);
        // Nothing to save is no news: it goes by itself.
        const notice = names.length || failed.length ? Notification.warning : Notification.info;
        this.timeNotices.push(notice(text, { autoClose: names.length || failed.length ? false : 10_000 }));
      });
    }
  }

  private warnBeforeCulling(state: ISessionState): void {
    const message = idleWarningText(state.idle, state.idle.idle_s + this.elapsed(), this.cullIn());
    if (message === null) {
      if (this.idleNotice) {
        Notification.dismiss(this.idleNotice);
        this.idleNotice = '';
      }
      return;
    }
    if (!this.idleNotice) {
      this.idleNotice = Notification.warning(message, {
        autoClose: false,
        actions: [
          { label: 'Keep my server', caption: IDLE_TOOLTIP, callback: () => void this.keep(), displayType: 'accent' }
        ]
      });
    }
  }

  private async keep(): Promise<void> {
    this.idleNotice = '';
    try {
      this.take(await call('keep', 'POST'));
      Notification.success('Kept: the idle culler counts from now.', { autoClose: 5000 });
    } catch (error) {
      Notification.error(`The server could not be kept: ${(error as Error).message}`, { autoClose: false });
    }
  }

  private async askForMoreTime(): Promise<void> {
    this.extend.disabled = true;
    try {
      this.take(await call('extend', 'POST'));
      // A later end: the warnings and the save start over.
      this.timeNotices.forEach(id => Notification.dismiss(id));
      this.timeNotices = [];
      this.shownWarning = Infinity;
      this.saved = false;
      Notification.success(`More time granted: the job's limit is now ${this.state?.time_limit}.`, {
        autoClose: 5000
      });
    } catch (error) {
      Notification.error(`No more time: ${(error as Error).message}`, { autoClose: false });
      await this.refresh();
    }
  }
}

/** Time left of a SLURM server, '+1 h', the warnings and the save before the end, and
 * the warning before the idle culler stops the server, with a button to keep it. */
export const sessionPlugin: JupyterFrontEndPlugin<void> = {
  id: '@hpclab/lab-extension:session',
  description: "This server's time left, warnings before its end or before it is stopped as idle.",
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    const timeLeft = new Widget();
    timeLeft.id = 'hpclab-time-left';
    timeLeft.addClass('hpclab-PowerIndicator');
    timeLeft.setHidden(true);
    const extend = document.createElement('button');
    extend.className = 'hpclab-ExtendButton jp-mod-styled';
    extend.hidden = true;
    const extendWidget = new Widget({ node: extend });
    extendWidget.id = 'hpclab-extend';
    app.shell.add(timeLeft, 'top', { rank: 998 });
    app.shell.add(extendWidget, 'top', { rank: 999 });
    const session = new Session(app, timeLeft, extend);
    // Notifications raised before the layout is restored would get no toast.
    void app.restored.then(() => {
      void session.refresh();
      const stopRefreshing = whileVisible(() => void session.refresh(), REFRESH_MS);
      const ticker = window.setInterval(() => session.tick(), TICK_MS);
      timeLeft.disposed.connect(() => {
        stopRefreshing();
        window.clearInterval(ticker);
      });
    });
  }
};
