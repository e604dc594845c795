/**
 * The launcher's category order as a rank per category: JupyterLab places a category
 * by the smallest categoryRank of its items (Notebook 0, Console 20, Other 100 and
 * any other category last by default).
 */
export function categoryRank(order: readonly string[], category: string | undefined): number | undefined {
  const position = order.indexOf(category || 'Other');
  return position === -1 ? undefined : position;
}
