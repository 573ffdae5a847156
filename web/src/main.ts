// Entry point of Corral's console: one Vue app with Pinia state, the router
// and its sign-in guards.
import { createPinia } from "pinia";
import { createApp } from "vue";
import App from "./App.vue";
import { installGuards } from "./guards";
import { router } from "./router";
import "./styles.css";

const pinia = createPinia();
installGuards(router, pinia);
createApp(App).use(pinia).use(router).mount("#app");
