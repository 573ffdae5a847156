// A live list of one collection as the server's Table rows: LIST with
// `as=Table` in pages (a small first page, so the first rows are on screen
// and usable at once, then larger ones, all of one snapshot), then the
// subscription socket with `table: true` from the list's resourceVersion; a
// 410 (Expired) lists again. Rows are kept in a Map keyed
// by namespace/name and published as one shallow array, re-built at most once
// per animation frame, so a burst of events costs one render.
import { onBeforeUnmount, ref, shallowRef, watch, type Ref } from "vue";
import { api, ApiError } from "../api/http";
import { TABLE_ACCEPT, type Table, type TableColumn, type TableRow } from "../api/kube";
import { subscriptions, type WatchEvent } from "../api/subscribe";

export interface LiveTableSource {
  /** Collection path (with the cluster base), or "" for nothing yet. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** False for a type that cannot be watched: listed once, not kept live. */
  watch?: boolean;
}

const FIRST_PAGE = 250;
const NEXT_PAGE = 5000;

export function rowKey(row: TableRow): string {
  const meta = row.object?.metadata;
  return meta ? `${meta.namespace ?? ""}/${meta.name}` : JSON.stringify(row.cells);
}

export function useLiveTable(source: Ref<LiveTableSource>) {
  const columns = shallowRef<TableColumn[]>([]);
  const rows = shallowRef<TableRow[]>([]);
  const error = ref<ApiError | Error | null>(null);
  const loading = ref(false);
  const ready = ref(false);
  /** False while later pages of the list are still being read. */
  const complete = ref(false);
  /** Why live updates stopped (the rows stay, as last seen), or "". */
  const stale = ref("");
  let byKey = new Map<string, TableRow>();
  let stop: (() => void) | null = null;
  let frame = 0;
  let generation = 0;

  function publish(): void {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      rows.value = Array.from(byKey.values());
    });
  }

  function onEvent(gen: number, event: WatchEvent): void {
    if (gen !== generation) return;
    if (event.type === "ERROR") {
      const status = event.object as unknown as { code?: number; message?: string };
      if (status.code === 410) void load(gen);
      else stale.value = status.message ?? "live updates stopped";
      return;
    }
    if (event.type === "BOOKMARK") return;
    const table = event.object as unknown as Table;
    if (table.columnDefinitions?.length && !columns.value.length) {
      columns.value = table.columnDefinitions;
    }
    for (const row of table.rows ?? []) {
      const key = rowKey(row);
      if (event.type === "DELETED") byKey.delete(key);
      else byKey.set(key, row);
    }
    publish();
  }

  async function load(gen: number): Promise<void> {
    stop?.();
    stop = null;
    const { path, labelSelector, fieldSelector, watch: live = true } = source.value;
    stale.value = "";
    if (!path) return;
    loading.value = true;
    complete.value = false;
    const base = new URLSearchParams({ includeObject: "Metadata" });
    if (labelSelector) base.set("labelSelector", labelSelector);
    if (fieldSelector) base.set("fieldSelector", fieldSelector);
    try {
      let next = "";
      let resourceVersion: string | undefined;
      let first = true;
      do {
        const query = new URLSearchParams(base);
        query.set("limit", String(first ? FIRST_PAGE : NEXT_PAGE));
        if (next) query.set("continue", next);
        const table = await api<Table>(`${path}?${query}`, { accept: TABLE_ACCEPT });
        if (gen !== generation) return;
        if (first) {
          columns.value = table.columnDefinitions ?? [];
          byKey = new Map();
        }
        for (const row of table.rows ?? []) byKey.set(rowKey(row), row);
        rows.value = Array.from(byKey.values());
        error.value = null;
        ready.value = true;
        resourceVersion = table.metadata?.resourceVersion;
        next = table.metadata?.continue ?? "";
        first = false;
      } while (next);
      complete.value = true;
      if (!live) return;
      stop = subscriptions.subscribe(
        path,
        {
          resourceVersion,
          labelSelector: labelSelector || undefined,
          fieldSelector: fieldSelector || undefined,
          table: true,
        },
        (event) => onEvent(gen, event),
      );
    } catch (err) {
      if (gen !== generation) return;
      error.value = err instanceof Error ? err : new Error(String(err));
      byKey = new Map();
      rows.value = [];
      ready.value = true;
    } finally {
      if (gen === generation) loading.value = false;
    }
  }

  watch(
    source,
    () => {
      generation += 1;
      ready.value = false;
      void load(generation);
    },
    { immediate: true, deep: true },
  );

  onBeforeUnmount(() => {
    generation += 1;
    stop?.();
    if (frame) cancelAnimationFrame(frame);
  });

  return { columns, rows, error, stale, loading, ready, complete, reload: () => load(++generation) };
}
