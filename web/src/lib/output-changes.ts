/**
 * A running job's gallery keeps its pages and asks the server only for the outputs
 * that changed since its last poll (`since`); this folds those into the pages.
 */

/** The shape of the infinite query's data: pages of items with an id. */
export interface Paged {
  pages: { items: { id: string }[] }[];
}

type ItemOf<D extends Paged> = D["pages"][number]["items"][number];

/**
 * Replaces the loaded items that changed, in place of the old ones (same order).
 * Items on pages not loaded yet are left out: those pages are read later, fresher.
 * Returns the same object when nothing loaded changed, so React renders nothing.
 */
export function mergeChanges<D extends Paged>(
  data: D | undefined,
  changed: readonly ItemOf<D>[],
): D | undefined {
  if (!data || changed.length === 0) return data;
  const byId = new Map(changed.map((o) => [o.id, o]));
  let touched = false;
  const pages = data.pages.map((page) => {
    if (!page.items.some((o) => byId.has(o.id))) return page;
    touched = true;
    return { ...page, items: page.items.map((o) => byId.get(o.id) ?? o) };
  });
  return touched ? { ...data, pages } : data;
}
