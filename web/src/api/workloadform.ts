// What the workload form turns into: a Deployment (and optionally a Service
// selecting its pods), and which form field a server Status cause's `field`
// belongs to, so the server's own validation is shown where the user typed.
import type { KubeObject } from "./subscribe";

export interface PortRow {
  name: string;
  containerPort: number | null;
  protocol: "TCP" | "UDP" | "SCTP";
  /** Port of the Service for this container port (when a Service is made). */
  servicePort: number | null;
  nodePort: number | null;
}
export interface EnvRow {
  key: string;
  value: string;
}
export interface WorkloadForm {
  name: string;
  namespace: string;
  image: string;
  replicas: number;
  ports: PortRow[];
  env: EnvRow[];
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
  command: string;
  args: string;
  service: { enabled: boolean; type: "ClusterIP" | "NodePort" };
}

/** One argument per line; blank lines dropped. */
function lines(text: string): string[] {
  return text.split("\n").map((l) => l.trim()).filter(Boolean);
}
function quantities(q: { cpu: string; memory: string }): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (q.cpu.trim()) out.cpu = q.cpu.trim();
  if (q.memory.trim()) out.memory = q.memory.trim();
  return Object.keys(out).length ? out : undefined;
}

export function deploymentOf(form: WorkloadForm): KubeObject {
  const labels = { app: form.name };
  const container: Record<string, unknown> = { name: form.name, image: form.image.trim() };
  const command = lines(form.command);
  const args = lines(form.args);
  if (command.length) container.command = command;
  if (args.length) container.args = args;
  const ports = form.ports.filter((p) => p.containerPort !== null);
  if (ports.length) {
    container.ports = ports.map((p) => ({
      ...(p.name.trim() ? { name: p.name.trim() } : {}),
      containerPort: p.containerPort,
      protocol: p.protocol,
    }));
  }
  const env = form.env.filter((e) => e.key.trim() || e.value);
  if (env.length) container.env = env.map((e) => ({ name: e.key.trim(), value: e.value }));
  const requests = quantities(form.requests);
  const limits = quantities(form.limits);
  if (requests || limits) container.resources = { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: form.name, namespace: form.namespace, labels },
    spec: {
      replicas: form.replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers: [container] } },
    },
  };
}

export function serviceOf(form: WorkloadForm): KubeObject {
  const ports = form.ports.filter((p) => p.containerPort !== null);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: form.name, namespace: form.namespace, labels: { app: form.name } },
    spec: {
      type: form.service.type,
      selector: { app: form.name },
      ports: ports.map((p, i) => ({
        name: p.name.trim() || `port-${i}`,
        port: p.servicePort ?? p.containerPort,
        targetPort: p.containerPort,
        protocol: p.protocol,
        ...(form.service.type === "NodePort" && p.nodePort ? { nodePort: p.nodePort } : {}),
      })),
    },
  };
}

/** The form field a Deployment's Status cause names (`other` when none fits). */
export function formFieldOf(field: string | undefined): string {
  if (!field) return "other";
  if (field === "metadata.name" || field.startsWith("metadata.labels")) return "name";
  if (field === "metadata.namespace") return "namespace";
  if (field.startsWith("spec.replicas")) return "replicas";
  const container = /^spec\.template\.spec\.containers\[\d+\]\.(.*)$/.exec(field)?.[1];
  if (container === undefined) return "other";
  const port = /^ports\[(\d+)\]/.exec(container);
  if (port) return `ports.${port[1]}`;
  const env = /^env\[(\d+)\]/.exec(container);
  if (env) return `env.${env[1]}`;
  if (container.startsWith("resources")) return "resources";
  if (container.startsWith("image")) return "image";
  if (container.startsWith("command")) return "command";
  if (container.startsWith("args")) return "args";
  if (container.startsWith("name")) return "name";
  return "other";
}
