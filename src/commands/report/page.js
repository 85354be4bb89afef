// retrain report: sortable tables, and the charts drawn with uPlot from the inlined
// report. A model's charts are drawn when its section is first open (a large fleet's
// sections start closed). Each chart element says how many points it drew in
// data-points, for the page's checks.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var PALETTE = ["#1f77b4", "#7f7f7f", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728"];
  var SEVERITIES = ["none", "low", "medium", "high", "critical"];
  var now = data.at;
  var utc = function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); };
  // Times as the tables write them: UTC, 24 hours.
  var two = function (n) { return (n < 10 ? "0" : "") + n; };
  var day = function (d) { return two(d.getUTCMonth() + 1) + "-" + two(d.getUTCDate()); };
  var clock = function (d) { return two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()); };
  var stamp = function (u, ts) {
    if (ts == null) return "-";
    var d = new Date(ts * 1e3);
    return d.getUTCFullYear() + "-" + day(d) + " " + clock(d);
  };
  var ticks = function (u, splits, axis, space, incr) {
    var last = null;
    return splits.map(function (ts) {
      var d = new Date(ts * 1e3);
      if (incr >= 28 * 86400) return d.getUTCFullYear() + "-" + two(d.getUTCMonth() + 1);
      if (incr >= 86400) return day(d);
      var date = day(d), text = date !== last ? date + "\n" + clock(d) : clock(d);
      last = date;
      return text;
    });
  };
  var fixed = function (digits) {
    return function (u, v) { return v == null ? "-" : v.toFixed(digits); };
  };

  // Sortable tables: a click on a heading sorts by that column's data-sort (or its text),
  // numbers numerically with empty cells last; a second click reverses.
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      th.addEventListener("click", function () {
        var numeric = th.dataset.type === "number";
        var descending = th.dataset.sorted === "ascending";
        Array.prototype.forEach.call(heads, function (other) { delete other.dataset.sorted; });
        th.dataset.sorted = descending ? "descending" : "ascending";
        var body = table.tBodies[0];
        var key = function (row) {
          var cell = row.cells[column];
          var text = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent;
          if (!numeric) return text;
          return text === "" ? NaN : parseFloat(text);
        };
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          if (numeric) {
            if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
            return descending ? y - x : x - y;
          }
          return descending ? y.localeCompare(x) : x.localeCompare(y);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  function width(el) {
    return Math.max(320, Math.floor(el.getBoundingClientRect().width) || 480);
  }

  // Draw a chart into el, or say why there is none; record the points drawn.
  function chart(el, options, columns, empty) {
    var points = 0;
    for (var s = 1; s < columns.length; s++) {
      for (var i = 0; i < columns[s].length; i++) if (columns[s][i] != null) points++;
    }
    el.dataset.points = String(points);
    if (points === 0) {
      var p = document.createElement("p");
      p.className = "empty";
      p.textContent = empty;
      el.appendChild(p);
      return;
    }
    // The time axis spans the points and runs to now (or the chart's end), at least
    // options.span seconds wide (an hour by default): uPlot's own range for points at
    // one instant would be years.
    var xs = columns[0];
    var hi = Math.max(xs[xs.length - 1], options.until || -Infinity);
    var lo = Math.min(xs[0], hi - (options.span || 3600));
    var pad = (hi - lo) * 0.03;
    options.width = width(el);
    options.height = options.height || 220;
    options.tzDate = utc;
    options.scales = options.scales || {};
    options.scales.x = { time: true, range: [lo - pad, hi + pad] };
    options.series[0] = { value: stamp };
    options.axes[0] = { values: ticks };
    delete options.until;
    delete options.span;
    new uPlot(options, columns, el);
  }

  // Rows keyed by x, sorted, as uPlot's columns: [xs, series 1, series 2, ...].
  function columnsOf(rows, series) {
    var xs = Object.keys(rows).map(Number).sort(function (a, b) { return a - b; });
    var columns = [xs];
    for (var s = 0; s < series; s++) {
      columns.push(xs.map(function (x) { return rows[x][s]; }));
    }
    return columns;
  }

  function put(rows, x, series, count, value) {
    if (!rows[x]) rows[x] = new Array(count).fill(null);
    rows[x][series] = value;
  }

  var points = function (colour, size, fill) {
    return { stroke: colour, width: 0, paths: function () { return null; },
      points: { show: true, size: size, stroke: colour, fill: fill || colour } };
  };

  function metricChart(el, m) {
    var e = m.evaluations, test = {}, rows = {}, versions = {};
    for (var i = 0; i < e.t.length; i++) {
      if (e.kind[i] === 0 && !(e.version[i] in test)) test[e.version[i]] = e.value[i];
      put(rows, e.t[i], e.kind[i], 4, e.value[i]);
      versions[e.t[i]] = e.version[i];
    }
    var marks = m.marks;
    for (var k = 0; k < marks.t.length; k++) {
      var to = marks.b[k];
      if (to != null && to in test) put(rows, marks.t[k], marks.a[k] ? 3 : 2, 4, test[to]);
    }
    var withVersion = function (u, v, s, i) {
      if (v == null) return "-";
      var version = versions[u.data[0][i]];
      return v.toFixed(4) + (version != null ? " (v" + version + ")" : "");
    };
    chart(el, {
      series: [
        {},
        { label: "test", stroke: PALETTE[0], width: 2, spanGaps: true, points: { show: true, size: 6 }, value: withVersion },
        Object.assign(points(PALETTE[2], 6, "#fff"), { label: "backtest", value: withVersion }),
        Object.assign(points(PALETTE[3], 11), { label: "promoted", value: fixed(4) }),
        Object.assign(points(PALETTE[5], 11), { label: "rolled back to", value: fixed(4) }),
      ],
      axes: [{}, { label: m.metric.toUpperCase(), size: 60 }],
      until: now,
    }, columnsOf(rows, 4), "No test or backtest in the window.");
  }

  function timelineChart(el, m) {
    var step = uPlot.paths.stepped({ align: 1 });
    var version = function (u, v) { return v == null ? "-" : "v" + v; };
    chart(el, {
      series: [
        {},
        { label: "production", stroke: PALETTE[0], width: 3, paths: step, value: version, points: { show: true, size: 5 } },
        { label: "canary", stroke: PALETTE[2], width: 3, paths: step, value: version, points: { show: true, size: 5 } },
      ],
      // Whole versions only, from the lowest drawn to the highest.
      scales: { y: { range: function (u, low, high) {
        return [Math.floor(low == null ? 1 : low) - 0.5, Math.ceil(high == null ? 1 : high) + 0.5];
      } } },
      axes: [{}, { label: "version", size: 60, incrs: [1, 2, 5, 10, 20, 50, 100],
        values: function (u, splits) { return splits.map(function (v) { return "v" + v; }); } }],
      until: now,
    }, [m.timeline.t, m.timeline.a, m.timeline.b], "No version has been live in the window.");
  }

  function winRateChart(el, m) {
    var w = m.win_rate;
    var order = w.t.map(function (t, i) { return i; }).sort(function (a, b) { return w.t[a] - w.t[b]; });
    var pick = function (column) { return order.map(function (i) { return column[i]; }); };
    var rate = pick(w.rate), version = pick(w.version), signals = pick(w.signals), trades = pick(w.trades);
    var any = rate.some(function (v) { return v != null; });
    var threshold = rate.map(function () { return any ? data.min_win_rate : null; });
    var percent = function (u, v) { return v == null ? "-" : (100 * v).toFixed(1) + "%"; };
    chart(el, {
      series: [
        {},
        { label: "win rate", stroke: PALETTE[0], width: 2,
          value: function (u, v, s, i) {
            return v == null ? "-" : (100 * v).toFixed(1) + "% (v" + version[i] + ", " + trades[i] + " trades of " + signals[i] + ")";
          } },
        { label: "min_win_rate", stroke: PALETTE[5], width: 1, dash: [6, 4], value: percent, points: { show: false } },
      ],
      scales: { y: { range: [0, 1] } },
      axes: [{}, { label: "win rate", size: 60,
        values: function (u, splits) { return splits.map(function (v) { return Math.round(100 * v) + "%"; }); } }],
      until: now,
    }, [pick(w.t), rate, threshold], "No resolved trade of a production version in the window.");
  }

  function driftChart(el, m) {
    var d = m.drift;
    chart(el, {
      series: [
        {},
        Object.assign(points(PALETTE[5], 8), { label: "severity",
          value: function (u, v, s, i) {
            return v == null ? "-" : SEVERITIES[v] + " (v" + d.version[i] + ", " + d.value[i] + " features drifted)";
          } }),
      ],
      scales: { y: { range: [-0.5, 4.5] } },
      axes: [{}, { label: "severity", size: 70, splits: function () { return [0, 1, 2, 3, 4]; },
        values: function (u, splits) { return splits.map(function (v) { return SEVERITIES[v] || ""; }); } }],
      until: now,
    }, [d.t, d.kind], "No drift check of a version that went live in the window.");
  }

  function jobsChart(el) {
    var j = data.jobs;
    chart(el, {
      series: [
        {},
        { label: "succeeded", stroke: PALETTE[3], width: 2, scale: "%", points: { show: true, size: 5 },
          value: function (u, v, s, i) { return v == null ? "-" : v.toFixed(0) + "% of " + j.finished[i]; } },
        { label: "average seconds", stroke: PALETTE[0], width: 2, scale: "s", points: { show: true, size: 5 }, value: fixed(1) },
      ],
      scales: { "%": { range: [0, 100] } },
      axes: [{}, { scale: "%", label: "succeeded %", size: 60 },
        { scale: "s", label: "seconds", side: 1, size: 60, grid: { show: false } }],
      span: 2 * 86400,
    }, [j.t, j.t.map(function (t, i) { return 100 * j.succeeded[i] / j.finished[i]; }), j.seconds],
      "No job finished in the window.");
  }

  function equityChart(el, replay) {
    var count = replay.policies.length * 3;
    var rows = {};
    replay.policies.forEach(function (p, k) {
      p.equity.forEach(function (e) { put(rows, e[0], 3 * k, count, e[1]); });
      var at = function (t) {
        var value = null;
        for (var i = 0; i < p.equity.length && p.equity[i][0] <= t; i++) value = p.equity[i][1];
        return value;
      };
      p.retrain_times.forEach(function (t) { put(rows, t, 3 * k + 1, count, at(t)); });
      p.promotion_times.forEach(function (t) { put(rows, t, 3 * k + 2, count, at(t)); });
    });
    var series = [{}];
    replay.policies.forEach(function (p, k) {
      var colour = PALETTE[k % PALETTE.length];
      series.push({ label: p.name, stroke: colour, width: 2, spanGaps: true, value: fixed(4) });
      series.push(Object.assign(points(colour, 6, "#fff"), { label: p.name + " retrain", value: fixed(4) }));
      series.push(Object.assign(points(colour, 8), { label: p.name + " promotion", value: fixed(4) }));
    });
    chart(el, { height: 360, series: series, axes: [{}, { label: "equity", size: 60 }] },
      columnsOf(rows, count), "The replay has no equity curve.");
  }

  var drawers = { metric: metricChart, timeline: timelineChart, win_rate: winRateChart, drift: driftChart };

  function drawModel(section) {
    if (section.dataset.drawn) return;
    section.dataset.drawn = "1";
    var m = data.models[Number(section.dataset.index)];
    Array.prototype.forEach.call(section.querySelectorAll(".chart[data-chart]"), function (el) {
      drawers[el.dataset.chart](el, m);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("details.model"), function (section) {
    if (section.open) drawModel(section);
    else section.addEventListener("toggle", function () { if (section.open) drawModel(section); });
  });
  // A link to a closed model opens it.
  function openTarget() {
    var target = location.hash && document.getElementById(location.hash.slice(1));
    if (target && target.tagName === "DETAILS" && !target.open) target.open = true;
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
  var jobs = document.querySelector(".chart[data-chart=jobs]");
  if (jobs) jobsChart(jobs);
  var equity = document.querySelector(".chart[data-chart=equity]");
  if (equity && data.replay) equityChart(equity, data.replay);
  document.documentElement.dataset.ready = "1";
})();
