// Who is signed in to the console, and the first-login state. It decides what
// "signed in" means for the router: the server's answer to a SelfSubjectReview
// (the session cookie is HttpOnly, so the page never sees the token); a 403
// saying the password must be changed means "signed in, but only the first
// login may run". The password typed at login is kept in memory only (never in
// the URL or any storage) so the first-login page can prefill it, and is
// dropped as soon as it has been used.
import { defineStore } from "pinia";
import { ApiError, api } from "../api/http";
import { subscriptions } from "../api/subscribe";

export interface SessionUser {
  username: string;
  groups: string[];
}

interface SelfSubjectReview {
  status?: { userInfo?: { username?: string; groups?: string[] } };
}

interface LoginAnswer {
  userId: string;
  mustChangePassword: boolean;
}

const LOGIN_PATH = "/v3-public/localProviders/local?action=login";
/** The server's forced-password-change refusal (management/passwordchange.py). */
const MUST_CHANGE_TEXT = "must change your password";

export function isMustChange(error: unknown): boolean {
  return error instanceof ApiError && error.code === 403 && error.message.includes(MUST_CHANGE_TEXT);
}

export const useSession = defineStore("session", {
  state: () => ({
    user: null as SessionUser | null,
    /** Signed in, but every request but the password change is refused. */
    mustChangePassword: false,
    /** Whether `load()` has asked the server once. */
    loaded: false,
    /** The password typed at login, for the first-login page only (memory). */
    pendingPassword: "",
    /** Username from the login answer (known even while the password must change). */
    loginName: "",
  }),
  getters: {
    signedIn: (state) => state.user !== null || state.mustChangePassword,
    displayName: (state) => state.user?.username ?? state.loginName,
  },
  actions: {
    /** Ask the server who the session belongs to. */
    async load(): Promise<void> {
      try {
        const review = await api<SelfSubjectReview>(
          "/apis/authentication.k8s.io/v1/selfsubjectreviews",
          {
            method: "POST",
            body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
          },
        );
        const info = review.status?.userInfo ?? {};
        this.user = { username: info.username ?? "", groups: info.groups ?? [] };
        this.mustChangePassword = false;
      } catch (error) {
        this.user = null;
        if (isMustChange(error)) this.mustChangePassword = true;
        else if (error instanceof ApiError && error.code === 401) this.mustChangePassword = false;
        else throw error;
      } finally {
        this.loaded = true;
      }
    },

    /** `load()` once; later calls answer at once. */
    async ensureLoaded(): Promise<void> {
      if (!this.loaded) await this.load();
    },

    /** Sign in with a password; the server sets the session and CSRF cookies. */
    async login(username: string, password: string): Promise<void> {
      const answer = await api<LoginAnswer>(LOGIN_PATH, {
        method: "POST",
        body: { username, password, responseType: "cookie" },
      });
      this.loginName = answer.userId;
      if (answer.mustChangePassword) {
        this.user = null;
        this.mustChangePassword = true;
        this.pendingPassword = password;
        this.loaded = true;
        return;
      }
      this.pendingPassword = "";
      await this.load();
    },

    /** Change the signed-in user's own password (clears the first-login state). */
    async changePassword(currentPassword: string, newPassword: string): Promise<void> {
      await api("/v3/users?action=changepassword", {
        method: "POST",
        body: { currentPassword, newPassword },
      });
      this.pendingPassword = "";
      this.mustChangePassword = false;
      await this.load();
    },

    /** End the session on the server (deletes its token, clears the cookies). */
    async logout(): Promise<void> {
      try {
        await api("/v3/tokens?action=logout", { method: "POST" });
      } finally {
        this.forget();
      }
    },

    /** Drop everything known about the session (after logout or a 401), and its socket. */
    forget(): void {
      subscriptions.disconnect();
      this.user = null;
      this.mustChangePassword = false;
      this.pendingPassword = "";
      this.loginName = "";
      this.loaded = true;
    },
  },
});
