// Live data for the console over ONE WebSocket (`/v3/subscribe`), whatever
// the number of lists on screen: a browser allows only six HTTP/1.1
// connections per origin, so one HTTP watch per list would starve the page.
//
// Protocol (JSON text frames; the server side is corral.ui.subscriptions):
//   client → server
//     {"op":"subscribe","id":"s1","path":"/api/v1/namespaces/default/pods",
//      "resourceVersion":"123","labelSelector":"app=web","fieldSelector":"metadata.name=x"}
//       `path` is a collection path of the Kubernetes API, either Corral's own
//       (`/api/...`, `/apis/...`) or a cluster's through the proxy
//       (`/k8s/clusters/<id>/api/...`). The server watches it AS THE USER
//       (same authentication, RBAC and proxy rules as an HTTP watch), from
//       `resourceVersion` when given.
//     {"op":"unsubscribe","id":"s1"}
//   server → client
//     {"id":"s1","type":"ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK","object":{...}}
//     {"id":"s1","type":"ERROR","object":<Status>}  the subscription is over:
//       410 Expired → list again and subscribe from the new resourceVersion;
//       403/404 → show the error state.
//   The server resumes a watch that ends normally by itself, from the last
//   resourceVersion it sent; the client resumes all subscriptions the same
//   way after the socket reconnects.

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface WatchEvent {
  type: WatchEventType;
  object: KubeObject;
}

export interface SubscribeOptions {
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Each event's object is a one-row meta.k8s.io Table (as `kubectl get -w` gets). */
  table?: boolean;
}

type Handler = (event: WatchEvent) => void;

interface Subscription {
  path: string;
  options: SubscribeOptions;
  handler: Handler;
}

class Subscriptions {
  private socket: WebSocket | null = null;
  private open = false;
  private readonly subs = new Map<string, Subscription>();
  private counter = 0;
  private retry = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** Watch `path`; answers the function that stops watching. */
  subscribe(path: string, options: SubscribeOptions, handler: Handler): () => void {
    const id = `s${++this.counter}`;
    this.subs.set(id, { path, options: { ...options }, handler });
    if (this.open) this.sendSubscribe(id);
    else this.connect();
    return () => this.unsubscribe(id);
  }

  private unsubscribe(id: string): void {
    if (!this.subs.delete(id)) return;
    if (this.open) this.send({ op: "unsubscribe", id });
    if (this.subs.size === 0) this.closeSoon();
  }

  private closeSoon(): void {
    // Keep the socket a moment: route changes unsubscribe then subscribe.
    setTimeout(() => {
      if (this.subs.size === 0 && this.socket) {
        this.socket.close(1000);
        this.socket = null;
        this.open = false;
      }
    }, 5000);
  }

  private connect(): void {
    if (this.socket || this.timer) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/v3/subscribe`);
    this.socket = socket;
    socket.onopen = () => {
      this.open = true;
      this.retry = 0;
      for (const id of this.subs.keys()) this.sendSubscribe(id);
    };
    socket.onmessage = (message: MessageEvent<string>) => this.receive(message.data);
    socket.onclose = () => {
      this.socket = null;
      this.open = false;
      if (this.subs.size === 0) return;
      const delay = Math.min(30_000, 500 * 2 ** this.retry++) * (0.5 + Math.random() / 2);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, delay);
    };
  }

  private receive(data: string): void {
    const message = JSON.parse(data) as { id: string; type: WatchEventType; object: KubeObject };
    const sub = this.subs.get(message.id);
    if (!sub) return;
    const rv = message.object?.metadata?.resourceVersion;
    if (message.type === "ERROR") this.subs.delete(message.id);
    else if (rv) sub.options.resourceVersion = rv;
    sub.handler({ type: message.type, object: message.object });
  }

  private sendSubscribe(id: string): void {
    const sub = this.subs.get(id);
    if (sub) this.send({ op: "subscribe", id, path: sub.path, ...sub.options });
  }

  private send(message: object): void {
    this.socket?.send(JSON.stringify(message));
  }

  /**
   * Close the socket now and drop every subscription (at sign-out): the
   * socket was authenticated by the session that just ended, so the next
   * user must get a socket of their own.
   */
  disconnect(): void {
    this.subs.clear();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const socket = this.socket;
    this.socket = null;
    this.open = false;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = null;
      socket.close(1000);
    }
  }
}

/** The page's one subscription socket. */
export const subscriptions = new Subscriptions();
