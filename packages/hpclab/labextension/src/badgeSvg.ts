const BADGE_COLOURS = ['#1f6f8b', '#7a4a9e', '#2e7d32', '#b5471b', '#8a6d00', '#ad1457', '#37474f', '#00695c'];

function colour(text: string): string {
  let hash = 0;
  for (const character of text) {
    hash = (hash * 31 + character.charCodeAt(0)) % BADGE_COLOURS.length;
  }
  return BADGE_COLOURS[hash];
}

/** Up to two letters or digits (nothing to escape in SVG): "Slurm" gives "S", "Open MPI" "OM". */
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
    `<rect width="52" height="52" rx="9" fill="${colour(title)}"/>` +
    '<text x="26" y="33" font-family="sans-serif" font-size="20" font-weight="bold" ' +
    `fill="#fff" text-anchor="middle">${initials(title)}</text></svg>`
  );
}

/** The SVG string of an entry's LabIcon: the site's SVG when it gave one, a badge otherwise. */
export function iconSvg(title: string, svg?: string): string {
  // LabIcon URI-decodes every SVG string: a literal "%" (as in "50%") must come encoded.
  return (svg && svg.trim() ? svg : badgeSvg(title)).replace(/%/g, '%25');
}
