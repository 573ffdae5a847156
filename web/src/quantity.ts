// Kubernetes resource quantities ("250m", "1.5Gi", "2e3", "64Mi") as plain
// numbers, so the console can draw requested/allocatable bars. It decides how
// a quantity string maps to a number (cores for CPU, bytes for memory) with the
// same suffix rules as apimachinery's resource.Quantity, and how numbers are
// shown back to people. Anything that is not a quantity is an error, never 0.

export class QuantityError extends Error {
  constructor(readonly text: string) {
    super(`not a Kubernetes quantity: ${JSON.stringify(text)}`);
    this.name = "QuantityError";
  }
}

const BINARY: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// Decimal suffixes as powers of ten: applied by parsing "<number>e<power>",
// which rounds once (0.1 * 1e-6 would round twice).
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };

// sign, digits with an optional fraction, then a suffix: a binary SI one, a
// decimal SI one, or a decimal exponent (e/E followed by a signed integer).
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** The value of a quantity string: "500m" → 0.5, "1Ki" → 1024, "1e3" → 1000. */
export function parseQuantity(text: string): number {
  const match = QUANTITY.exec(text.trim());
  if (!match || text.trim() === "") throw new QuantityError(text);
  const [, number, exponent, suffix] = match;
  if (exponent !== undefined) return Number(`${number}e${exponent.slice(1)}`);
  const unit = suffix ?? "";
  const binary = BINARY[unit];
  if (binary !== undefined) return Number(number) * binary;
  const power = DECIMAL[unit];
  if (power === undefined) throw new QuantityError(text);
  return Number(`${number}e${power}`);
}

/** `parseQuantity`, or null for a missing or malformed value (for display). */
export function quantityOrNull(text: string | undefined | null): number | null {
  if (text === undefined || text === null || text === "") return null;
  try {
    return parseQuantity(text);
  } catch {
    return null;
  }
}

function trimmed(value: number, digits: number): string {
  return Number(value.toFixed(digits)).toString();
}

/** CPU cores for people: 0.25 → "250m", 3.5 → "3.5". */
export function formatCpu(cores: number): string {
  if (cores !== 0 && Math.abs(cores) < 1) return `${trimmed(cores * 1000, 0)}m`;
  return trimmed(cores, 2);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;

/** Bytes for people in binary units: 1536 → "1.5 KiB", 2**33 → "8 GiB". */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${trimmed(value, value >= 100 || unit === 0 ? 0 : 1)} ${BYTE_UNITS[unit]}`;
}

/** requested / allocatable as a fraction in [0, 1], or null when unknown. */
export function usageFraction(
  requested: string | undefined,
  allocatable: string | undefined,
): number | null {
  const used = quantityOrNull(requested);
  const total = quantityOrNull(allocatable);
  if (used === null || total === null || total <= 0) return null;
  return Math.min(1, Math.max(0, used / total));
}
