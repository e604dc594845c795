import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { appsPlugin } from './apps';
import { launcherPlugin } from './launcher';
import { powerPlugin } from './power';
import { sandboxPlugin } from './sandbox';

const plugins: JupyterFrontEndPlugin<unknown>[] = [launcherPlugin, appsPlugin, powerPlugin, sandboxPlugin];

export default plugins;
