import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';
import { Widget } from '@lumino/widgets';

import { SANDBOX_PAGE_OPTION } from './shapes';

/** A top bar message on sandboxed servers, so that users know why their apps' ports are private. */
export const sandboxPlugin: JupyterFrontEndPlugin<void> = {
  id: '@hpclab/lab-extension:sandbox',
  description: 'Says in the top bar that this server runs in the sandbox.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    if (PageConfig.getOption(SANDBOX_PAGE_OPTION) !== 'true') {
      return;
    }
    const banner = new Widget();
    banner.id = 'hpclab-sandbox-banner';
    banner.addClass('hpclab-SandboxBanner');
    banner.node.textContent = '📦 Sandbox mode';
    banner.node.title =
      'This JupyterLab runs in a private network: only JupyterLab itself is reachable from the node. ' +
      'Web applications started here (TensorBoard, MLflow, any port) are reachable only through this JupyterLab, ' +
      'and this server cannot reach services on the node itself. Multi-node jobs cannot connect back to it, ' +
      'and setuid programs (sudo, ...) do not work.';
    app.shell.add(banner, 'top', { rank: 900 });
  }
};
