import { ILauncher } from '@jupyterlab/launcher';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

/**
 * The one place that relies on how @jupyterlab/launcher 4 works inside: the ILauncher
 * it provides is its model (ILauncher.IModel), whose items are the very objects it
 * renders, so a rank set on them before the next render places their category.
 */
type RankedItem = { categoryRank?: number; category?: string };
type LauncherModel = ILauncher.IModel & { stateChanged: ISignal<unknown, void> };

function isModel(launcher: ILauncher): launcher is LauncherModel {
  return 'items' in launcher && 'stateChanged' in launcher;
}

/** Give every launcher item, now and as they are added, the rank of its category. */
export function rankCategories(
  launcher: ILauncher,
  rank: (category: string | undefined) => number | undefined
): IDisposable | null {
  if (!isModel(launcher)) {
    return null;
  }
  const apply = (): void => {
    for (const item of launcher.items() as IterableIterator<RankedItem>) {
      const wanted = rank(item.category);
      if (wanted !== undefined) {
        item.categoryRank = wanted;
      }
    }
  };
  apply();
  launcher.stateChanged.connect(apply);
  return new DisposableDelegate(() => launcher.stateChanged.disconnect(apply));
}
