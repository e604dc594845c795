import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { InputDialog, showErrorMessage } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { DisposableSet } from '@lumino/disposable';

import { entryIcon } from './badge';
import { dashboardUrl, isPort } from './urls';

const PLUGIN_ID = '@hpclab/lab-extension:launcher';

/** A documentation site, opened in a new browser tab. */
interface IDocumentationLink {
  name: string;
  url: string;
  icon?: string;
}

/** A dashboard served by something the user started (Dask, Ray), reached by its port. */
interface IDashboard {
  name: string;
  title: string;
  path: string;
  port: number;
  icon?: string;
}

const CommandIDs = {
  openDocumentation: 'hpclab:open-documentation',
  openDashboard: 'hpclab:open-dashboard'
};

function addCommands(app: JupyterFrontEnd): void {
  app.commands.addCommand(CommandIDs.openDocumentation, {
    label: args => String(args.name ?? 'Documentation'),
    caption: args => `Open ${String(args.url)} in a new tab`,
    icon: args => entryIcon(`doc-${String(args.name)}`, String(args.name), args.icon as string),
    execute: args => {
      window.open(String(args.url), '_blank', 'noopener');
    }
  });
  app.commands.addCommand(CommandIDs.openDashboard, {
    label: args => String(args.title ?? 'Dashboard'),
    caption: args => `Open the ${String(args.title)} running on a port of this node`,
    icon: args => entryIcon(`dashboard-${String(args.name)}`, String(args.title), args.icon as string),
    execute: async args => {
      const title = String(args.title);
      const answer = await InputDialog.getNumber({
        title: `${title}: port`,
        label: `Port the ${title} listens on`,
        value: Number(args.port)
      });
      if (!answer.button.accept) {
        return;
      }
      if (!isPort(answer.value)) {
        await showErrorMessage(title, `${String(answer.value)} is not a port number (1 to 65535).`);
        return;
      }
      window.open(dashboardUrl(PageConfig.getBaseUrl(), String(args.path), answer.value), '_blank');
    }
  });
}

function addEntries(launcher: ILauncher, settings: ISettingRegistry.ISettings): DisposableSet {
  const entries = new DisposableSet();
  const documentation = settings.composite.documentation as unknown as IDocumentationLink[];
  documentation.forEach((link, rank) => {
    entries.add(
      launcher.add({
        command: CommandIDs.openDocumentation,
        args: { ...link },
        category: 'Documentation',
        rank
      })
    );
  });
  const dashboards = settings.composite.dashboards as unknown as IDashboard[];
  dashboards.forEach((dashboard, rank) => {
    entries.add(
      launcher.add({
        command: CommandIDs.openDashboard,
        args: { ...dashboard },
        category: 'Dashboards',
        rank
      })
    );
  });
  return entries;
}

/** Launcher categories the site fills from its settings: Documentation and Dashboards. */
export const launcherPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Documentation links and dashboards in the launcher, from the site settings.',
  autoStart: true,
  requires: [ILauncher, ISettingRegistry],
  activate: async (app: JupyterFrontEnd, launcher: ILauncher, registry: ISettingRegistry) => {
    addCommands(app);
    const settings = await registry.load(PLUGIN_ID);
    let entries = addEntries(launcher, settings);
    settings.changed.connect(() => {
      entries.dispose();
      entries = addEntries(launcher, settings);
    });
  }
};
