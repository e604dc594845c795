import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { appsPlugin } from './apps';
import { launcherPlugin } from './launcher';

const plugins: JupyterFrontEndPlugin<unknown>[] = [launcherPlugin, appsPlugin];

export default plugins;
