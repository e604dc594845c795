import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** An application the site defines (hpclab.lab.apps.catalogue). */
export interface IApp {
  name: string;
  title: string;
  category: string;
  endpoints: number;
  required: string[];
  icon: string;
}

/** A running application process. */
export interface IRunningApp {
  app: string;
  title: string;
  endpoint: number;
  arguments: string[];
  pid: number;
  started: number;
  log: string;
}

export interface IAppsState {
  apps: IApp[];
  running: IRunningApp[];
}

/** The answer to a launch: the app's URL, or why it could not start. */
export interface ILaunchAnswer {
  ok: boolean;
  status: number;
  url?: string;
  message?: string;
}

const settings = ServerConnection.makeSettings();

export function appUrl(name: string, endpoint: number): string {
  return URLExt.join(settings.baseUrl, 'hpclab', 'apps', name, String(endpoint), '/');
}

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  return ServerConnection.makeRequest(URLExt.join(settings.baseUrl, 'hpclab', 'api', 'apps', path), init, settings);
}

export async function fetchApps(): Promise<IAppsState> {
  const response = await request('');
  if (!response.ok) {
    throw new ServerConnection.ResponseError(response);
  }
  return (await response.json()) as IAppsState;
}

export async function launchApp(
  name: string,
  endpoint: number,
  argumentsText: string,
  environmentText: string
): Promise<ILaunchAnswer> {
  const response = await request(`${name}/${endpoint}`, {
    method: 'POST',
    body: JSON.stringify({ arguments: argumentsText, environment: environmentText })
  });
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, url: body.url, message: body.message };
}

export async function stopApp(name: string, endpoint: number): Promise<void> {
  await request(`${name}/${endpoint}`, { method: 'DELETE' });
}
