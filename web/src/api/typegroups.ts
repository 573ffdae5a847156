// Which sidebar section a resource type belongs to: the sections a Rancher
// user knows (Workloads, Service discovery, Config, Storage, RBAC, Cluster),
// then every other API group under its own name.
import type { ResourceType } from "./kube";

const SECTIONS: [string, string[]][] = [
  ["Workloads", ["pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs"]],
  ["Service discovery", ["services", "endpoints", "endpointslices", "ingresses", "ingressclasses", "networkpolicies"]],
  ["Config", ["configmaps", "secrets", "resourcequotas", "limitranges", "horizontalpodautoscalers", "poddisruptionbudgets"]],
  ["Storage", ["persistentvolumes", "persistentvolumeclaims", "storageclasses", "volumeattachments", "csidrivers", "csinodes"]],
  ["RBAC", ["serviceaccounts", "roles", "rolebindings", "clusterroles", "clusterrolebindings"]],
  [
    "Cluster",
    [
      "nodes", "namespaces", "events", "customresourcedefinitions", "apiservices", "priorityclasses",
      "runtimeclasses", "leases", "mutatingwebhookconfigurations", "validatingwebhookconfigurations",
    ],
  ],
];
const KNOWN_GROUPS = new Set([
  "", "apps", "batch", "networking.k8s.io", "discovery.k8s.io", "autoscaling", "policy", "storage.k8s.io",
  "rbac.authorization.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io", "scheduling.k8s.io",
  "node.k8s.io", "coordination.k8s.io", "admissionregistration.k8s.io", "events.k8s.io",
]);

export interface TypeSection {
  title: string;
  types: ResourceType[];
}

function sectionOf(t: ResourceType): string {
  if (KNOWN_GROUPS.has(t.group)) {
    // events.k8s.io/Event duplicates core Events: keep it under its group.
    if (t.group !== "events.k8s.io") {
      for (const [title, resources] of SECTIONS) if (resources.includes(t.resource)) return title;
    }
  }
  return t.group || "core";
}

/** Listable types in sidebar order, filtered by `filter` (kind, resource or short name). */
export function sections(types: ResourceType[], filter: string): TypeSection[] {
  const needle = filter.trim().toLowerCase();
  const bySection = new Map<string, ResourceType[]>();
  for (const t of types) {
    if (!t.verbs.includes("list")) continue;
    if (
      needle &&
      !t.kind.toLowerCase().includes(needle) &&
      !t.resource.includes(needle) &&
      !t.shortNames.some((s) => s === needle)
    )
      continue;
    const title = sectionOf(t);
    const list = bySection.get(title) ?? [];
    list.push(t);
    bySection.set(title, list);
  }
  const fixed = SECTIONS.map(([title]) => title);
  const rest = [...bySection.keys()].filter((k) => !fixed.includes(k)).sort();
  return [...fixed, ...rest]
    .filter((title) => bySection.has(title))
    .map((title) => ({
      title,
      types: (bySection.get(title) ?? []).sort((a, b) => a.kind.localeCompare(b.kind)),
    }));
}
