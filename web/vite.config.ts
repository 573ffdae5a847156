// Vite build of Corral's console. The output goes into the Python package
// (src/corral/ui/static), which `corral server` serves at `/`; it is never
// committed. Heavy editors (CodeMirror, xterm.js) stay in lazy chunks.
import { fileURLToPath } from "node:url";
import vue from "@vitejs/plugin-vue";
import { defineConfig } from "vite";

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
    // `npm run dev` talks to a local `corral server` (make run).
    proxy: {
      "^/(api|apis|v3|v3-public|k8s|version|openapi)": {
        target: "https://127.0.0.1:8443",
        secure: false,
        ws: true,
      },
    },
  },
});
