// The router's sign-in rules, in one place. It decides where a navigation may
// go: public pages (login) are always open; everything else needs a session,
// and an unknown session is sent to /login with `next` set to the page asked
// for, so deep links survive signing in. A user who must change their password
// is kept on /first-login. A 401 from any API call (the session expired or was
// logged out elsewhere) also goes to the login page, keeping the current page
// as `next`.
import type { Pinia } from "pinia";
import type { RouteLocationNormalized, RouteLocationRaw, Router } from "vue-router";
import { setUnauthorizedHandler } from "./api/http";
import { useSession } from "./stores/session";

/** `next` only if it is a path on this site (no open redirect to elsewhere). */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || !next.startsWith("/") || next.startsWith("//")) return "/home";
  if (next.startsWith("/login") || next.startsWith("/first-login")) return "/home";
  return next;
}

function toLogin(to: RouteLocationNormalized): RouteLocationRaw {
  return to.fullPath === "/" || to.fullPath === "/home"
    ? { name: "login" }
    : { name: "login", query: { next: to.fullPath } };
}

export function installGuards(router: Router, pinia: Pinia): void {
  const session = useSession(pinia);

  router.beforeEach(async (to) => {
    if (to.meta.public) return true;
    try {
      await session.ensureLoaded();
    } catch {
      // The server could not say who we are (down, 5xx): the page shows it.
      return to.name === "login" ? true : toLogin(to);
    }
    if (!session.signedIn) return toLogin(to);
    if (session.mustChangePassword && to.name !== "first-login") {
      const next = safeNext(to.fullPath);
      return next === "/home"
        ? { name: "first-login" }
        : { name: "first-login", query: { next } };
    }
    return true;
  });

  setUnauthorizedHandler(() => {
    // Only a session we believed in can expire; the first probe's 401 (not
    // signed in yet) is the guard's business, and the login page's is its own.
    if (!session.signedIn) return;
    const current = router.currentRoute.value;
    if (current.meta.public) return;
    session.forget();
    void router.push(toLogin(current));
  });
}
