// axe-core in a page driven by Playwright: every <details> opened, then the page's
// violations, none expected. axe goes in as an inline script, which the app's CSP
// rightly refuses: suites that use this set the CSP aside in their browser only.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { screenshot } from './browser.js';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  rule: string;
  impact: string;
  help: string;
  nodes: string[];
}

// Strings: this project's TypeScript has no DOM types.
const RUN_AXE = `axe.run(document).then((results) => results.violations.map((v) => ({
  rule: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((node) => node.target.join(' ')),
})))`;
export const OPEN_ALL_DETAILS = `document.querySelectorAll('details').forEach((details) => { details.open = true; })`;

/** No axe violations on the page as it is; a screenshot `axe-<name>` when there are. */
export async function assertNoAxeViolations(page: Page, name: string): Promise<void> {
  await page.evaluate(OPEN_ALL_DETAILS);
  await page.addScriptTag({ content: AXE_SOURCE });
  const violations = (await page.evaluate(RUN_AXE)) as Violation[];
  if (violations.length > 0) await screenshot(page, `axe-${name}`);
  assert.deepEqual(violations, [], `${name} (${page.url()})`);
}
