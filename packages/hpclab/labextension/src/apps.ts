import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { IRunningSessionManagers, IRunningSessions } from '@jupyterlab/running';
import { DisposableSet } from '@lumino/disposable';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';

import { appUrl, fetchApps, launchApp, stopApp } from './api';
import { entryIcon } from './badge';
import { ILaunchInput, LaunchForm } from './launchDialog';
import { IApp, IRunningApp } from './shapes';
import { whileVisible } from './polling';

const LAUNCH_COMMAND = 'hpclab:launch-app';
const REFRESH_INTERVAL_MS = 10_000;

/** The apps the site defines and those running, kept current for the Running panel.
 * Disposing it removes what the plugin added (command, launcher items, Running panel
 * entry) and stops the refresh timer. */
class AppsModel extends DisposableSet {
  apps = new Map<string, IApp>();
  running: IRunningApp[] = [];
  readonly changed = new Signal<this, void>(this);
  readonly lastInput = new Map<string, ILaunchInput>();

  async refresh(): Promise<void> {
    const state = await fetchApps();
    this.apps = new Map(state.apps.map(app => [app.name, app]));
    this.running = state.running;
    this.changed.emit();
  }

  refreshEvery(milliseconds: number): void {
    const stop = whileVisible(() => void this.refresh().catch(() => undefined), milliseconds);
    this.add({ isDisposed: false, dispose: stop });
  }

  dispose(): void {
    Signal.clearData(this);
    super.dispose();
  }
}

// One model per application, so that deactivating the plugin can dispose of it.
const models = new WeakMap<JupyterFrontEnd, AppsModel>();

function icon(app: IApp) {
  return entryIcon(`app-${app.name}`, app.title, app.icon);
}

async function launch(model: AppsModel, app: IApp): Promise<void> {
  const result = await showDialog({
    title: `Launch ${app.title}`,
    body: new LaunchForm(app, model.lastInput.get(app.name)),
    buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Launch' })],
    focusNodeSelector: 'input'
  });
  if (!result.button.accept || result.value === null) {
    return;
  }
  const input = result.value;
  model.lastInput.set(app.name, input);
  // Opened now, while the click still counts as the user's: browsers block later pop-ups.
  const tab = window.open('', '_blank');
  const answer = await launchApp(app.name, input.endpoint, input.argumentsText, input.environmentText);
  await model.refresh();
  if (answer.ok && answer.url) {
    if (tab) {
      tab.location.href = answer.url;
    }
    return;
  }
  if (answer.status === 502 && tab) {
    // The app's own page tells why it stopped: the tail of its output and its log file.
    tab.location.href = appUrl(app.name, input.endpoint);
    return;
  }
  tab?.close();
  await showErrorMessage(`${app.title} was not launched`, answer.message ?? `HTTP ${answer.status}`);
}

function runningManager(model: AppsModel): IRunningSessions.IManager {
  return {
    name: 'Applications',
    running: () =>
      model.running.map(instance => {
        const app = model.apps.get(instance.app);
        return {
          label: () => `${instance.title} (endpoint ${instance.endpoint})`,
          labelTitle: () => `${instance.title} ${instance.arguments.join(' ')}\nOutput: ${instance.log}`,
          icon: () => (app ? icon(app) : ''),
          open: () => window.open(appUrl(instance.app, instance.endpoint), '_blank'),
          shutdown: () => void stopApp(instance.app, instance.endpoint).then(() => model.refresh())
        };
      }),
    shutdownAll: () =>
      void Promise.all(model.running.map(instance => stopApp(instance.app, instance.endpoint))).then(() =>
        model.refresh()
      ),
    refreshRunning: () => void model.refresh(),
    runningChanged: model.changed,
    shutdownAllConfirmationText: 'Shut down all applications?'
  };
}

/** Applications in the launcher, the launch dialog, and running apps in the Running panel. */
export const appsPlugin: JupyterFrontEndPlugin<void> = {
  id: '@hpclab/lab-extension:apps',
  description: 'Launch the applications the site defines, behind this server, and shut them down.',
  autoStart: true,
  requires: [ILauncher],
  optional: [IRunningSessionManagers],
  activate: async (app: JupyterFrontEnd, launcher: ILauncher, runningManagers: IRunningSessionManagers | null) => {
    const model = new AppsModel();
    models.set(app, model);
    const title = (args: ReadonlyPartialJSONObject) => model.apps.get(String(args.name))?.title ?? String(args.name);
    model.add(app.commands.addCommand(LAUNCH_COMMAND, {
      label: title,
      caption: args => `Launch ${title(args)} behind this server`,
      icon: args => {
        const known = model.apps.get(String(args.name));
        return known ? icon(known) : undefined;
      },
      execute: args => {
        const known = model.apps.get(String(args.name));
        return known ? launch(model, known) : undefined;
      }
    }));
    if (runningManagers) {
      model.add(runningManagers.add(runningManager(model)));
    }
    try {
      await model.refresh();
    } catch (error) {
      console.warn('hpclab: applications unavailable', error);
      return;
    }
    [...model.apps.values()].forEach((known, rank) =>
      model.add(launcher.add({ command: LAUNCH_COMMAND, args: { name: known.name }, category: known.category, rank }))
    );
    model.refreshEvery(REFRESH_INTERVAL_MS);
  },
  deactivate: (app: JupyterFrontEnd) => {
    models.get(app)?.dispose();
    models.delete(app);
  }
};
