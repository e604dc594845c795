import { IPowerState } from './shapes';

export function watts(value: number): string {
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function grams(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} kg` : `${value.toFixed(value >= 10 ? 1 : 2)} g`;
}

/** An indicator's text marked and its tooltip ended with what goes wrong, if anything:
 * frozen or dropped figures must never look like good ones. */
function withProblems([text, title]: [string, string], problems: string[]): [string, string] {
  if (problems.length === 0) {
    return [text, title];
  }
  return [`${text} ⚠`, `${title}\n\nProblems: ${problems.join('; ')}.`];
}

/** The CPU indicator's text and tooltip. */
export function cpuText(state: IPowerState): [string, string] {
  return withProblems(cpuFigures(state), state.problems);
}

function cpuFigures(state: IPowerState): [string, string] {
  const cpu = state.cpu;
  if (cpu.power_w === null) {
    return ['CPU: n/a', `CPU power is not shown: ${cpu.reason}`];
  }
  const text = cpu.limit_w === null ? `CPU: ${watts(cpu.power_w)} W` : `CPU: ${watts(cpu.power_w)} W / ${watts(cpu.limit_w)} W`;
  const limit =
    cpu.limit_w === null
      ? 'The processors of this node set no power limit: only this server’s power is shown.'
      : `${watts(cpu.limit_w)} W is the processors’ long-term power limit on this node.`;
  return [
    text,
    'Processor power charged to this server: its part of the processors’ idle power for what it holds ' +
      '(its job’s cores, or its share of the login node’s users), plus the power above idle that its ' +
      'programs’ CPU time used. From the processors’ RAPL energy counters: a model of the chip, not a ' +
      `measurement. ${limit}`
  ];
}

/** The GPU indicator's text and tooltip, or null when it is hidden (a job without GPUs).
 * A job with GPUs whose power cannot be read says why. */
export function gpuText(state: IPowerState): [string, string] | null {
  const gpu = state.gpu;
  if (gpu.reason) {
    return ['GPU: n/a', `GPU power is not shown: ${gpu.reason}`];
  }
  if (gpu.count > 0 && gpu.power_w !== undefined && gpu.limit_w !== undefined) {
    return [
      `GPU: ${watts(gpu.power_w)} W / ${watts(gpu.limit_w)} W`,
      `Power of the ${gpu.count} GPU(s) of this job and their enforced limits, from NVML.`
    ];
  }
  return null;
}

/** The CO2 indicator's text and tooltip. */
export function co2Text(state: IPowerState): [string, string] {
  const factor = state.factor;
  // A failing fetch is said, with since when, even while the last good value is in force.
  const failing =
    factor.last_error && factor.error_since !== null
      ? `; fetching it fails since ${new Date(factor.error_since * 1000).toLocaleString()} (${factor.last_error})`
      : factor.last_error
        ? ` (${factor.last_error})`
        : '';
  const origin = factor.real_time
    ? `${factor.grams_per_kwh} gCO2eq/kWh from ${factor.source} at ${factor.measured_at}${failing}`
    : `${factor.grams_per_kwh} gCO2eq/kWh, static factor (${factor.source}): no recent real-time value${failing}`;
  return withProblems(
    [
      `CO₂: ${grams(state.co2_g)}`,
      `Cumulative emissions of this server since ${new Date(state.since * 1000).toLocaleString()}: ` +
        `${(state.energy_j / 3.6e6).toFixed(4)} kWh at the emission factor in force in each interval, now ${origin}.`
    ],
    state.problems
  );
}
