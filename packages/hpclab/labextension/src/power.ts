import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

import { co2Text, cpuText, gpuText } from './powerText';
import { IPowerState } from './shapes';
import { powerApiUrl } from './urls';
import { whileVisible } from './polling';

const REFRESH_MS = 5_000;

/** One text item of the top bar, with a tooltip that says how it is estimated. */
class Indicator extends Widget {
  constructor(id: string) {
    super();
    this.id = id;
    this.addClass('hpclab-PowerIndicator');
  }

  display(text: string, title: string): void {
    this.node.textContent = text;
    this.node.title = title;
    this.setHidden(false);
  }
}

async function fetchPower(): Promise<IPowerState | null> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(powerApiUrl(settings.baseUrl), {}, settings);
  return response.ok ? ((await response.json()) as IPowerState) : null;
}

/** CPU power, GPU power (when the job has GPUs) and cumulative CO2, next to CPU and memory. */
export const powerPlugin: JupyterFrontEndPlugin<void> = {
  id: '@hpclab/lab-extension:power',
  description: 'CPU and GPU power and cumulative CO2 of this server, in the top bar.',
  autoStart: true,
  activate: (app: JupyterFrontEnd) => {
    const cpu = new Indicator('hpclab-power-cpu');
    const gpu = new Indicator('hpclab-power-gpu');
    const co2 = new Indicator('hpclab-power-co2');
    gpu.setHidden(true);
    app.shell.add(cpu, 'top', { rank: 1000 });
    app.shell.add(gpu, 'top', { rank: 1001 });
    app.shell.add(co2, 'top', { rank: 1002 });
    const refresh = async (): Promise<void> => {
      const state = await fetchPower().catch(() => null);
      if (state === null) {
        cpu.display('Power: n/a', 'The power indicators of this server do not answer.');
        co2.setHidden(true);
        return;
      }
      cpu.display(...cpuText(state));
      const gpuState = gpuText(state);
      if (gpuState) {
        gpu.display(...gpuState);
      } else {
        gpu.setHidden(true);
      }
      co2.display(...co2Text(state));
    };
    void refresh();
    const stop = whileVisible(() => void refresh(), REFRESH_MS);
    cpu.disposed.connect(stop);
  }
};
