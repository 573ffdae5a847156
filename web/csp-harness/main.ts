// CodeMirror 6 (YAML, lint gutter) and xterm.js (with fit), set up as the
// console's views do; `data-ready` on <body> once both have drawn.
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers } from "@codemirror/view";
import { defaultKeymap } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import "@xterm/xterm/css/xterm.css";

const doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: harness\ndata:\n  key: value\n";
const view = new EditorView({
  state: EditorState.create({
    doc,
    extensions: [lineNumbers(), keymap.of(defaultKeymap), yaml(), lintGutter()],
  }),
  parent: document.getElementById("editor")!,
});
view.dispatch(
  setDiagnostics(view.state, [{ from: 0, to: 10, severity: "error", message: "field error" }]),
);

const terminal = new Terminal({ convertEol: true, rows: 10 });
const fit = new FitAddon();
terminal.loadAddon(fit);
terminal.open(document.getElementById("terminal")!);
fit.fit();
terminal.write("container log line 1\ncontainer log line 2\n", () => {
  document.body.dataset.ready = "1";
});
