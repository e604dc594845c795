import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { appsPlugin } from './apps';
import { categoryOrderPlugin } from './categoryOrder';
import { launcherPlugin } from './launcher';
import { powerPlugin } from './power';
import { sandboxPlugin } from './sandbox';
import { sessionPlugin } from './session';

const plugins: JupyterFrontEndPlugin<unknown>[] = [
  launcherPlugin,
  categoryOrderPlugin,
  appsPlugin,
  powerPlugin,
  sandboxPlugin,
  sessionPlugin
];

export default plugins;
