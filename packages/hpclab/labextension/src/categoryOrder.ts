import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IDisposable } from '@lumino/disposable';

import { categoryRank } from './categoryRanks';
import { rankCategories } from './launcherAdapter';

const PLUGIN_ID = '@hpclab/lab-extension:category-order';

/** The launcher's categories in the user guide's order (or the site's, from settings). */
export const categoryOrderPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: "Launcher categories in the site's order: Notebook, Applications, Dashboards, HPC Tools, ...",
  autoStart: true,
  requires: [ILauncher, ISettingRegistry],
  activate: async (app: JupyterFrontEnd, launcher: ILauncher, registry: ISettingRegistry) => {
    const settings = await registry.load(PLUGIN_ID);
    let ranking: IDisposable | null = null;
    const apply = (): void => {
      ranking?.dispose();
      const order = settings.composite.order as string[];
      ranking = rankCategories(launcher, category => categoryRank(order, category));
      if (ranking === null) {
        console.warn(`${PLUGIN_ID}: this launcher cannot be ordered; categories keep JupyterLab's order`);
      }
    };
    apply();
    settings.changed.connect(apply);
  }
};
