// Script of taquilla's operations page. It keeps the access token in
// sessionStorage, polls the snapshot endpoint with it, computes rates from
// successive cumulative snapshots and draws them on <canvas>. It loads nothing
// and sends nothing anywhere but this origin.
(function () {
  "use strict";

  const SNAPSHOT_PATH = "/api/v1/admin/operations/snapshot";
  const POLL_MS = 5000;
  const MAX_POINTS = 60;
  const TOKEN_KEY = "taquilla.operations.token";
  const COLORS = { main: "#1f6feb", p50: "#1f6feb", p95: "#d1242f" };

  // Each chart plots one or more fields of a computed point.
  const CHARTS = [
    { id: "requests", series: [["requestsPerSecond", COLORS.main]], digits: 2 },
    { id: "latency", series: [["p50Ms", COLORS.p50], ["p95Ms", COLORS.p95]], digits: 1 },
    { id: "errors", series: [["serverErrorPercent", COLORS.main]], digits: 1 },
    { id: "tickets", series: [["ticketsPerMinute", COLORS.main]], digits: 1 },
    { id: "revenue", series: [["revenuePerMinute", COLORS.main]], digits: 2 },
  ];

  const messages = document.body.dataset;
  const language = document.documentElement.lang;
  const form = document.getElementById("token-form");
  const tokenInput = document.getElementById("token");
  const forgetButton = document.getElementById("forget");
  const statusLine = document.getElementById("status");

  let points = [];
  let previous = null;
  let timer = null;

  function formatNumber(value, digits) {
    if (value === null || !Number.isFinite(value)) {
      return "–";
    }
    return value.toLocaleString(language, { maximumFractionDigits: digits });
  }

  // Estimates a quantile from bucket deltas by linear interpolation inside the
  // bucket, as Prometheus's histogram_quantile does. Returns seconds, or null
  // without requests. A quantile above the highest finite bound returns that bound.
  function quantile(q, buckets, count) {
    if (count <= 0 || buckets.length === 0) {
      return null;
    }
    const rank = q * count;
    let lowerBound = 0;
    let lowerCount = 0;
    for (const bucket of buckets) {
      if (bucket.count >= rank) {
        const inBucket = bucket.count - lowerCount;
        if (inBucket <= 0) {
          return bucket.le;
        }
        return lowerBound + (bucket.le - lowerBound) * (rank - lowerCount) / inBucket;
      }
      lowerBound = bucket.le;
      lowerCount = bucket.count;
    }
    return lowerBound;
  }

  // Returns the rates between two snapshots, or null when a counter went
  // down, which means the instance restarted (or another replica served the request).
  function computePoint(before, after) {
    const seconds = (Date.parse(after.taken_at) - Date.parse(before.taken_at)) / 1000;
    const requestsBefore = before.http.requests;
    const requestsAfter = after.http.requests;
    const histogramBefore = before.http.duration_seconds;
    const histogramAfter = after.http.duration_seconds;
    const requests = requestsAfter.total - requestsBefore.total;
    const serverErrors = requestsAfter["5xx"] - requestsBefore["5xx"];
    const observed = histogramAfter.count - histogramBefore.count;
    const tickets = after.sales.tickets_sold - before.sales.tickets_sold;
    const revenue = after.sales.revenue_usd - before.sales.revenue_usd;
    if (!(seconds > 0) || requests < 0 || observed < 0 || tickets < 0 || revenue < -1e-9) {
      return null;
    }

    const bucketDeltas = histogramAfter.buckets.map((bucket, index) => ({
      le: bucket.le,
      count: bucket.count - (histogramBefore.buckets[index] || { count: 0 }).count,
    }));
    const p50 = quantile(0.5, bucketDeltas, observed);
    const p95 = quantile(0.95, bucketDeltas, observed);
    return {
      requestsPerSecond: requests / seconds,
      p50Ms: p50 === null ? null : p50 * 1000,
      p95Ms: p95 === null ? null : p95 * 1000,
      serverErrorPercent: requests > 0 ? (100 * serverErrors) / requests : null,
      ticketsPerMinute: (tickets * 60) / seconds,
      revenuePerMinute: (Math.max(revenue, 0) * 60) / seconds,
    };
  }

  function drawChart(chart) {
    const canvas = document.getElementById("chart-" + chart.id);
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || canvas.width;
    const height = canvas.clientHeight || canvas.height;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);

    let maximum = 0;
    for (const point of points) {
      for (const [field] of chart.series) {
        if (point && point[field] !== null) {
          maximum = Math.max(maximum, point[field]);
        }
      }
    }
    maximum = maximum > 0 ? maximum * 1.1 : 1;

    const left = 56;
    const right = width - 8;
    const top = 8;
    const bottom = height - 8;
    context.font = "11px system-ui, sans-serif";
    context.textAlign = "right";
    context.textBaseline = "middle";
    context.lineWidth = 1;
    for (const fraction of [0, 0.5, 1]) {
      const y = bottom - fraction * (bottom - top);
      context.strokeStyle = "#e5e5e5";
      context.beginPath();
      context.moveTo(left, y);
      context.lineTo(right, y);
      context.stroke();
      context.fillStyle = "#555";
      context.fillText(formatNumber(fraction * maximum, chart.digits), left - 6, y);
    }

    // The newest point is at the right edge, and a null value breaks the line.
    const step = (right - left) / (MAX_POINTS - 1);
    context.lineWidth = 2;
    for (const [field, color] of chart.series) {
      context.strokeStyle = color;
      context.beginPath();
      let drawing = false;
      points.forEach((point, index) => {
        const value = point ? point[field] : null;
        if (value === null) {
          drawing = false;
          return;
        }
        const x = right - (points.length - 1 - index) * step;
        const y = bottom - (value / maximum) * (bottom - top);
        if (drawing) {
          context.lineTo(x, y);
        } else {
          context.moveTo(x, y);
          drawing = true;
        }
      });
      context.stroke();
    }
  }

  function showLatestValues(snapshot) {
    const latest = points.length > 0 ? points[points.length - 1] : null;
    for (const chart of CHARTS) {
      const parts = chart.series.map(([field]) => {
        const value = latest ? latest[field] : null;
        const formatted = formatNumber(value, chart.digits);
        return chart.series.length > 1 ? field.replace("Ms", "") + " " + formatted : formatted;
      });
      let label = parts.join(" · ");
      if (chart.id === "tickets") {
        label += " (" + messages.total + " " + formatNumber(snapshot.sales.tickets_sold, 0) + ")";
      } else if (chart.id === "revenue") {
        label += " (" + messages.total + " " + formatNumber(snapshot.sales.revenue_usd, 2) + ")";
      }
      document.getElementById("value-" + chart.id).textContent = label;
    }
  }

  function record(snapshot) {
    if (previous === null) {
      statusLine.textContent = messages.waiting;
    } else {
      const point = computePoint(previous, snapshot);
      if (point === null) {
        statusLine.textContent = messages.restarted;
      } else {
        statusLine.textContent = messages.updated + " " + new Date().toLocaleTimeString(language);
      }
      points.push(point);
      if (points.length > MAX_POINTS) {
        points = points.slice(points.length - MAX_POINTS);
      }
    }
    previous = snapshot;
    showLatestValues(snapshot);
    CHARTS.forEach(drawChart);
  }

  function stop() {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
  }

  function askForToken(message) {
    stop();
    sessionStorage.removeItem(TOKEN_KEY);
    points = [];
    previous = null;
    form.hidden = false;
    forgetButton.hidden = true;
    statusLine.textContent = message || "";
    tokenInput.focus();
  }

  async function poll() {
    timer = null;
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) {
      askForToken("");
      return;
    }
    let response;
    try {
      response = await fetch(SNAPSHOT_PATH, {
        headers: { Authorization: "Bearer " + token, Accept: "application/json" },
        cache: "no-store",
        credentials: "omit",
      });
    } catch (error) {
      statusLine.textContent = messages.offline;
      timer = setTimeout(poll, POLL_MS);
      return;
    }
    if (response.status === 401) {
      askForToken(messages.unauthorized);
      return;
    }
    if (response.status === 403) {
      askForToken(messages.forbidden);
      return;
    }
    if (!response.ok) {
      statusLine.textContent = messages.failed + " " + response.status + ".";
    } else {
      record(await response.json());
    }
    timer = setTimeout(poll, POLL_MS);
  }

  function start() {
    form.hidden = true;
    forgetButton.hidden = false;
    stop();
    poll();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const token = tokenInput.value.trim();
    tokenInput.value = "";
    if (token) {
      sessionStorage.setItem(TOKEN_KEY, token);
      start();
    }
  });
  forgetButton.addEventListener("click", () => askForToken(""));
  window.addEventListener("resize", () => CHARTS.forEach(drawChart));

  CHARTS.forEach(drawChart);
  if (sessionStorage.getItem(TOKEN_KEY)) {
    start();
  } else {
    askForToken("");
  }
})();
