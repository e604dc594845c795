import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';

const REFRESH_MS = 5_000;

interface IPowerState {
  cpu: { power_w: number | null; limit_w: number | null; reason: string };
  gpu: { count: number; power_w?: number; limit_w?: number; reason?: string };
  energy_j: number;
  co2_g: number;
  since: number;
  factor: { grams_per_kwh: number; source: string; measured_at: string; real_time: boolean; last_error: string };
}

function watts(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function grams(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} kg` : `${value.toFixed(value >= 10 ? 1 : 2)} g`;
}

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

export function cpuText(state: IPowerState): [string, string] {
  const cpu = state.cpu;
  if (cpu.power_w === null) {
    return ['CPU: n/a', `CPU power is not shown: ${cpu.reason}`];
  }
  const text = cpu.limit_w === null ? `CPU: ${watts(cpu.power_w)} W` : `CPU: ${watts(cpu.power_w)} W / ${watts(cpu.limit_w)} W`;
  const limit =
    cpu.limit_w === null ? 'No CPU power limit is set on this node: only this server’s power is shown.' : 'The limit is the CPU packages’ long-term power limit.';
  return [
    text,
    'This server’s share of the CPU packages’ power, from RAPL energy counters (a model of the chip, ' +
      `not a measurement) and the share of CPU time its processes used. ${limit}`
  ];
}

export function co2Text(state: IPowerState): [string, string] {
  const factor = state.factor;
  const origin = factor.real_time
    ? `${factor.grams_per_kwh} gCO2eq/kWh from ${factor.source} at ${factor.measured_at}`
    : `${factor.grams_per_kwh} gCO2eq/kWh, static factor (${factor.source}): no recent real-time value${factor.last_error ? ` (${factor.last_error})` : ''}`;
  return [
    `CO₂: ${grams(state.co2_g)}`,
    `Cumulative emissions of this server since ${new Date(state.since * 1000).toLocaleString()}: ` +
      `${(state.energy_j / 3.6e6).toFixed(4)} kWh at the emission factor in force in each interval, now ${origin}.`
  ];
}

async function fetchPower(): Promise<IPowerState | null> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(URLExt.join(settings.baseUrl, 'hpclab/api/power'), {}, settings);
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
      if (state.gpu.count > 0 && state.gpu.power_w !== undefined && state.gpu.limit_w !== undefined) {
        gpu.display(
          `GPU: ${watts(state.gpu.power_w)} W / ${watts(state.gpu.limit_w)} W`,
          `Power of the ${state.gpu.count} GPU(s) of this job and their enforced limits, from NVML.`
        );
      } else {
        gpu.setHidden(true);
      }
      co2.display(...co2Text(state));
    };
    void refresh();
    const timer = window.setInterval(() => void refresh(), REFRESH_MS);
    cpu.disposed.connect(() => window.clearInterval(timer));
  }
};
