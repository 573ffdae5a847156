// The workload actions of the list: scale (the `scale` subresource),
// redeploy (a new `kubectl.kubernetes.io/restartedAt` on the pod template, as
// `kubectl rollout restart`) and roll back (`kubectl rollout undo`: for a
// Deployment the pod template of the ReplicaSet with the previous revision
// number; for a StatefulSet the previous ControllerRevision's data, a
// strategic merge patch that puts its template back).
import { api } from "./http";
import { collectionPath, objectPath, type KubeList, type TypeRef } from "./kube";
import type { KubeObject } from "./subscribe";

const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const STRATEGIC = "application/strategic-merge-patch+json";
const REVISION = "deployment.kubernetes.io/revision";

export async function scale(cluster: string, type: TypeRef, ns: string, name: string, replicas: number): Promise<void> {
  await api(`${objectPath(cluster, type, ns, name)}/scale`, {
    method: "PATCH",
    contentType: MERGE,
    body: { spec: { replicas } },
  });
}

export async function redeploy(cluster: string, type: TypeRef, ns: string, name: string): Promise<void> {
  const restartedAt = new Date().toISOString();
  await api(objectPath(cluster, type, ns, name), {
    method: "PATCH",
    contentType: MERGE,
    body: { spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": restartedAt } } } } },
  });
}

export class RollbackError extends Error {}

function ownedBy(uid: string | undefined, objects: KubeObject[]): KubeObject[] {
  return objects.filter((o) =>
    ((o.metadata.ownerReferences as { uid?: string; controller?: boolean }[] | undefined) ?? []).some(
      (ref) => ref.uid === uid && ref.controller,
    ),
  );
}

/** Rolls a StatefulSet back to its previous ControllerRevision; answers that revision. */
export async function rollbackStatefulSet(cluster: string, ns: string, name: string): Promise<number> {
  const sets = { group: "apps", version: "v1", resource: "statefulsets" };
  const set = await api<KubeObject>(objectPath(cluster, sets, ns, name));
  const revisions = await api<KubeList>(
    collectionPath(cluster, { group: "apps", version: "v1", resource: "controllerrevisions" }, ns),
  );
  const history = ownedBy(set.metadata.uid, revisions.items).sort(
    (a, b) => Number(a.revision ?? 0) - Number(b.revision ?? 0),
  );
  const previous = history[history.length - 2];
  if (!previous) throw new RollbackError(`statefulset ${name} has no previous revision to roll back to`);
  await api(objectPath(cluster, sets, ns, name), { method: "PATCH", contentType: STRATEGIC, body: previous.data });
  return Number(previous.revision ?? 0);
}

/** Rolls a Deployment back to the previous revision; answers that revision. */
export async function rollback(cluster: string, ns: string, name: string): Promise<number> {
  const deployments = { group: "apps", version: "v1", resource: "deployments" };
  const deployment = await api<KubeObject>(objectPath(cluster, deployments, ns, name));
  const replicaSets = await api<KubeList>(
    collectionPath(cluster, { group: "apps", version: "v1", resource: "replicasets" }, ns),
  );
  const owned = ownedBy(deployment.metadata.uid, replicaSets.items);
  const revisionOf = (o: KubeObject) => Number(o.metadata.annotations?.[REVISION] ?? "0") || 0;
  const current = revisionOf(deployment);
  const previous = owned
    .filter((rs) => revisionOf(rs) > 0 && revisionOf(rs) < current)
    .sort((a, b) => revisionOf(b) - revisionOf(a))[0];
  if (!previous) throw new RollbackError(`deployment ${name} has no previous revision to roll back to`);
  const spec = previous.spec as { template?: { metadata?: { labels?: Record<string, string> } } };
  const template = structuredClone(spec.template ?? {});
  if (template.metadata?.labels) delete template.metadata.labels["pod-template-hash"];
  await api(objectPath(cluster, deployments, ns, name), {
    method: "PATCH",
    contentType: JSON_PATCH,
    // No resourceVersion precondition: status writes by the controller would
    // fail it while a rollout is in progress (kubectl sends none either).
    body: [{ op: "replace", path: "/spec/template", value: template }],
  });
  return revisionOf(previous);
}
