// The HTML report as a person sees it: rendered by headless Chromium (Debian's `chromium`
// package), screenshotted, and the screenshot checked from its pixels: the pass, fail and
// unsupported cells have their colours, side by side in one matrix row, in that column
// order, each with a text label drawn on it. Chromium is required: without it this test
// fails and says how to install it.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { COLORS, renderHtml } from '../src/report/html.ts';
import { buildReport } from '../src/report/json.ts';
import type { ArchReport, Status } from '../src/types.ts';
import { darkPixelsIn, decodePng, findColor, hexColor, type Region } from './png.ts';

const tmp = mkdtempSync(join(tmpdir(), 'archkit-html-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const INSTALL = 'install it with: apt-get install -y --no-install-recommends chromium fonts-liberation (Debian 12)';

/** The chromium binary, or a failure saying how to install it (never a silent skip). */
function chromium(): string {
  for (const bin of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  throw new Error(`the HTML screenshot test needs headless Chromium, and "chromium" is not on PATH: ${INSTALL}`);
}

function arch(name: string, model: string, status: Status, message: string): ArchReport {
  return {
    arch: name,
    entryModel: model,
    emulator: 'unicorn 2.0.1',
    assembler: 'keystone 0.9.2',
    scenarios: [
      {
        id: 'restart.block-handler',
        status,
        message,
        ...(status === 'fail' ? { origin: 'contract' as const } : {}),
        observed: status === 'fail' ? { ret: -516, handlers: 0 } : {},
        guestInstructions: 1200,
        ms: 4,
      },
    ],
  };
}

describe('HTML report in headless Chromium', () => {
  it('shows the pass, fail and unsupported cells in their colours, in column order, labelled', { timeout: 90_000 }, () => {
    const bin = chromium();
    const report = buildReport(
      [
        arch('x86_64', 'generic-entry', 'pass', ''),
        arch('arm64', 'arch', 'fail', 'C6: expected ret -4 (EINTR), got -516'),
        arch('riscv64', 'generic-entry', 'unsupported', 'no restart block yet'),
      ],
      {
        meta: { commit: 'abc123', branch: 'main', generatedAt: '2026-01-01T00:00:00.000Z', node: 'v20.0.0', tools: { unicorn: '2.0.1', assemblers: {} } },
        scenarios: [{ id: 'restart.block-handler', group: 'restart', contracts: ['C6'], title: 'restart block with a handler' }],
      },
    );
    const html = join(tmp, 'report.html');
    writeFileSync(html, renderHtml(report));
    const png = join(tmp, 'shot.png');
    const W = 1000;
    const H = 900;
    try {
      execFileSync(
        bin,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--hide-scrollbars',
          '--no-first-run',
          `--user-data-dir=${join(tmp, 'profile')}`,
          `--screenshot=${png}`,
          `--window-size=${W},${H}`,
          pathToFileURL(html).href,
        ],
        { timeout: 60_000, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: tmp } },
      );
    } catch (e) {
      const err = e as { stderr?: Buffer; message: string };
      throw new Error(`chromium could not take the screenshot (${INSTALL}): ${err.message}\n${err.stderr?.toString().split('\n').slice(-5).join('\n') ?? ''}`);
    }
    const img = decodePng(readFileSync(png));
    expect([img.width, img.height]).toEqual([W, H]);

    const region = (s: Status): Region => findColor(img, hexColor(COLORS[s].bg));
    const pass = region('pass');
    const fail = region('fail');
    const unsup = region('unsupported');
    for (const [name, r] of [['pass', pass], ['fail', fail], ['unsupported', unsup]] as const) {
      // a filled table cell: many pixels, a cell-sized box, mostly filled
      expect(r.count, `${name} cell colour ${COLORS[name].bg} not found in the screenshot`).toBeGreaterThan(800);
      const w = r.right - r.left + 1;
      const h = r.bottom - r.top + 1;
      expect(w, `${name} cell width`).toBeGreaterThan(40);
      expect(w, `${name} cell width`).toBeLessThan(400);
      expect(h, `${name} cell height`).toBeGreaterThan(12);
      expect(h, `${name} cell height`).toBeLessThan(80);
      expect(r.count / (w * h), `${name} cell is one filled block`).toBeGreaterThan(0.6);
      // its text label is drawn on it
      expect(darkPixelsIn(img, r, hexColor(COLORS[name].bg)), `${name} cell has no label drawn on it`).toBeGreaterThan(15);
    }
    // one row: the same vertical band; columns in report order x86_64 | arm64 | riscv64
    expect(Math.abs(pass.top - fail.top)).toBeLessThanOrEqual(2);
    expect(Math.abs(fail.top - unsup.top)).toBeLessThanOrEqual(2);
    expect(pass.right).toBeLessThan(fail.left);
    expect(fail.right).toBeLessThan(unsup.left);
    // the matrix comes before the failure details, in the first screen
    expect(pass.bottom).toBeLessThan(H * 0.75);
    // and the page's own text is there: the failure section's left bar (the fail text colour) is below the matrix
    const bar = findColor(img, hexColor(COLORS.fail.fg), 2);
    expect(bar.count).toBeGreaterThan(100);
    expect(bar.bottom).toBeGreaterThan(fail.bottom);
  });
});
