import { URLExt } from '@jupyterlab/coreutils';

/** The page of a running app: <server>/<app>/<endpoint>/, as the user guide prints it. */
export function appUrl(baseUrl: string, name: string, endpoint: number): string {
  return URLExt.join(baseUrl, name, String(endpoint), '/');
}

/** The applications' API: path '' for the list, '<name>/<endpoint>' for one endpoint. */
export function appsApiUrl(baseUrl: string, path: string): string {
  return URLExt.join(baseUrl, 'hpclab', 'api', 'apps', path);
}

export function powerApiUrl(baseUrl: string): string {
  return URLExt.join(baseUrl, 'hpclab/api/power');
}

/** URL of a dashboard under this server, with its port in place of {port}. */
export function dashboardUrl(baseUrl: string, path: string, port: number): string {
  return URLExt.join(baseUrl, path.replace('{port}', String(port)));
}

export function isPort(value: number | null): value is number {
  return value !== null && Number.isInteger(value) && value > 0 && value < 65536;
}

/** The session's API: path '' for its state, 'keep' or 'extend'. */
export function sessionApiUrl(baseUrl: string, path = ''): string {
  return URLExt.join(baseUrl, 'hpclab', 'api', 'session', path);
}
