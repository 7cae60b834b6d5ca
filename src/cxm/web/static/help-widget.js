// cxm help widget: put <div data-cxm-help data-lang="pl"></div> and this script on any page.
// It searches the help centre it was loaded from and links to its articles; searches are
// logged under an anonymous id kept in this browser (localStorage), never a cookie of yours.
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src).origin : "";
  var KEY = "cxm-help-visitor";
  function visitor() {
    try {
      var id = window.localStorage.getItem(KEY);
      if (!id) {
        id = "hw-" + Math.random().toString(36).slice(2, 12) + Date.now().toString(36);
        window.localStorage.setItem(KEY, id);
      }
      return id;
    } catch (e) {
      return "hw-" + Math.random().toString(36).slice(2, 14);
    }
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }
  function mount(box) {
    var lang = box.getAttribute("data-lang") || document.documentElement.lang || "";
    var form = el("form", { "class": "cxm-help-form", role: "search" });
    var input = el("input", { type: "search", maxlength: "500", "aria-label": "Search help",
      placeholder: box.getAttribute("data-placeholder") || "…" });
    var button = el("button", { type: "submit" }, box.getAttribute("data-button") || "Search");
    var list = el("ol", { "class": "cxm-help-results", "aria-live": "polite" });
    form.appendChild(input); form.appendChild(button);
    box.appendChild(form); box.appendChild(list);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var q = input.value.trim();
      if (!q) return;
      var url = origin + "/help/search.json?q=" + encodeURIComponent(q) +
        "&lang=" + encodeURIComponent(lang) + "&visitor=" + encodeURIComponent(visitor());
      fetch(url).then(function (r) { return r.json(); }).then(function (data) {
        list.textContent = "";
        (data.results || []).forEach(function (hit) {
          var item = el("li", { "data-article": hit.article });
          var link = el("a", { href: hit.url, target: "_blank", rel: "noopener" }, hit.title);
          item.appendChild(link);
          if (hit.fallback) item.appendChild(el("small", {}, " " + data.fallback_note[hit.language]));
          item.appendChild(el("p", {}, hit.snippet));
          list.appendChild(item);
        });
        if (!data.ok) list.appendChild(el("li", {}, data.message || "error"));
      });
    });
  }
  document.querySelectorAll("[data-cxm-help]").forEach(mount);
})();
