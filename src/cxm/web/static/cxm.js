// cxm web glue: ECharts from data-chart JSON, local times, filter pills. Runs again after htmx swaps.
(function () {
  "use strict";

  const lang = document.documentElement.lang || "en";
  const charts = new Map();

  function renderCharts(root) {
    if (typeof window.echarts === "undefined") return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (charts.has(el)) return;
      let option;
      try {
        option = JSON.parse(el.getAttribute("data-chart"));
      } catch (err) {
        console.error("cxm: bad chart data", err);
        return;
      }
      const chart = window.echarts.init(el, null, { renderer: "canvas" });
      chart.setOption(option);
      charts.set(el, chart);
    });
  }

  function resizeCharts() {
    charts.forEach(function (chart, el) {
      if (el.isConnected) {
        chart.resize();
      } else {
        chart.dispose();
        charts.delete(el);
      }
    });
  }

  const UNITS = [
    ["year", 31536000], ["month", 2592000], ["week", 604800],
    ["day", 86400], ["hour", 3600], ["minute", 60],
  ];

  function relative(date, formatter) {
    const seconds = (date.getTime() - Date.now()) / 1000;
    for (const [unit, size] of UNITS) {
      if (Math.abs(seconds) >= size) return formatter.format(Math.round(seconds / size), unit);
    }
    return formatter.format(0, "minute");
  }

  function localiseTimes(root) {
    const absolute = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    const dateOnly = new Intl.DateTimeFormat(lang, { dateStyle: "medium" });
    const rel = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) return;
      el.title = absolute.format(date);
      if (el.hasAttribute("data-relative")) {
        el.textContent = relative(date, rel);
      } else {
        el.textContent = (el.hasAttribute("data-date") ? dateOnly : absolute).format(date);
      }
      el.setAttribute("data-local", "");
    });
  }

  function onFilterClick(event) {
    const pill = event.target.closest("[data-filter-group] a");
    if (!pill) return;
    pill.parentElement.querySelectorAll("a").forEach(function (a) {
      a.classList.toggle("is-active", a === pill);
    });
  }

  // htmx pushes URLs (search, timeline filter); the language switch must return there.
  function updateLanguageLinks() {
    const here = location.pathname + location.search;
    document.querySelectorAll(".lang-switch a[href]").forEach(function (a) {
      const url = new URL(a.href, location.href);
      url.searchParams.set("next", here);
      a.href = url.pathname + url.search;
    });
  }

  function refresh() {
    renderCharts(document);
    localiseTimes(document);
  }

  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:after:swap", refresh);
  document.addEventListener("htmx:after:settle", refresh);
  document.addEventListener("htmx:after:history:push", updateLanguageLinks);
  document.addEventListener("htmx:after:history:replace", updateLanguageLinks);
  window.addEventListener("popstate", updateLanguageLinks);
  document.addEventListener("click", onFilterClick);
  window.addEventListener("resize", resizeCharts);
})();
