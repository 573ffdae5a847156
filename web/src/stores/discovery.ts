// The resource types a cluster serves, from discovery, cached per cluster.
// Aggregated discovery (apidiscovery.k8s.io/v2: two requests, `/api` and
// `/apis`) is asked for first; a server that does not speak it answers the
// classic documents, and then every group's preferred version is read. Only
// the preferred version of each group is kept (as kubectl does), and only
// top-level resources (no subresources).
import { defineStore } from "pinia";
import { api, clusterBase } from "../api/http";
import { typeKey, type ResourceType } from "../api/kube";

const AGGREGATED =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

interface AggregatedResource {
  resource: string;
  responseKind?: { group?: string; version?: string; kind?: string };
  scope?: string;
  verbs?: string[];
  shortNames?: string[];
}
interface AggregatedGroup {
  metadata?: { name?: string };
  versions?: { version: string; resources?: AggregatedResource[] }[];
}
interface AggregatedList {
  kind?: string;
  items?: AggregatedGroup[];
}
interface APIResource {
  name: string;
  kind: string;
  namespaced: boolean;
  verbs?: string[];
  shortNames?: string[];
}
interface APIResourceList {
  resources?: APIResource[];
}
interface APIGroupList {
  groups?: { name: string; preferredVersion?: { version: string }; versions?: { version: string }[] }[];
}
interface APIVersions {
  versions?: string[];
}

function fromAggregated(list: AggregatedList): ResourceType[] {
  const out: ResourceType[] = [];
  for (const group of list.items ?? []) {
    const name = group.metadata?.name ?? "";
    const preferred = group.versions?.[0];
    if (!preferred) continue;
    for (const r of preferred.resources ?? []) {
      if (r.resource.includes("/")) continue;
      out.push({
        group: name,
        version: preferred.version,
        resource: r.resource,
        kind: r.responseKind?.kind ?? r.resource,
        namespaced: r.scope === "Namespaced",
        verbs: r.verbs ?? [],
        shortNames: r.shortNames ?? [],
        key: typeKey(name, preferred.version, r.resource),
      });
    }
  }
  return out;
}

function fromResourceList(group: string, version: string, list: APIResourceList): ResourceType[] {
  return (list.resources ?? [])
    .filter((r) => !r.name.includes("/"))
    .map((r) => ({
      group,
      version,
      resource: r.name,
      kind: r.kind,
      namespaced: r.namespaced,
      verbs: r.verbs ?? [],
      shortNames: r.shortNames ?? [],
      key: typeKey(group, version, r.name),
    }));
}

async function discover(cluster: string): Promise<ResourceType[]> {
  const base = clusterBase(cluster);
  const [core, groups] = await Promise.all([
    api<AggregatedList & APIVersions>(`${base}/api`, { accept: AGGREGATED }),
    api<AggregatedList & APIGroupList>(`${base}/apis`, { accept: AGGREGATED }),
  ]);
  if (core.kind === "APIGroupDiscoveryList" && groups.kind === "APIGroupDiscoveryList") {
    return [...fromAggregated(core), ...fromAggregated(groups)];
  }
  const lists: Promise<ResourceType[]>[] = [];
  const coreVersion = core.versions?.[0] ?? "v1";
  lists.push(
    api<APIResourceList>(`${base}/api/${coreVersion}`).then((l) => fromResourceList("", coreVersion, l)),
  );
  for (const g of groups.groups ?? []) {
    const version = g.preferredVersion?.version ?? g.versions?.[0]?.version;
    if (!version) continue;
    lists.push(
      api<APIResourceList>(`${base}/apis/${g.name}/${version}`)
        .then((l) => fromResourceList(g.name, version, l))
        // One broken group (an unavailable aggregated API) must not hide the others.
        .catch(() => []),
    );
  }
  return (await Promise.all(lists)).flat();
}

/** Discovery requests in flight, per cluster: pages asking at once share one. */
const inFlight = new Map<string, Promise<ResourceType[]>>();

export const useDiscovery = defineStore("discovery", {
  state: () => ({
    types: {} as Record<string, ResourceType[]>,
    errors: {} as Record<string, string>,
  }),
  actions: {
    /** The cluster's types (cached; `force` reads discovery again). */
    async load(cluster: string, force = false): Promise<ResourceType[]> {
      const cached = this.types[cluster];
      if (cached && !force) return cached;
      let pending = inFlight.get(cluster);
      if (!pending || force) {
        pending = discover(cluster);
        inFlight.set(cluster, pending);
        void pending.finally(() => inFlight.delete(cluster)).catch(() => undefined);
      }
      try {
        const types = await pending;
        this.types[cluster] = types;
        delete this.errors[cluster];
        return types;
      } catch (err) {
        this.errors[cluster] = err instanceof Error ? err.message : String(err);
        throw err;
      }
    },
    find(cluster: string, key: string): ResourceType | undefined {
      return this.types[cluster]?.find((t) => t.key === key);
    },
    /** The type serving `kind` of `apiVersion` (for objects read from YAML). */
    byKind(cluster: string, apiVersion: string, kind: string): ResourceType | undefined {
      const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
      const all = this.types[cluster] ?? [];
      const exact = all.find((t) => t.group === group && t.version === version && t.kind === kind);
      if (exact) return exact;
      // Another version of a known group: same resource name, that version's path.
      const other = all.find((t) => t.group === group && t.kind === kind);
      return other && version
        ? { ...other, version, key: typeKey(group ?? "", version, other.resource) }
        : undefined;
    },
  },
});
