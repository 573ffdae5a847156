// Kubeconfig downloads (issue 9's Contract 3): the server's generateKubeconfig
// action makes a fresh kubeconfig token for the caller; the console hands the
// YAML to the browser as a file, without keeping it anywhere.
import { api } from "./http";

interface KubeconfigAnswer {
  config: string;
}

/** Ask for the kubeconfig of one cluster, or of every cluster when `cluster` is null. */
export async function generateKubeconfig(cluster: string | null): Promise<string> {
  const path =
    cluster === null
      ? "/v3/clusters?action=generateKubeconfig"
      : `/v3/clusters/${encodeURIComponent(cluster)}?action=generateKubeconfig`;
  const answer = await api<KubeconfigAnswer>(path, {
    method: "POST",
    body: cluster === null ? { clusters: [] } : {},
  });
  return answer.config;
}

/** Save `text` as the file `filename` through a Blob download. */
export function saveAsFile(filename: string, text: string, type = "application/yaml"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.rel = "noopener";
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Fetch and save a kubeconfig as `<name>.yaml` (`all-clusters.yaml` for all). */
export async function downloadKubeconfig(cluster: string | null): Promise<void> {
  const config = await generateKubeconfig(cluster);
  saveAsFile(`${cluster ?? "all-clusters"}.yaml`, config);
}
