import { JupyterFrontEndPlugin } from '@jupyterlab/application';

import { launcherPlugin } from './launcher';

const plugins: JupyterFrontEndPlugin<unknown>[] = [launcherPlugin];

export default plugins;
