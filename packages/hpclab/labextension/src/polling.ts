/**
 * Calls refresh every milliseconds while the page is visible, as JupyterLab's own polls
 * do: a hidden tab then asks its server nothing, so that the hub's idle culler can see a
 * forgotten tab's server idle. Returns what stops it.
 */
export function whileVisible(refresh: () => void, milliseconds: number): () => void {
  const timer = window.setInterval(() => {
    if (document.visibilityState !== 'hidden') {
      refresh();
    }
  }, milliseconds);
  return () => window.clearInterval(timer);
}
