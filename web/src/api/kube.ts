// Paths and shapes of the Kubernetes API as the explorer uses them. A
// resource type is named in routes by its key `<group>.<version>.<resource>`
// (`v1.pods` for the core group, `apps.v1.deployments`); this module turns
// keys into API paths under a cluster's base (`clusterBase`), so `local` and
// imported clusters are addressed alike.
import { clusterBase } from "./http";
import type { KubeObject } from "./subscribe";

export interface ResourceType {
  group: string;
  version: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  verbs: string[];
  shortNames: string[];
  /** `<group>.<version>.<resource>`, or `<version>.<resource>` for the core group. */
  key: string;
}

export interface TableColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
}

export interface TableRow {
  cells: unknown[];
  object?: KubeObject;
}

export interface Table {
  kind: "Table";
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

export interface KubeList {
  metadata?: { resourceVersion?: string };
  items: KubeObject[];
}

export const TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

export function typeKey(group: string, version: string, resource: string): string {
  return group ? `${group}.${version}.${resource}` : `${version}.${resource}`;
}

/** Splits a route key back into group, version and resource (groups contain dots). */
export function parseTypeKey(
  key: string,
): { group: string; version: string; resource: string } | null {
  const parts = key.split(".");
  if (parts.length < 2) return null;
  const resource = parts.pop() as string;
  const version = parts.pop() as string;
  return { group: parts.join("."), version, resource };
}

export interface TypeRef {
  group: string;
  version: string;
  resource: string;
}

/** The collection path of a type (in one namespace, or across all when `namespace` is empty). */
export function collectionPath(cluster: string, type: TypeRef, namespace = ""): string {
  const gv = type.group ? `/apis/${type.group}/${type.version}` : `/api/${type.version}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  return `${clusterBase(cluster)}${gv}${ns}/${type.resource}`;
}

/** The path of one object (`namespace` empty for cluster-scoped objects). */
export function objectPath(cluster: string, type: TypeRef, namespace: string, name: string): string {
  return `${collectionPath(cluster, type, namespace)}/${encodeURIComponent(name)}`;
}

/** `apiVersion` of a type: `v1` or `apps/v1`. */
export function apiVersionOf(type: TypeRef): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** The route `namespace` segment of an object: `_` for cluster-scoped ones. */
export function routeNamespace(namespace: string | undefined): string {
  return namespace ? namespace : "_";
}

/** A DNS-1123 label (names of namespaces, services, most objects' first check). */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
