// Every Cluster the user may see, kept live for the home page and the cluster
// switcher: one LIST, then one subscription from its resourceVersion over the
// page's shared socket (no polling). The LIST is read in pages of one
// snapshot: a first small page is on screen at once, the rest follows, and the
// subscription starts from the snapshot's resourceVersion. It decides how a
// big list stays cheap:
// objects are kept frozen in a plain Map (no deep reactivity), and a burst of
// events costs one re-sort per animation frame, not one per event. A 410
// (history compacted) lists again; other subscription errors show the error
// state. The Cluster fields are issue 9's Contract 3.
import { defineStore } from "pinia";
import { computed, markRaw, ref, shallowRef } from "vue";
import { ApiError, api, type Status } from "../api/http";
import { subscriptions, type KubeObject, type WatchEvent } from "../api/subscribe";

export const CLUSTERS_PATH = "/apis/management.corral.io/v1/clusters";

export interface Resources {
  cpu?: string;
  memory?: string;
  pods?: string;
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface Cluster extends KubeObject {
  spec?: { displayName?: string; description?: string; internal?: boolean };
  status?: {
    state?: string;
    conditions?: Condition[];
    registration?: { manifestUrl?: string; command?: string; agentCommand?: string };
    version?: { gitVersion?: string; major?: string; minor?: string };
    nodeCount?: number;
    capacity?: Resources;
    allocatable?: Resources;
    requested?: Resources;
  };
}

interface ClusterList {
  metadata?: { resourceVersion?: string; continue?: string };
  items?: Cluster[];
}

/** The first page is what fits a screen or two; later pages are large. */
const FIRST_PAGE = 100;
const NEXT_PAGES = 1000;

/** What people call a cluster: its display name, else its id. */
export function clusterLabel(cluster: Cluster): string {
  return cluster.spec?.displayName || cluster.metadata.name;
}

const collator = new Intl.Collator(undefined, { numeric: true });

function byLabel(a: Cluster, b: Cluster): number {
  if (a.metadata.name === "local") return -1;
  if (b.metadata.name === "local") return 1;
  return (
    collator.compare(clusterLabel(a), clusterLabel(b)) ||
    collator.compare(a.metadata.name, b.metadata.name)
  );
}

export const useClusters = defineStore("clusters", () => {
  const byName = new Map<string, Cluster>();
  const revision = ref(0);
  const loaded = ref(false);
  /** Every page of the LIST is in (the count is final). */
  const complete = ref(false);
  const error = ref("");
  const list = shallowRef<Cluster[]>([]);
  let stopWatch: (() => void) | null = null;
  let frame = 0;
  let starting: Promise<void> | null = null;
  /** Bumped by `reset`: a LIST still paging for an earlier session stops. */
  let generation = 0;

  function publish(): void {
    frame = 0;
    list.value = [...byName.values()].sort(byLabel);
    revision.value += 1;
  }

  function schedule(): void {
    if (frame) return;
    frame = requestAnimationFrame(publish);
  }

  function onEvent(event: WatchEvent): void {
    if (event.type === "BOOKMARK") return;
    if (event.type === "ERROR") {
      const status = event.object as unknown as Status;
      stopWatch = null;
      if (status.code === 410) void relist();
      else error.value = status.message ?? "the cluster list stopped updating";
      return;
    }
    const cluster = markRaw(Object.freeze(event.object as Cluster));
    if (event.type === "DELETED") byName.delete(cluster.metadata.name);
    else byName.set(cluster.metadata.name, cluster);
    schedule();
  }

  function keep(items: Cluster[] | undefined): void {
    for (const item of items ?? []) byName.set(item.metadata.name, markRaw(Object.freeze(item)));
  }

  async function relist(): Promise<void> {
    stopWatch?.();
    stopWatch = null;
    complete.value = false;
    const mine = generation;
    try {
      const first = await api<ClusterList>(`${CLUSTERS_PATH}?limit=${FIRST_PAGE}`);
      if (mine !== generation) return;
      byName.clear();
      keep(first.items);
      error.value = "";
      publish();
      loaded.value = true;
      let token = first.metadata?.continue;
      while (token) {
        const next = await api<ClusterList>(
          `${CLUSTERS_PATH}?limit=${NEXT_PAGES}&continue=${encodeURIComponent(token)}`,
        );
        if (mine !== generation) return;
        keep(next.items);
        schedule();
        token = next.metadata?.continue;
      }
      complete.value = true;
      stopWatch = subscriptions.subscribe(
        CLUSTERS_PATH,
        { resourceVersion: first.metadata?.resourceVersion },
        onEvent,
      );
    } catch (caught) {
      if (mine !== generation) return;
      if (caught instanceof ApiError && caught.code === 410) return relist(); // snapshot compacted
      error.value = caught instanceof ApiError ? caught.message : String(caught);
    } finally {
      if (mine === generation) loaded.value = true;
    }
  }

  /** List and watch (once; later calls wait for the first list). */
  function start(): Promise<void> {
    if (!starting) starting = relist();
    return starting;
  }

  /** Stop watching and forget everything (on logout). */
  function reset(): void {
    generation += 1;
    stopWatch?.();
    stopWatch = null;
    if (frame) cancelAnimationFrame(frame);
    frame = 0;
    starting = null;
    byName.clear();
    list.value = [];
    loaded.value = false;
    complete.value = false;
    error.value = "";
  }

  function get(name: string): Cluster | undefined {
    void revision.value; // a dependency, so computed lookups follow updates
    return byName.get(name);
  }

  const count = computed(() => list.value.length);

  return { list, loaded, complete, error, revision, count, start, reset, get, relist };
});
