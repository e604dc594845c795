import { LabIcon } from '@jupyterlab/ui-components';

const icons = new Map<string, LabIcon>();

function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, c => `&#${c.charCodeAt(0)};`);
}

function hue(text: string): number {
  let hash = 0;
  for (const character of text) {
    hash = (hash * 31 + character.charCodeAt(0)) % 360;
  }
  return hash;
}

/** Up to two letters that name an entry: "Slurm" gives "S", "Open MPI" gives "OM". */
export function initials(title: string): string {
  const words = title.split(/[^\p{L}\p{N}]+/u).filter(word => word.length > 0);
  return words
    .slice(0, 2)
    .map(word => word[0].toUpperCase())
    .join('');
}

/** A square badge with the entry's initials, for entries whose site gave no icon. */
export function badgeSvg(title: string): string {
  return (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 52 52">' +
    `<rect width="52" height="52" rx="9" fill="hsl(${hue(title)}, 55%, 40%)"/>` +
    '<text x="26" y="33" font-family="sans-serif" font-size="20" font-weight="bold" ' +
    `fill="#fff" text-anchor="middle">${escapeXml(initials(title))}</text></svg>`
  );
}

/** The icon of a launcher entry: the site's SVG when it gave one, a badge otherwise. */
export function entryIcon(key: string, title: string, svg?: string): LabIcon {
  const name = `hpclab:${key}`;
  const svgstr = svg && svg.trim() ? svg : badgeSvg(title);
  let icon = icons.get(name);
  if (icon === undefined) {
    icon = new LabIcon({ name, svgstr });
    icons.set(name, icon);
  } else if (icon.svgstr !== svgstr) {
    icon.svgstr = svgstr;
  }
  return icon;
}
