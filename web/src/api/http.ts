// HTTP calls to Corral from the console. The browser is authenticated by the
// HttpOnly session cookie; unsafe requests repeat the readable CSRF cookie in
// the X-API-CSRF header (double submit), as the server requires. Errors come
// back as Kubernetes Status objects and are thrown as `ApiError`, which keeps
// the field causes so forms can show them at the field.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: "Status";
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
}

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly status: Status | null,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  get causes(): StatusCause[] {
    return this.status?.details?.causes ?? [];
  }
}

const CSRF_COOKIE = "CORRAL_CSRF";
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

function cookie(name: string): string {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return "";
}

/** Called on a 401 so the app can send the user to the login page. */
let onUnauthorized: (() => void) | null = null;
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Content type of a body that is not plain JSON (e.g. merge-patch). */
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

/** One request; answers the parsed JSON (or text when not JSON). */
export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = (options.method ?? "GET").toUpperCase();
  const headers: Record<string, string> = { Accept: options.accept ?? "application/json" };
  let body: string | undefined;
  if (options.body !== undefined) {
    headers["Content-Type"] = options.contentType ?? "application/json";
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
  }
  if (!SAFE.has(method)) headers["X-API-CSRF"] = cookie(CSRF_COOKIE);
  const response = await fetch(path, {
    method,
    headers,
    body,
    credentials: "same-origin",
    signal: options.signal,
  });
  const text = await response.text();
  const isJson = (response.headers.get("content-type") ?? "").includes("json");
  const parsed: unknown = isJson && text ? JSON.parse(text) : text;
  if (!response.ok) {
    if (response.status === 401 && onUnauthorized) onUnauthorized();
    const status =
      parsed && typeof parsed === "object" && (parsed as Status).kind === "Status"
        ? (parsed as Status)
        : null;
    throw new ApiError(
      response.status,
      status,
      status?.message ?? `${method} ${path}: HTTP ${response.status}`,
    );
  }
  return parsed as T;
}

/** The API path prefix of a cluster: `local` is served by Corral itself. */
export function clusterBase(cluster: string): string {
  return cluster === "local" ? "" : `/k8s/clusters/${encodeURIComponent(cluster)}`;
}
