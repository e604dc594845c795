import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { appsPlugin } from './apps';
import { launcherPlugin } from './launcher';
import { powerPlugin } from './power';

const plugins: JupyterFrontEndPlugin<unknown>[] = [launcherPlugin, appsPlugin, powerPlugin];

export default plugins;
