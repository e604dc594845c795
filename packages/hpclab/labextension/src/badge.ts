import { LabIcon } from '@jupyterlab/ui-components';

import { iconSvg } from './badgeSvg';

const icons = new Map<string, LabIcon>();

/** The icon of a launcher entry: the site's SVG when it gave one, a badge otherwise. */
export function entryIcon(key: string, title: string, svg?: string): LabIcon {
  const name = `hpclab:${key}`;
  const svgstr = iconSvg(title, svg);
  let icon = icons.get(name);
  if (icon === undefined) {
    icon = new LabIcon({ name, svgstr });
    icons.set(name, icon);
  } else if (icon.svgstr !== svgstr) {
    icon.svgstr = svgstr;
  }
  return icon;
}
