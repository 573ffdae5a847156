// Routes of the console. Every page is a deep link: the server answers
// index.html for any path that is not an API path, and the router takes over.
// Views other than login and home load lazily, so the first page stays small.
import { createRouter, createWebHistory, type RouteRecordRaw } from "vue-router";
import HomeView from "./views/HomeView.vue";
import LoginView from "./views/LoginView.vue";

export const routes: RouteRecordRaw[] = [
  { path: "/", redirect: "/home" },
  { path: "/login", name: "login", component: LoginView, meta: { public: true } },
  {
    path: "/first-login",
    name: "first-login",
    component: () => import("./views/FirstLoginView.vue"),
  },
  { path: "/home", name: "home", component: HomeView },
  {
    path: "/c/:cluster",
    name: "cluster",
    component: () => import("./views/ClusterExplorerView.vue"),
    props: true,
  },
  {
    // e.g. /c/local/explorer/apps.v1.deployments?namespace=default
    path: "/c/:cluster/explorer/:resource",
    name: "resource-list",
    component: () => import("./views/ResourceListView.vue"),
    props: true,
  },
  {
    // namespaced: /c/local/explorer/apps.v1.deployments/default/web ; cluster-scoped: /c/local/explorer/v1.nodes/_/sim-1
    path: "/c/:cluster/explorer/:resource/:namespace/:name",
    name: "resource-detail",
    component: () => import("./views/ResourceDetailView.vue"),
    props: true,
  },
  {
    path: "/c/:cluster/deploy",
    name: "deploy",
    component: () => import("./views/WorkloadFormView.vue"),
    props: true,
  },
  { path: "/:rest(.*)*", name: "not-found", component: () => import("./views/NotFoundView.vue") },
];

export const router = createRouter({ history: createWebHistory("/"), routes });
