import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { IApp } from './shapes';

export interface ILaunchInput {
  argumentsText: string;
  environmentText: string;
  endpoint: number;
}

function field(label: string, control: HTMLElement): HTMLLabelElement {
  const wrapper = document.createElement('label');
  wrapper.className = 'hpclab-LaunchDialog-field';
  const caption = document.createElement('span');
  caption.textContent = label;
  wrapper.append(caption, control);
  return wrapper;
}

/** The body of the launch dialog: arguments, environment variables, endpoint. */
export class LaunchForm extends Widget implements Dialog.IBodyWidget<ILaunchInput> {
  private readonly argumentsInput = document.createElement('input');
  private readonly environmentInput = document.createElement('textarea');
  private readonly endpointInput = document.createElement('select');

  constructor(app: IApp, previous?: ILaunchInput) {
    super();
    this.addClass('hpclab-LaunchDialog');
    this.argumentsInput.name = 'arguments';
    this.argumentsInput.value = previous?.argumentsText ?? '';
    this.argumentsInput.placeholder = app.required.length
      ? `${app.required.join(' ')} ... (required)`
      : 'e.g. --flag value (shell expansion: $WORK, ~)';
    this.environmentInput.name = 'environment';
    this.environmentInput.rows = 3;
    this.environmentInput.value = previous?.environmentText ?? '';
    this.environmentInput.placeholder = 'NAME=value, one per line';
    this.endpointInput.name = 'endpoint';
    for (let endpoint = 0; endpoint < app.endpoints; endpoint++) {
      const option = document.createElement('option');
      option.value = String(endpoint);
      option.textContent = String(endpoint);
      this.endpointInput.append(option);
    }
    this.endpointInput.value = String(previous?.endpoint ?? 0);
    this.endpointInput.disabled = app.endpoints === 1;
    const hint = document.createElement('p');
    hint.textContent = 'Relative paths are relative to the file browser root.';
    this.node.append(
      field('Command line arguments', this.argumentsInput),
      field('Environment variables', this.environmentInput),
      field('Select endpoint', this.endpointInput),
      hint
    );
  }

  getValue(): ILaunchInput {
    return {
      argumentsText: this.argumentsInput.value,
      environmentText: this.environmentInput.value,
      endpoint: Number(this.endpointInput.value)
    };
  }
}
