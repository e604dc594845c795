import assert from 'node:assert/strict';
import { test } from 'node:test';

import { badgeSvg, iconSvg, initials } from '../badgeSvg';

test('initials: the first letter or digit of up to two words', () => {
  assert.equal(initials('Slurm'), 'S');
  assert.equal(initials('Open MPI'), 'OM');
  assert.equal(initials('jupyter-lab docs (v4)'), 'JL');
  assert.equal(initials('élan 3D'), 'É3');
  assert.equal(initials('<script>&'), 'S');
  assert.equal(initials('--'), '');
});

test('badgeSvg: the same title gives the same colour, with its initials', () => {
  assert.equal(badgeSvg('TensorBoard'), badgeSvg('TensorBoard'));
  assert.match(badgeSvg('TensorBoard'), /fill="#[0-9a-f]{6}"\/>.*>T<\/text><\/svg>$/);
  const colours = new Set(['MLflow', 'Dask', 'Ray', 'noVNC', 'TensorBoard'].map(title => badgeSvg(title).match(/fill="(#[0-9a-f]{6})"/)?.[1]));
  assert.ok(colours.size > 1, 'titles are spread over the palette');
});

test('iconSvg: the site SVG, else a badge; "%" encoded for LabIcon', () => {
  const svg = '<svg><rect width="50%"/></svg>';
  assert.equal(iconSvg('Docs', svg), '<svg><rect width="50%25"/></svg>');
  assert.equal(iconSvg('Docs'), badgeSvg('Docs'));
  assert.equal(iconSvg('Docs', '  \n'), badgeSvg('Docs'));
});
