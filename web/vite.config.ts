// Vite build of Corral's console. The output goes into the Python package
// (src/corral/ui/static), which `corral server` serves at `/`; it is never
// committed. Heavy editors (CodeMirror, xterm.js) stay in lazy chunks.
import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

const devServer = process.env.CORRAL_DEV_SERVER ?? "https://127.0.0.1:8443";

export default defineConfig({
  plugins: [vue()],
  base: "/",
  build: {
    outDir: fileURLToPath(new URL("../src/corral/ui/static", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    assetsDir: "assets",
    chunkSizeWarningLimit: 600,
  },
  server: {
    // `npm run dev` talks to a local `corral server` (make run; CORRAL_DEV_SERVER
    // names another). A WebSocket authenticated by the session cookie must come
    // from the server's own origin, so the proxy presents that origin.
    proxy: {
      "^/(api|apis|v3|v3-public|k8s|version|openapi)": {
        target: devServer,
        secure: false,
        ws: true,
        configure: (proxy) => {
          proxy.on("proxyReqWs", (request) => request.setHeader("origin", devServer));
        },
      },
    },
  },
});
