// What every test runner here shares, with no dependencies (tests/js run without npm packages): where the repo
// and the corpus are, and the rule for a missing prerequisite.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CORPUS = resolve(process.env.LUCENT_CORPUS || join(REPO, '../shared/corpus'));
const CI = process.env.CI === 'true';

/**
 * Skips (loudly) when a prerequisite is missing; under CI=true a missing prerequisite is a failure.
 * Returns true when the test should stop.
 */
export function missing(t, what, ok) {
  if (ok) return false;
  const message = `NOT RUN: ${what} is not available`;
  if (CI) throw new Error(message);
  console.warn(`\n*** ${t.name}: ${message} ***\n`);
  t.skip(message);
  return true;
}
