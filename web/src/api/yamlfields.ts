// Where a field named by the server (a Status cause's `field`, e.g.
// `spec.replicas`, `spec.template.spec.containers[0].image`,
// `metadata.labels[app]`) is in a YAML text: the deepest node of that path
// that exists, as a character range, so the editor can mark that line.
import { isMap, isScalar, isSeq, parseDocument, type Node } from "yaml";

function segments(field: string): string[] {
  const out: string[] = [];
  for (const match of field.matchAll(/([^.[\]]+)|\[([^\]]*)\]/g)) {
    out.push(match[1] ?? match[2] ?? "");
  }
  return out;
}

/** The [from, to) range of `field` in `text`, or null when not even its first part is there. */
export function fieldRange(text: string, field: string): [number, number] | null {
  const doc = parseDocument(text);
  let node: unknown = doc.contents;
  let range: [number, number] | null = null;
  for (const seg of segments(field)) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === seg);
      if (!pair) break;
      const key = pair.key as Node;
      const value = pair.value as Node | null;
      const end = value?.range?.[1] ?? key.range?.[1];
      if (key.range && end !== undefined) range = [key.range[0], Math.max(end, key.range[1])];
      node = value;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)] as Node | undefined;
      if (!item || !/^\d+$/.test(seg)) break;
      if (item.range) range = [item.range[0], item.range[1]];
      node = item;
    } else break;
  }
  return range;
}
