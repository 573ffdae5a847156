// Unit tests of src/quantity.ts (compiled by `npm test` into node_modules/.cache).
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  QuantityError,
  formatBytes,
  formatCpu,
  parseQuantity,
  quantityOrNull,
  usageFraction,
} from "../node_modules/.cache/corral-unit/quantity.js";

test("plain numbers and decimal fractions", () => {
  assert.equal(parseQuantity("4"), 4);
  assert.equal(parseQuantity("0.5"), 0.5);
  assert.equal(parseQuantity(".5"), 0.5);
  assert.equal(parseQuantity("+3"), 3);
  assert.equal(parseQuantity("-2"), -2);
});

test("decimal SI suffixes", () => {
  assert.equal(parseQuantity("250m"), 0.25);
  assert.equal(parseQuantity("1500m"), 1.5);
  assert.equal(parseQuantity("100n"), 100e-9);
  assert.equal(parseQuantity("5u"), 5e-6);
  assert.equal(parseQuantity("2k"), 2000);
  assert.equal(parseQuantity("3M"), 3e6);
  assert.equal(parseQuantity("1G"), 1e9);
  assert.equal(parseQuantity("1T"), 1e12);
  assert.equal(parseQuantity("1P"), 1e15);
  assert.equal(parseQuantity("1E"), 1e18);
});

test("binary SI suffixes", () => {
  assert.equal(parseQuantity("1Ki"), 1024);
  assert.equal(parseQuantity("128Mi"), 128 * 2 ** 20);
  assert.equal(parseQuantity("1.5Gi"), 1.5 * 2 ** 30);
  assert.equal(parseQuantity("2Ti"), 2 * 2 ** 40);
  assert.equal(parseQuantity("1Pi"), 2 ** 50);
  assert.equal(parseQuantity("1Ei"), 2 ** 60);
});

test("e notation", () => {
  assert.equal(parseQuantity("1e3"), 1000);
  assert.equal(parseQuantity("1E3"), 1000);
  assert.equal(parseQuantity("12e6"), 12e6);
  assert.equal(parseQuantity("5e-3"), 0.005);
  assert.equal(parseQuantity("1.5e+2"), 150);
});

test("malformed quantities are errors, not zero", () => {
  for (const bad of ["", " ", "abc", "1KB", "1ki", "Mi", "1e", "1.2.3", "1 Gi", "--1", "1m2"]) {
    assert.throws(() => parseQuantity(bad), QuantityError, bad);
  }
  assert.equal(quantityOrNull("1KB"), null);
  assert.equal(quantityOrNull(undefined), null);
  assert.equal(quantityOrNull(""), null);
  assert.equal(quantityOrNull("2Gi"), 2 * 2 ** 30);
});

test("formatting for people", () => {
  assert.equal(formatCpu(0.25), "250m");
  assert.equal(formatCpu(4), "4");
  assert.equal(formatCpu(3.5), "3.5");
  assert.equal(formatCpu(0), "0");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(8 * 2 ** 30), "8 GiB");
  assert.equal(formatBytes(parseQuantity("16003232Ki")), "15.3 GiB");
});

test("usage fraction of requested over allocatable", () => {
  assert.equal(usageFraction("500m", "2"), 0.25);
  assert.equal(usageFraction("1Gi", "4Gi"), 0.25);
  assert.equal(usageFraction("2G", "1G"), 1);
  assert.equal(usageFraction(undefined, "4"), null);
  assert.equal(usageFraction("1", "0"), null);
  assert.equal(usageFraction("x", "4"), null);
});
