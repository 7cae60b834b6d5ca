// cxm web glue: ECharts from data-chart JSON, local times, filter pills, the live event list and
// copy buttons. Runs again after htmx swaps.
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
    // Events: to the second; the date only when it is not today.
    const clockToday = new Intl.DateTimeFormat(lang, { timeStyle: "medium" });
    const clockOther = new Intl.DateTimeFormat(lang, {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    const today = new Date().toDateString();
    root.querySelectorAll("time[datetime]:not([data-local])").forEach(function (el) {
      const date = new Date(el.getAttribute("datetime"));
      if (Number.isNaN(date.getTime())) return;
      el.title = absolute.format(date);
      if (el.hasAttribute("data-clock")) {
        el.title = new Intl.DateTimeFormat(lang, { dateStyle: "full", timeStyle: "long" }).format(date);
        el.textContent = (date.toDateString() === today ? clockToday : clockOther).format(date);
      } else if (el.hasAttribute("data-relative")) {
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

  // Live lists get new items prepended by polling: keep the newest data-live-max, each once
  // (a slow answer can overlap the next poll).
  function trimLiveLists() {
    document.querySelectorAll("[data-live-max]").forEach(function (list) {
      const max = parseInt(list.getAttribute("data-live-max"), 10) || 50;
      const seen = new Set();
      list.querySelectorAll(":scope > .live-item").forEach(function (item) {
        const seq = item.getAttribute("data-seq");
        if (seen.has(seq) || seen.size >= max) {
          item.remove();
        } else {
          seen.add(seq);
        }
      });
    });
  }

  function selectContents(el) {
    const range = document.createRange();
    range.selectNodeContents(el);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  // <button data-copy="ID" data-copied="Copied">: copy the text of #ID (select it where the
  // clipboard is unavailable, e.g. plain http on a LAN address).
  function onCopyClick(event) {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    const label = button.querySelector("span");
    const confirm = function () {
      if (!label || label.hasAttribute("data-label")) return;
      label.setAttribute("data-label", label.textContent);
      label.textContent = button.getAttribute("data-copied") || label.textContent;
      setTimeout(function () {
        label.textContent = label.getAttribute("data-label");
        label.removeAttribute("data-label");
      }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(confirm, function () {
        selectContents(source);
      });
    } else {
      selectContents(source);
    }
  }

  function refresh() {
    renderCharts(document);
    localiseTimes(document);
    trimLiveLists();
  }

  document.addEventListener("DOMContentLoaded", refresh);
  document.addEventListener("htmx:after:swap", refresh);
  document.addEventListener("htmx:after:settle", refresh);
  document.addEventListener("htmx:after:history:push", updateLanguageLinks);
  document.addEventListener("htmx:after:history:replace", updateLanguageLinks);
  window.addEventListener("popstate", updateLanguageLinks);
  document.addEventListener("click", onFilterClick);
  document.addEventListener("click", onCopyClick);
  window.addEventListener("resize", resizeCharts);
})();

// ==== Journey page (/journey): department highlighting, the detail panel ====
// The wall is rendered with the department of the URL; changing the select re-marks the cards
// from their data-influence weights without a round trip and keeps the URL in step.
(function () {
  "use strict";

  function influenceOf(card) {
    try {
      return JSON.parse(card.getAttribute("data-influence")) || {};
    } catch (err) {
      return {};
    }
  }

  function applyDepartment(select) {
    const dept = select.value;
    const label = select.getAttribute("data-weight-label") || "{pct}%";
    document.querySelectorAll(".jm-card[data-influence]").forEach(function (card) {
      const weight = dept ? influenceOf(card)[dept] : undefined;
      const influenced = typeof weight === "number" && weight > 0;
      card.classList.toggle("is-influenced", Boolean(dept) && influenced);
      card.classList.toggle("is-dimmed", Boolean(dept) && !influenced);
      const badge = card.querySelector("[data-weight]");
      if (badge) {
        badge.hidden = !influenced;
        badge.textContent = influenced ? label.replace("{pct}", String(Math.round(weight * 100))) : "";
      }
      card.querySelectorAll(".jm-chip[data-dept]").forEach(function (chip) {
        chip.classList.toggle("is-selected", chip.getAttribute("data-dept") === dept);
      });
    });
    document.querySelectorAll("[data-journey-department-copy]").forEach(function (input) {
      input.value = dept;
    });
    const url = new URL(location.href);
    if (dept) {
      url.searchParams.set("department", dept);
    } else {
      url.searchParams.delete("department");
    }
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  }

  function closeDetail() {
    const panel = document.getElementById("journey-detail");
    if (panel) panel.replaceChildren();
    document.querySelectorAll(".jm-card.is-selected-card").forEach(function (card) {
      card.classList.remove("is-selected-card");
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-journey-department]")) applyDepartment(event.target);
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-journey-close]")) {
      closeDetail();
      return;
    }
    const card = event.target.closest(".jm-card");
    if (!card) return;
    document.querySelectorAll(".jm-card.is-selected-card").forEach(function (other) {
      other.classList.toggle("is-selected-card", other === card);
    });
    card.classList.add("is-selected-card");
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") closeDetail();
  });
})();
// ==== end of the Journey page ====
