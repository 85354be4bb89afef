// Opens a page written by `retrain report` in headless Chromium and proves that it works:
//
//   node check.mjs PAGE.html SCREENSHOT.png [--expect-data metric,timeline,win_rate,drift,jobs,equity]
//
// It fails (exit 1, each problem on a line naming the page; exit 2 for bad arguments) on:
// - a console message of type error or warning, or an uncaught exception (`pageerror`);
// - any request but the page itself and data:, blob: or about: URLs (the page inlines
//   everything: a request, even for another file://, would break the page once mailed or
//   opened from a CI artifact), and any request that fails. Requests that would leave the
//   machine are aborted, never sent;
// - `document.documentElement.dataset.ready` not "1" in time;
// - sections that do not start as the page's contract says (open with at most 12 models,
//   closed otherwise), or a model section without one chart of each of its four kinds;
// - after every closed section is opened (a click on its summary, as a reader does), a
//   chart without data-points; a chart with points but no `.uplot` canvas of non-zero
//   size, or whose canvases hold no coloured (non-grey) pixel, that is nothing drawn but
//   the grey axes and grid (the page draws every series in a colour); a chart without
//   points but without its `<p class="empty">` reason;
// - an axis that reads wrong: a time axis that leaves out points or runs more than a day
//   past this check's clock (uPlot gives points that share one instant an axis 1000 days
//   wide), or a scale a series uses without a finite range. The check watches the page's
//   uPlot instances for this through a Proxy on the global `uPlot`;
// - a kind named in --expect-data without a chart that drew points.
//
// Warnings fail the check too, not only errors: the page is all ours (no third-party
// script or asset) and opened by a pinned Chromium, so a warning is not noise; it is
// Chromium saying that something of ours is deprecated, malformed or slow (a <meta>, an
// inline asset, a canvas use), or our script warning itself, and the next Chromium may
// make it an error. A warning found to be harmless should be named and tolerated here, one
// by one, never all. Messages of other types (log, info, debug) are printed, not failed.
//
// It prints a summary (page size, the time from navigation start to ready, the time to
// open the closed sections and draw them, per kind of chart how many drew and their
// points and widest time axis) and writes a full-page screenshot, 1400 px wide.
// The browser is /usr/bin/chromium, or $CHROMIUM.

import { statSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const KINDS = ["metric", "timeline", "win_rate", "drift", "jobs", "equity"];
const MODEL_KINDS = ["metric", "timeline", "win_rate", "drift"];
const OPEN_MODELS = 12; // the page opens its sections when it has at most this many
const TIMEOUT_MS = Number(process.env.REPORT_CHECK_TIMEOUT_MS || 30000);
const WIDTH = 1400;

function usage(message) {
  if (message) console.error(`check.mjs: ${message}`);
  console.error("usage: node check.mjs PAGE.html SCREENSHOT.png [--expect-data KIND,KIND...]");
  console.error(`       kinds: ${KINDS.join(", ")}`);
  process.exit(2);
}

const args = process.argv.slice(2);
let expect = [];
const positional = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--expect-data" || a.startsWith("--expect-data=")) {
    const value = a.includes("=") ? a.slice(a.indexOf("=") + 1) : args[++i];
    if (value === undefined) usage("--expect-data needs a list of kinds");
    expect = value.split(",").map((k) => k.trim()).filter(Boolean);
    const unknown = expect.filter((k) => !KINDS.includes(k));
    if (unknown.length) usage(`--expect-data: unknown kind(s) ${unknown.join(", ")}`);
  } else if (a === "-h" || a === "--help") {
    usage();
  } else if (a.startsWith("--")) {
    usage(`unknown flag ${a}`);
  } else {
    positional.push(a);
  }
}
if (positional.length !== 2) usage("need PAGE.html and SCREENSHOT.png");
const page_path = resolve(positional[0]);
const shot_path = resolve(positional[1]);
const name = basename(page_path);
let bytes;
try {
  bytes = statSync(page_path).size;
} catch (e) {
  console.error(`report check FAILED: ${page_path}: ${e.message}`);
  process.exit(1);
}
const page_url = pathToFileURL(page_path).href;
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";

const problems = [];
const notes = [];
const fail = (what) => problems.push(what);

// Requests that would leave the machine.
const network = /^(https?|wss?|ftp):/i;
// What a request may be: the page itself, or inline data.
function allowed(url) {
  if (url === page_url) return true;
  return /^(data|blob|about):/i.test(url);
}

// Stamps the instant the page's script says it is ready, in the page's clock
// (performance.now(): milliseconds since navigation start). The observer's callback runs
// as a microtask right after the script that set the attribute.
const stamp_ready = () => {
  new MutationObserver((records, observer) => {
    if (document.documentElement && document.documentElement.dataset.ready === "1") {
      window.__readyAt = performance.now();
      observer.disconnect();
    }
  }).observe(document, { attributes: true, attributeFilter: ["data-ready"], subtree: true });
};

// Keeps every uPlot the page makes, with the element it draws into, to read its scales
// afterwards. It only watches: the page gets uPlot itself, behind a Proxy that forwards
// everything. (A page whose uPlot is not the global `uPlot` goes unwatched: its axes are
// then not checked, and the summary says so.)
const watch_uplot = () => {
  window.__plots = [];
  let real;
  Object.defineProperty(window, "uPlot", {
    configurable: true,
    get() { return real; },
    set(value) {
      real = typeof value !== "function" ? value : new Proxy(value, {
        construct(target, args, newTarget) {
          const u = Reflect.construct(target, args, newTarget);
          window.__plots.push({ u, el: args[2] });
          return u;
        },
      });
    },
  });
};

// In the page: every chart element and what it holds.
const survey = () => {
  const canvasInfo = (c) => {
    const rect = c.getBoundingClientRect();
    let coloured = 0;
    if (c.width > 0 && c.height > 0) {
      // A copy, read back once: reading the chart's own canvas could slow it down.
      const copy = document.createElement("canvas");
      copy.width = c.width;
      copy.height = c.height;
      const ctx = copy.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(c, 0, 0);
      const px = ctx.getImageData(0, 0, copy.width, copy.height).data;
      for (let i = 0; i < px.length; i += 4) {
        if (px[i + 3] < 128) continue;
        const hi = Math.max(px[i], px[i + 1], px[i + 2]);
        const lo = Math.min(px[i], px[i + 1], px[i + 2]);
        if (hi - lo > 60) coloured++; // not grey: a series, not an axis or the grid
      }
    }
    return { width: c.width, height: c.height, cssWidth: rect.width, cssHeight: rect.height, coloured };
  };
  return Array.from(document.querySelectorAll(".chart[data-chart]")).map((el) => {
    const section = el.closest("details.model");
    const summary = section && section.querySelector("summary");
    const empty = el.querySelector("p.empty");
    // Its uPlot's scales: the time axis's range in seconds, and whether every scale has one.
    const plot = (window.__plots || []).find((p) => p.el === el || el.contains(p.el));
    let axes = null;
    if (plot) {
      const u = plot.u;
      const xs = Array.from(u.data[0] || []).filter((x) => Number.isFinite(x));
      const unit = xs.length && Math.abs(xs[0]) > 1e11 ? 1e-3 : 1; // ms or s
      const scales = {};
      for (const [key, sc] of Object.entries(u.scales)) {
        scales[key] = { min: sc.min, max: sc.max, time: !!sc.time };
      }
      axes = {
        unit,
        first: xs.length ? xs[0] * unit : null,
        last: xs.length ? xs[xs.length - 1] * unit : null,
        scales,
        used: Array.from(new Set(u.series.slice(1).filter((s) => s.show !== false).map((s) => s.scale))),
      };
    }
    return {
      axes,
      kind: el.dataset.chart,
      model: section ? (summary ? summary.textContent.trim().replace(/\s+/g, " ") : `section ${section.dataset.index}`) : null,
      index: section ? Number(section.dataset.index) : null,
      points: el.dataset.points === undefined ? null : Number(el.dataset.points),
      uplot: !!el.querySelector(".uplot"),
      canvases: Array.from(el.querySelectorAll(".uplot canvas")).map(canvasInfo),
      empty: empty ? empty.textContent.trim() : null,
    };
  });
};

let browser;
let status = 0;
const started = Date.now();
const watchdog = setTimeout(() => {
  console.error(`report check FAILED: ${name}: no verdict after ${(3 * TIMEOUT_MS) / 1000} s`);
  process.exit(1);
}, 3 * TIMEOUT_MS);
try {
  browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: TIMEOUT_MS,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const context = await browser.newContext({
    viewport: { width: WIDTH, height: 900 },
    deviceScaleFactor: 1,
    serviceWorkers: "block",
  });
  // Nothing leaves the machine: a request to the network is recorded and aborted.
  await context.route(network, (route) => {
    fail(`network request ${route.request().method()} ${route.request().url()} (aborted)`);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on("console", (msg) => {
    const where = msg.location();
    const at = where && where.url ? ` (${where.url === page_url ? name : where.url}:${where.lineNumber}:${where.columnNumber})` : "";
    const text = `console ${msg.type()}: ${msg.text()}${at}`;
    if (msg.type() === "error" || msg.type() === "warning") fail(text);
    else notes.push(text);
  });
  let thrown;
  const exception = new Promise((resolve) => { thrown = resolve; });
  page.on("pageerror", (error) => {
    fail(`uncaught exception: ${error.stack || error.message || error}`);
    thrown();
  });
  page.on("crash", () => fail("the page crashed"));
  // (A request to the network is reported by the route above, once.)
  page.on("request", (request) => {
    if (!allowed(request.url()) && !network.test(request.url())) {
      fail(`request ${request.method()} ${request.url()} (${request.resourceType()})`);
    }
  });
  page.on("requestfailed", (request) => {
    if (allowed(request.url())) fail(`request failed: ${request.url()}: ${request.failure() ? request.failure().errorText : "?"}`);
  });
  page.on("websocket", (ws) => fail(`websocket ${ws.url()}`));
  page.on("popup", (popup) => fail(`popup ${popup.url()}`));
  await page.addInitScript(stamp_ready);
  await page.addInitScript(watch_uplot);

  await page.goto(page_url, { waitUntil: "load" });
  // Ready, or not: an uncaught exception leaves 2 s more, not the whole timeout.
  const ready = await Promise.race([
    page
      .waitForFunction(() => document.documentElement.dataset.ready === "1", null, { timeout: TIMEOUT_MS })
      .then(() => true, () => false),
    exception.then(() => new Promise((r) => setTimeout(() => r(false), 2000))),
  ]);
  if (!ready) {
    const after = problems.some((p) => p.startsWith("uncaught exception")) ? "after an uncaught exception" : `after ${TIMEOUT_MS} ms`;
    throw new Error(`document.documentElement.dataset.ready is not "1" ${after}: the page's script did not finish`);
  }

  const timing = await page.evaluate(() => {
    const nav = performance.getEntriesByType("navigation")[0];
    return {
      ready: window.__readyAt ?? null,
      domContentLoaded: nav ? nav.domContentLoadedEventEnd : null,
      load: nav ? nav.loadEventEnd : null,
    };
  });

  // The sections: all open with at most 12 models, all closed with more.
  const sections = await page.evaluate(() =>
    Array.from(document.querySelectorAll("details.model")).map((d) => ({
      index: d.dataset.index,
      open: d.open,
      kinds: Array.from(d.querySelectorAll(".chart[data-chart]")).map((c) => c.dataset.chart),
    })),
  );
  const models = sections.length;
  const open_at_start = sections.filter((s) => s.open).length;
  const should_open = models <= OPEN_MODELS;
  for (const s of sections) {
    if (s.open !== should_open) {
      fail(`model section ${s.index} starts ${s.open ? "open" : "closed"}; with ${models} model(s) the sections should start ${should_open ? "open" : "closed"}`);
    }
    const kinds = [...s.kinds].sort().join(",");
    if (kinds !== [...MODEL_KINDS].sort().join(",")) {
      fail(`model section ${s.index} has charts [${s.kinds.join(", ")}], not one each of ${MODEL_KINDS.join(", ")}`);
    }
  }
  const jobs_charts = await page.locator(".chart[data-chart=jobs]").count();
  if (jobs_charts !== 1) fail(`${jobs_charts} jobs chart(s), not 1`);
  const equity_charts = await page.locator(".chart[data-chart=equity]").count();
  if (equity_charts > 1) fail(`${equity_charts} equity charts, not at most 1`);

  // Open every closed section by a click on its summary, as a reader does, and time it
  // until every chart says how many points it drew.
  const opening = await page.evaluate(async (limit) => {
    const t0 = performance.now();
    const closed = Array.from(document.querySelectorAll("details.model")).filter((d) => !d.open);
    closed.forEach((d) => d.querySelector("summary").click());
    const pending = () => Array.from(document.querySelectorAll(".chart[data-chart]")).filter((c) => c.dataset.points === undefined);
    while (pending().length && performance.now() - t0 < limit) {
      await new Promise((r) => requestAnimationFrame(() => r()));
    }
    const still_closed = Array.from(document.querySelectorAll("details.model")).filter((d) => !d.open).length;
    return { opened: closed.length, ms: performance.now() - t0, pending: pending().length, still_closed };
  }, TIMEOUT_MS);
  if (opening.still_closed) fail(`${opening.still_closed} section(s) did not open on a click on their summary`);
  if (opening.pending) fail(`${opening.pending} chart(s) have no data-points ${Math.round(opening.ms)} ms after every section was opened`);
  // Let uPlot finish its first paint (it draws on a microtask, and again on resize).
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));

  const charts = await page.evaluate(survey);
  let unwatched = 0;
  // The time axis runs from a finite instant to a later one, holds every point, and ends
  // no later than a day, or a twentieth of its span (the page pads each end by 3%), after
  // this check's clock (the page's data ends at the time it was written: an axis running
  // further into the future is a range uPlot made up, such as the 1000 days it gives
  // points that share one instant); every scale a series uses has a range.
  const check_clock = Date.now() / 1000;
  const axis_problems = (label, a) => {
    const out = [];
    const x = a.scales.x;
    const day = (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ");
    if (!x || !Number.isFinite(x.min) || !Number.isFinite(x.max) || !(x.max > x.min)) {
      out.push(`${label}: the x axis has no range (${x ? `${x.min} .. ${x.max}` : "no x scale"})`);
      return out;
    }
    const [lo, hi] = [x.min * a.unit, x.max * a.unit];
    if (a.first != null && (a.first < lo || a.last > hi)) {
      out.push(`${label}: the x axis ${day(lo)} .. ${day(hi)} leaves out points (${day(a.first)} .. ${day(a.last)})`);
    }
    if (x.time && hi > check_clock + Math.max(86400, (hi - lo) / 20)) {
      out.push(`${label}: the x axis runs to ${day(hi)}, ${((hi - check_clock) / 86400).toFixed(0)} days into the future ` +
        `(points ${day(a.first)} .. ${day(a.last)}, axis from ${day(lo)})`);
    }
    for (const key of a.used) {
      const sc = a.scales[key];
      if (!sc || !Number.isFinite(sc.min) || !Number.isFinite(sc.max)) {
        out.push(`${label}: scale ${key} has no range (${sc ? `${sc.min} .. ${sc.max}` : "missing"})`);
      }
    }
    return out;
  };
  const per_kind = {};
  for (const kind of KINDS) per_kind[kind] = { charts: 0, drawn: 0, points: 0, empty: {} };
  for (const c of charts) {
    const label = `${c.kind} chart${c.model ? ` of ${c.model}` : ""}`;
    const k = per_kind[c.kind];
    if (!k) {
      fail(`${label}: unknown chart kind`);
      continue;
    }
    k.charts++;
    if (c.points === null || Number.isNaN(c.points)) {
      fail(`${label}: no data-points (never drawn)`);
      continue;
    }
    k.points += c.points;
    if (c.points > 0) {
      k.drawn++;
      if (!c.uplot) fail(`${label}: data-points=${c.points} but no .uplot inside`);
      else if (!c.canvases.length) fail(`${label}: data-points=${c.points} but no canvas inside .uplot`);
      else {
        const sized = c.canvases.filter((v) => v.width > 0 && v.height > 0 && v.cssWidth > 0 && v.cssHeight > 0);
        if (!sized.length) {
          fail(`${label}: data-points=${c.points} but every canvas has zero size (${c.canvases.map((v) => `${v.width}x${v.height}`).join(", ")})`);
        } else if (!sized.some((v) => v.coloured > 0)) {
          fail(`${label}: data-points=${c.points} but its canvas holds no coloured pixel: no series was drawn`);
        }
      }
      if (!c.axes) {
        unwatched++;
      } else {
        axis_problems(label, c.axes).forEach(fail);
        const x = c.axes.scales.x;
        if (x && Number.isFinite(x.min) && Number.isFinite(x.max)) {
          const span = (x.max - x.min) * c.axes.unit;
          k.span = Math.max(k.span || 0, span);
        }
      }
    } else {
      if (c.uplot) fail(`${label}: data-points=0 but it holds a uPlot chart`);
      if (!c.empty) fail(`${label}: data-points=0 but no <p class="empty"> says why`);
      else k.empty[c.empty] = (k.empty[c.empty] || 0) + 1;
    }
  }
  for (const kind of expect) {
    const k = per_kind[kind];
    if (!k.charts) fail(`--expect-data ${kind}: the page has no ${kind} chart`);
    else if (!k.drawn) fail(`--expect-data ${kind}: none of its ${k.charts} ${kind} chart(s) drew a point (${Object.keys(k.empty).join("; ")})`);
  }

  await page.screenshot({ path: shot_path, fullPage: true });
  const size = await page.evaluate(() => ({ width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight }));
  if (size.width > WIDTH) notes.push(`the page is ${size.width} px wide at a ${WIDTH} px viewport: it scrolls sideways`);

  const ms = (v) => (v == null ? "?" : `${Math.round(v)} ms`);
  console.log(`${name}: ${(bytes / 1e3).toFixed(1)} kB, ${models} model(s) (${open_at_start} open at load), ` +
    `ready ${ms(timing.ready)} after navigation start (DOMContentLoaded ${ms(timing.domContentLoaded)}, load ${ms(timing.load)})`);
  console.log(`  opened ${opening.opened} section(s) and drew their charts in ${ms(opening.ms)}`);
  for (const kind of KINDS) {
    const k = per_kind[kind];
    if (!k.charts) continue;
    const why = Object.entries(k.empty).map(([text, n]) => `${n}x "${text}"`).join(", ");
    const span = k.span == null ? "" : `, widest x axis ${k.span >= 2 * 86400 ? `${(k.span / 86400).toFixed(1)} d` : `${(k.span / 3600).toFixed(1)} h`}`;
    console.log(`  ${kind.padEnd(8)} ${k.drawn}/${k.charts} drawn, ${k.points} points${span}${why ? `; empty: ${why}` : ""}`);
  }
  if (unwatched) console.log(`  note: ${unwatched} chart(s) drawn by a uPlot this check could not watch: their axes were not checked`);
  for (const n of notes) console.log(`  note: ${n}`);
  console.log(`  screenshot ${shot_path} (${size.width}x${size.height})`);
} catch (e) {
  fail(e && e.message ? e.message : String(e));
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
if (problems.length) {
  for (const p of problems) console.error(`report check FAILED: ${name}: ${p}`);
  console.error(`report check FAILED: ${page_path}: ${problems.length} problem(s), ${Date.now() - started} ms`);
  status = 1;
} else {
  console.log(`report check ok: ${name} (${Date.now() - started} ms with the browser)`);
}
process.exit(status);
