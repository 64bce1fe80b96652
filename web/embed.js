/* Vidzzle call button (docs/embed.md). <script src="https://HOST/embed.js"></script> plus
   <button id="btn-cwbbb-osr" data-cwbbb-igh="EMBED-ID" data-cwbbb-name="Name" data-cwbbb-gdpr="1">.
   One global (window.cwbbb); safe loaded twice and before the button exists (delegation). */
(function (w, d) {
  "use strict";
  if (w.cwbbb && w.cwbbb.v) return;
  var me = d.currentScript, base = me && me.src ? new URL(me.src, location.href).origin : location.origin;
  var ns = w.cwbbb = { v: 1, base: base, open: null };
  var DAY = 86400, P = "cwbbb-";

  function cookieName(id) { return "cwbbb_gdpr_" + id.replace(/[^A-Za-z0-9_-]/g, ""); }
  function consented(id) { return d.cookie.split("; ").indexOf(cookieName(id) + "=1") >= 0; }
  function remember(id) {
    d.cookie = cookieName(id) + "=1; max-age=" + 14 * DAY + "; path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }
  function el(tag, css, text) {
    var e = d.createElement(tag); if (css) e.style.cssText = css; if (text) e.textContent = text; return e;
  }
  // The overlay is a modal dialog: a close button, Esc, and Tab kept inside it;
  // focus goes back to the call button when it closes.
  // Texts in the visitor's language: the button's data-cwbbb-lang, else the
  // host page's lang, else the browser's (the server falls back to the
  // tenant's language); `_` looks the English text up in that catalog.
  function translator(messages) { return function (m) { return messages[m] || m; }; }
  function catalog(btn, id, done) {
    var nav = w.navigator, wanted = [btn.getAttribute("data-cwbbb-lang"), d.documentElement.lang]
      .concat(nav.languages || [nav.language]).filter(Boolean).join(",");
    fetch(base + "/i18n/messages.json?lang=" + encodeURIComponent(wanted) + "&embed=" + encodeURIComponent(id))
      .then(function (r) { return r.json(); })
      .then(function (j) { done(j.language || "", translator(j.messages || {})); },
            function () { done("", translator({})); });
  }

  function overlay(label, _) {
    var o = el("div", "position:fixed;inset:0;z-index:2147483646;background:rgba(0,0,0,.6);display:flex;" +
      "align-items:center;justify-content:center;font:16px system-ui,sans-serif");
    o.className = P + "overlay"; o.setAttribute("role", "dialog"); o.setAttribute("aria-modal", "true");
    o.setAttribute("aria-label", label);
    var x = el("button", "position:absolute;top:.5rem;right:.5rem;width:2.75rem;height:2.75rem;border:0;border-radius:50%;" +
      "background:#fff;color:#222;font:1.6rem/1 system-ui,sans-serif;cursor:pointer", "\u00d7");
    x.type = "button"; x.className = P + "close"; x.setAttribute("aria-label", _("Close"));
    x.onclick = close;
    o.appendChild(x);
    o.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    ns.opener = d.activeElement;
    d.body.appendChild(o); return o;
  }
  // Tab past the last control (also out of the iframe) lands on an edge
  // element that sends the focus round to the other end.
  function edges(o) {
    var start = el("span"), end = el("span");
    start.tabIndex = 0; end.tabIndex = 0;
    start.className = P + "edge"; end.className = P + "edge";
    o.insertBefore(start, o.firstChild); o.appendChild(end);
  }
  function close() {
    if (!ns.open) return;
    ns.open.remove(); ns.open = null;
    if (ns.opener && ns.opener.focus) ns.opener.focus();
  }
  // Focus that leaves the open overlay (e.g. Tab from the iframe's last
  // control) comes back to it.
  d.addEventListener("focusin", function (e) {
    var o = ns.open;
    if (!o) return;
    var items = o.querySelectorAll("button,iframe");
    if (e.target === o.lastChild || !o.contains(e.target)) items[0].focus();
    else if (e.target === o.firstChild) items[items.length - 1].focus();
  });

  function consent(id, lang, _, done) {
    var o = ns.open = overlay(_("Privacy notice"), _);
    var box = el("div", "background:#fff;color:#222;max-width:32rem;margin:1rem;padding:1.5rem;border-radius:8px;max-height:80vh;overflow:auto");
    box.className = P + "gdpr";
    var text = el("div", "white-space:pre-wrap;margin-bottom:1rem", "…");
    var ok = el("button", "padding:.5rem 1rem;margin-right:.5rem", _("Accept and start the call"));
    var no = el("button", "padding:.5rem 1rem", _("Cancel"));
    ok.className = P + "accept"; no.className = P + "cancel";
    box.appendChild(el("h2", "margin:0 0 .75rem;font-size:1.2rem", _("Privacy notice")));
    box.appendChild(text); box.appendChild(ok); box.appendChild(no); o.appendChild(box); edges(o);
    fetch(base + "/api/embed/" + encodeURIComponent(id) + "/gdpr?lang=" + encodeURIComponent(lang)).then(function (r) { return r.json(); })
      .then(function (j) { text.textContent = j.text || ""; }, function () { text.textContent = _("(notice unavailable)"); });
    no.onclick = close;
    ok.onclick = function () { remember(id); close(); done(); };
    ok.focus();
  }

  function start(btn) {
    if (ns.open || ns.starting) return;
    ns.starting = true;
    var id = btn.getAttribute("data-cwbbb-igh") || "";
    catalog(btn, id, function (lang, _) { ns.starting = false; show(btn, id, lang, _); });
  }

  function show(btn, id, lang, _) {
    var name = btn.getAttribute("data-cwbbb-name") || _("Customer");
    var go = function () {
      var o = ns.open = overlay(_("Video call"), _);
      var f = el("iframe", "width:min(960px,96vw);height:min(720px,92vh);border:0;border-radius:8px;background:#111");
      f.className = P + "frame"; f.title = _("Video call");
      f.allow = "camera; microphone; autoplay; fullscreen";
      f.src = base + "/call?embed=" + encodeURIComponent(id) + "&name=" + encodeURIComponent(name) +
        "&lang=" + encodeURIComponent(lang) + "&t0=" + Date.now();
      o.appendChild(f); edges(o);
      f.focus();
    };
    if (ns.open) return;
    if (btn.getAttribute("data-cwbbb-gdpr") === "1" && !consented(id)) consent(id, lang, _, go); else go();
  }

  d.addEventListener("click", function (e) {
    var t = e.target && e.target.closest ? e.target.closest("#btn-cwbbb-osr,[data-cwbbb-igh]") : null;
    if (!t) return;
    e.preventDefault(); start(t);
  });
  w.addEventListener("message", function (e) {
    if (e.origin !== base || !e.data || e.data.cwbbb == null) return;
    if (e.data.cwbbb === "redirect" && /^https?:/i.test(e.data.url || "")) {
      if (ns.leaving) return;   // one navigation: a second one would abort the first
      ns.leaving = true;
      location.href = e.data.url;
    }
    else if (e.data.cwbbb === "close" || e.data.cwbbb === "escape") close();
  });
})(window, document);
