// Which of a server error's field causes belongs to which form field. A Status
// names fields by path (`spec.displayName`, `newPassword`, `value`); a form
// asks for the causes of the paths it shows and puts the rest in its general
// error, so no message is lost.
import { ApiError } from "./api/http";

export interface SplitErrors {
  /** field path → message, for the fields the form shows */
  fields: Record<string, string>;
  /** everything else, as one message */
  general: string;
}

export function splitErrors(error: unknown, fieldPaths: readonly string[]): SplitErrors {
  const fields: Record<string, string> = {};
  if (!(error instanceof ApiError)) {
    return { fields, general: error instanceof Error ? error.message : String(error) };
  }
  const rest: string[] = [];
  for (const cause of error.causes) {
    const path = (cause.field ?? "").replace(/^\./, "");
    const message = cause.message ?? cause.reason ?? "invalid";
    if (fieldPaths.includes(path)) fields[path] = fields[path] ? `${fields[path]}; ${message}` : message;
    else rest.push(path ? `${path}: ${message}` : message);
  }
  const general =
    Object.keys(fields).length > 0 && rest.length === 0 ? "" : rest.length ? rest.join("; ") : error.message;
  return { fields, general };
}
