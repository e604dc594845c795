import assert from 'node:assert/strict';
import { test } from 'node:test';

import { categoryRank } from '../categoryRanks';

const GUIDE = ['Notebook', 'Applications', 'Dashboards', 'HPC Tools', 'Documentation', 'Console', 'Other'];

test("categoryRank: the guide's order, first listed first", () => {
  const ranks = GUIDE.map(category => categoryRank(GUIDE, category));
  assert.deepEqual(ranks, [0, 1, 2, 3, 4, 5, 6]);
});

test('categoryRank: an item with no category is in Other, as the launcher shows it', () => {
  assert.equal(categoryRank(GUIDE, undefined), 6);
  assert.equal(categoryRank(GUIDE, ''), 6);
});

test('categoryRank: a category the order does not list keeps JupyterLab\'s rank', () => {
  assert.equal(categoryRank(GUIDE, 'Site tools'), undefined);
});
