import { ServerConnection } from '@jupyterlab/services';

import { IAppsState, IErrorAnswer, ILaunchedApp, ILaunchRequest } from './shapes';
import * as urls from './urls';

/** The answer to a launch: the app's URL, or why it could not start. */
export interface ILaunchAnswer {
  ok: boolean;
  status: number;
  url?: string;
  message?: string;
}

const settings = ServerConnection.makeSettings();

export function appUrl(name: string, endpoint: number): string {
  return urls.appUrl(settings.baseUrl, name, endpoint);
}

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  return ServerConnection.makeRequest(urls.appsApiUrl(settings.baseUrl, path), init, settings);
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
  const launch: ILaunchRequest = { arguments: argumentsText, environment: environmentText };
  const response = await request(`${name}/${endpoint}`, { method: 'POST', body: JSON.stringify(launch) });
  // A proxy in between may answer with a page rather than JSON.
  const body: Partial<ILaunchedApp & IErrorAnswer> = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, url: body.url, message: body.message };
}

export async function stopApp(name: string, endpoint: number): Promise<void> {
  await request(`${name}/${endpoint}`, { method: 'DELETE' });
}
