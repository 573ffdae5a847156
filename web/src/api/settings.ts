// Corral's Settings (issue 9's Contract 3: cluster-scoped, a top-level `value`
// and `default`). The console reads and writes `server-url`, the address
// agents and kubeconfigs use to reach this server.
import { ApiError, api } from "./http";

export const SETTINGS_PATH = "/apis/management.corral.io/v1/settings";
export const SERVER_URL = "server-url";

export interface Setting {
  metadata: { name: string; resourceVersion?: string };
  value?: string;
  default?: string;
}

/** The setting's effective value ("" when neither value nor default is set, or it does not exist). */
export async function settingValue(name: string): Promise<string> {
  try {
    const setting = await api<Setting>(`${SETTINGS_PATH}/${encodeURIComponent(name)}`);
    return setting.value || setting.default || "";
  } catch (error) {
    if (error instanceof ApiError && error.code === 404) return "";
    throw error;
  }
}

/** Set the setting's value (a JSON merge patch; the server validates it). */
export async function setSetting(name: string, value: string): Promise<void> {
  await api(`${SETTINGS_PATH}/${encodeURIComponent(name)}`, {
    method: "PATCH",
    body: { value },
    contentType: "application/merge-patch+json",
  });
}
